"""`TextView` on its own: lines shown literally, only visible lines drawn, search (regex with
a literal fallback, case-insensitive, empty matches ignored), `n`/`N` wrap, the position and
the current match kept across `set_lines`, wide characters and sideways scrolling."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.text_view import TextView, compile_search, shown_line

LINES = [f"line {i:03d} {'gpu' if i % 10 == 0 else 'cpu'}" for i in range(200)]


class TextApp(App[None]):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines
        self.changes: list[tuple[str, int, int]] = []

    def compose(self) -> ComposeResult:
        yield TextView(self.lines)

    def on_mount(self) -> None:
        self.query_one(TextView).focus()

    def on_text_view_search_changed(self, event: TextView.SearchChanged) -> None:
        self.changes.append((event.pattern, event.count, event.current))


def test_shown_line_expands_tabs_and_replaces_control_characters() -> None:
    assert shown_line("a\tb") == "a       b"
    assert shown_line("x\x1b[31my\x07") == "x\ufffd[31my\ufffd"
    assert shown_line("[bold]not markup[/]") == "[bold]not markup[/]"


def test_compile_search_falls_back_to_literal_and_ignores_case() -> None:
    assert compile_search("GPU.").search("gpu-0")  # a regex
    assert compile_search("[unclosed").search("x [unclosed y")  # not a regex: literal
    assert compile_search("(").search("f(x)")


async def test_keys_move_and_only_visible_lines_render() -> None:
    app = TextApp(LINES)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(TextView)
        height = view.scrollable_content_region.height
        assert view.visible_lines == LINES[:height]
        await pilot.press("j", "j")
        assert view.scroll_offset.y == 2
        await pilot.press("ctrl+d")
        assert view.scroll_offset.y == 2 + height // 2
        await pilot.press("G")
        assert view.visible_lines[-1] == LINES[-1]
        await pilot.press("g")
        assert view.scroll_offset.y == 0
        assert view.render_line(0).text.startswith(LINES[0])


async def test_search_cycles_wraps_and_reports() -> None:
    app = TextApp(LINES)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(TextView)
        assert view.search("GPU") == 20
        assert view.current_match == (0, 9, 12)
        await pilot.press("N")  # wraps to the last
        assert view.current_match == (190, 9, 12)
        assert 190 in range(round(view.scroll_offset.y), round(view.scroll_offset.y) + 12)
        await pilot.press("n")
        assert view.current_index == 0
        assert view.search("x*") == 0  # only empty matches: nothing to highlight
        view.clear_search()
        await pilot.pause()
        assert app.changes[0] == ("GPU", 20, 0) and app.changes[-1] == ("", 0, -1)


async def test_search_starts_at_the_top_line_and_survives_new_lines() -> None:
    app = TextApp(LINES)
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(TextView)
        view.scroll_to(y=55, animate=False, immediate=True)
        await pilot.pause()
        view.search("gpu")
        assert view.current_match is not None and view.current_match[0] == 60
        top = view.scroll_offset.y
        view.set_lines([*LINES, "one more gpu line"])  # a redraw with fresh text
        assert view.current_match is not None and view.current_match[0] == 60
        assert view.scroll_offset.y == top and view.match_count == 21
        view.set_lines(["gpu"])  # the line is gone: back to the first match, position clamped
        assert view.current_match == (0, 0, 3)


async def test_wide_characters_and_sideways_scroll() -> None:
    wide = "名前" * 40 + " gpu"
    app = TextApp([wide, "short"])
    async with app.run_test(size=(40, 6)) as pilot:
        view = app.query_one(TextView)
        assert view.virtual_size.width == 160 + 4
        assert view.render_line(3).text.strip() == ""  # below the text: blank
        view.search("gpu")
        await pilot.pause()
        assert view.scroll_offset.x > 0  # scrolled sideways to the match
        assert "gpu" in view.render_line(0).text
        await pilot.press("home", "right")
        assert view.scroll_offset.x == 4
