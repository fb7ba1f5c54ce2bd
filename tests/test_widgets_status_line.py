"""Lines fitted by importance: shorter forms, word and middle cuts, drops; `StatusLine`
refits when its width changes."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from widgets.status_line import Part, StatusLine, cut_middle, cut_words, fit_line

NAME = "gke-kmc-demo-a100-pool-2265b1f5-5sl6"
TROUBLE = "telemetry unavailable: all 21 DCGM exporters failed; connection refused"


def parts() -> list[Part]:
    return [
        Part.of("21 nodes", cut="none"),
        Part.of(NAME, importance=1, cut="middle"),
        Part.of("sort NAME ↑", importance=4, cut="none"),
        Part.of(TROUBLE, "telemetry unavailable", importance=1),
    ]


def test_cuts_never_split_a_word() -> None:
    assert cut_words(Text(TROUBLE), 40).plain == "telemetry unavailable: all 21 DCGM…"
    assert cut_words(Text(TROUBLE), 12).plain == "telemetry…"
    assert cut_words(Text("unbreakable"), 5) is None
    assert cut_words(Text("fits"), 4).plain == "fits"
    assert cut_middle(Text(NAME), 16).plain == "gke-kmc…1f5-5sl6"
    assert cut_middle(Text(NAME), 4) is None


def test_fit_line_shortens_the_least_important_first() -> None:
    full = "  ".join([p.full for p in parts()])
    assert fit_line(parts(), 200).plain == full
    # the sort goes first, then the telemetry message is cut at a word boundary
    line = fit_line(parts(), 80).plain
    assert line == f"21 nodes  {NAME}  telemetry unavailable: all 21…"
    for width in range(10, 140):
        text = fit_line(parts(), width).plain
        assert len(text) <= width and text.startswith("21 n")
        if "telemetry" in text:  # cut at a word boundary, never inside a word
            shown = text[text.index("telemetry") :].rstrip("…")
            assert TROUBLE.startswith(shown)
            assert shown == TROUBLE or TROUBLE[len(shown)] in " ;:"
    assert fit_line(parts(), 20).plain == "21 nodes  gke-…-5sl6"
    assert fit_line(parts(), 5).plain == "21 n…"  # only the kept part: cut as a last resort


def test_fit_line_right_group_and_literal_text() -> None:
    line = [
        Part.of("ctx [/x] [@click=app.quit]q", importance=1, cut="middle", gap=0),
        Part.of("read-only"),
        Part.of("live", importance=3, right=True),
        Part.of("05:34:10", importance=4, right=True, cut="none"),
    ]
    text = fit_line(line, 60).plain
    assert text.startswith("ctx [/x] [@click=app.quit]q  read-only")
    assert text.endswith("live  05:34:10") and len(text) == 60
    narrow = fit_line(line, 48).plain  # the clock goes first
    assert narrow.endswith(" live") and "05:34" not in narrow and len(narrow) == 48
    assert "read-only" in fit_line(line, 20).plain  # never dropped


class LineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")


async def test_status_line_refits_on_resize() -> None:
    app = LineApp()
    async with app.run_test(size=(100, 5)) as pilot:
        line = app.query_one(StatusLine)
        assert line.set_parts(parts()) and not line.set_parts(parts())
        await pilot.pause()
        assert str(line.render()) == f"21 nodes  {NAME}  {TROUBLE[:51]}…"
        assert line.full_text.endswith(TROUBLE)
        await pilot.resize_terminal(60, 5)
        await pilot.pause()
        assert str(line.render()) == fit_line(parts(), 60).plain
