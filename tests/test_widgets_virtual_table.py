"""Pilot tests of VirtualTable: keys, messages, cursor by key across `set_rows`, column
fitting, literal and truncated cells, theme colours, 200,000 rows, repaints that are skipped."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.strip import Strip

from themes import DEFAULT_THEME, THEMES, util_scale
from widgets.table_cells import fit_cell
from widgets.table_layout import TableColumn, fit_columns
from widgets.virtual_table import VirtualTable


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    hint: str | None = None
    styles: tuple[str | None, ...] | None = None


COLUMNS = [
    TableColumn("name", "NAME", 20, 0),
    TableColumn("gpus", "GPUS", 4, 1, align="right"),
    TableColumn("status", "STATUS", 10, 2),
]

WIDE = [
    TableColumn("name", "NAME", 30, 0),
    TableColumn("namespace", "NAMESPACE", 20, 1, priority=2),
    TableColumn("node", "NODE", 20, 2, priority=3),
    TableColumn("gpus", "GPUS", 4, 3, align="right"),
    TableColumn("status", "STATUS", 10, 4, priority=1),
    TableColumn("age", "AGE", 5, 5, priority=1),
]


def make_rows(n: int, prefix: str = "pod") -> list[Row]:
    return [Row(f"{prefix}-{i}", (f"{prefix}-{i}", str(i % 8), "Running")) for i in range(n)]


class TableApp(App[None]):
    def __init__(self, rows: list[Row], columns: list[TableColumn] = COLUMNS) -> None:
        super().__init__()
        self.rows = rows
        self.columns = columns
        self.events: list[tuple[str, str]] = []

    def make_table(self) -> VirtualTable:
        return VirtualTable(self.columns, id="t")

    def compose(self) -> ComposeResult:
        yield self.make_table()

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        table = self.query_one(VirtualTable)
        table.set_rows(self.rows)
        table.focus()

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        assert event.control is self.query_one(VirtualTable)
        self.events.append(("highlighted", event.key))

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        assert event.row.key == event.key
        self.events.append(("selected", event.key))


def lines(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def segment_color(strip: Strip, text: str) -> str:
    """Hex colour of the first segment of `strip` that contains `text`."""
    for segment in strip:
        if text in segment.text and isinstance(segment.style, Style) and segment.style.color:
            return segment.style.color.get_truecolor().hex.upper()
    raise AssertionError(f"{text!r} not in {strip.text!r}")


def segment_bg(strip: Strip, text: str) -> str | None:
    style = next(s.style for s in strip if text in s.text)
    return style.bgcolor.name if isinstance(style, Style) and style.bgcolor else None


async def test_keys_move_the_cursor_and_enter_selects() -> None:
    app = TableApp(make_rows(100))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(VirtualTable)
        page = table.scrollable_content_region.height - 1  # the header takes a line
        assert (table.cursor_row, table.current_row_key, table.row_count) == (0, "pod-0", 100)
        await pilot.press("down", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.current_row_key == "pod-1"
        await pilot.press("up", "up")  # stops at the top
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.cursor_row == page
        await pilot.press("space", "ctrl+f")
        assert table.cursor_row == 3 * page
        assert table.scroll_offset.y <= table.cursor_row < table.scroll_offset.y + page
        await pilot.press("ctrl+b", "pageup")
        assert table.cursor_row == page
        await pilot.press("end")
        assert table.current_row_key == "pod-99"
        assert lines(table)[-1].split()[0] == "pod-99"
        await pilot.press("home", "down", "enter")
        await pilot.pause()
        assert table.current_row_key == "pod-1"
        assert app.events[:3] == [
            ("highlighted", "pod-0"),
            ("highlighted", "pod-1"),
            ("highlighted", "pod-2"),
        ]
        assert app.events[-1] == ("selected", "pod-1")
        bindings = [b for b in VirtualTable.BINDINGS if isinstance(b, Binding)]
        assert all(b.description for b in bindings)
        bound = {key for b in bindings for key in b.key.split(",")}
        assert not bound & {*"gGsdyeclpauq", "ctrl+d", "ctrl+u"}  # the screens' keys


async def test_click_moves_the_cursor_and_empty_table_shows_the_header() -> None:
    app = TableApp([])
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(VirtualTable)
        assert (table.cursor_row, table.current_row_key, table.current_row) == (0, None, None)
        await pilot.press("down", "end", "pagedown", "enter")
        assert lines(table)[0].split() == ["NAME", "GPUS", "STATUS"]
        assert all(not line.strip() for line in lines(table)[1:])
        table.set_rows(make_rows(10))
        await pilot.pause()
        assert [line.split()[:1] for line in lines(table)[1:12]] == [
            *([f"pod-{i}"] for i in range(10)),
            [],
        ]
        await pilot.click(VirtualTable, offset=(3, 4))
        assert table.current_row_key == "pod-3"
        assert ("selected", "pod-3") not in app.events


async def test_cursor_keeps_its_key_and_screen_line_across_set_rows() -> None:
    rows = make_rows(200)
    app = TableApp(rows)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(VirtualTable)
        table.move_cursor(120)
        await pilot.pause()
        screen_line = table.cursor_row - table.scroll_offset.y
        inserted = make_rows(5, "new") + rows
        table.set_rows(inserted)  # no index: found by a scan
        await pilot.pause()
        assert (table.current_row_key, table.cursor_row) == ("pod-120", 125)
        assert table.cursor_row - table.scroll_offset.y == screen_line
        removed = inserted[20:]
        table.set_rows(removed, {row.key: i for i, row in enumerate(removed)})
        await pilot.pause()
        assert (table.current_row_key, table.cursor_row) == ("pod-120", 105)
        assert table.cursor_row - table.scroll_offset.y == screen_line
        assert table.move_to_key("pod-150") and table.cursor_row == 135
        assert not table.move_to_key("nope")
        await pilot.pause()
        app.events.clear()
        gone = [row for row in removed if row.key != "pod-150"]
        table.set_rows(gone, {row.key: i for i, row in enumerate(gone)})
        await pilot.pause()
        assert (table.cursor_row, table.current_row_key) == (135, "pod-151")
        assert app.events == [("highlighted", "pod-151")]
        table.set_rows(gone[:10])
        await pilot.pause()
        assert (table.cursor_row, table.current_row_key) == (9, "pod-24")
        assert lines(table)[10].split()[0] == "pod-24"


async def test_columns_are_dropped_by_priority_to_fit_the_width() -> None:
    rows = [Row(f"p{i}", (f"p{i}", "ns", "node-1", "8", "Running", "3d")) for i in range(100)]
    for width, expected in [
        (160, ["name", "namespace", "node", "gpus", "status", "age"]),
        (80, ["name", "namespace", "gpus", "status", "age"]),  # NODE (priority 3) goes first
        (54, ["name", "gpus", "status"]),  # then NAMESPACE, then AGE (rightmost of the 1s)
    ]:
        app = TableApp(rows, WIDE)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            table = app.query_one(VirtualTable)
            assert [c.key for c in table.visible_columns] == expected
            header = lines(table)[0]
            assert header.split() == [c.label for c in table.visible_columns]
            table.set_columns(WIDE, sort=("name", True))
            await pilot.pause()
            assert lines(table)[0].startswith(" NAME▼ ")
            table.set_columns(WIDE, sort=("gpus", False))  # no room: the mark takes a cell
            await pilot.pause()
            assert " GPU▲ " in lines(table)[0]
            assert table.current_row_key == "p0"


def test_fit_shrinks_the_widest_left_aligned_column_down_to_min_width() -> None:
    columns = [
        TableColumn("name", "NAME", 30, 0, min_width=12),
        TableColumn("ns", "NS", 16, 1),
        TableColumn("gpus", "GPUS", 4, 2, align="right"),
        TableColumn("age", "AGE", 5, 3, priority=1),
    ]
    fitted = fit_columns(columns, 40)
    assert [(c.key, c.width) for c in fitted] == [("name", 17), ("ns", 16), ("gpus", 4)]
    assert sum(c.width + 1 for c in fitted) == 40
    fitted = fit_columns(columns, 20)  # cannot fit: nothing goes below min_width
    assert [(c.key, c.width) for c in fitted] == [("name", 12), ("ns", 1), ("gpus", 4)]
    assert fit_columns(columns, 200) == columns


def test_fit_switches_to_narrow_forms_squeezes_names_and_refills() -> None:
    short = TableColumn("short", "NAME", 14, 6, priority=6)
    compact = TableColumn("state", "STATUS", 7, 7, priority=6)
    columns = [
        TableColumn("name", "NAME", 36, 0, cut="middle", narrow=short),
        TableColumn("status", "STATUS", 24, 1, narrow=compact),
        TableColumn("alloc", "ALLOC", 16, 2, align="right"),
        TableColumn("util", "UTIL", 4, 3, priority=1, align="right"),
        TableColumn("taints", "TAINTS", 20, 4, priority=7),
        TableColumn("age", "AGE", 3, 5, priority=8),
    ]
    assert fit_columns(columns, 120) == columns  # room for every full form
    # a bit short: AGE and TAINTS go (priority 8, 7) before any narrow form (6); AGE comes
    # back into the room TAINTS left
    fitted = fit_columns(columns, 90)
    assert [c.key for c in fitted] == ["name", "status", "alloc", "util", "age"]
    assert fitted[:2] == columns[:2]
    # shorter: the narrow forms take their columns' place (key, label and priority kept)
    fitted = fit_columns(columns, 60)
    assert [(c.key, c.index, c.width) for c in fitted[:2]] == [("name", 6, 14), ("status", 7, 7)]
    assert fitted[0].label == "NAME" and fitted[0].priority == 0
    assert [c.key for c in fitted] == ["name", "status", "alloc", "util", "age"]
    # TAINTS went before the switch; the room the switch made brings it back
    fitted = fit_columns(columns, 66)
    assert [c.key for c in fitted] == ["name", "status", "alloc", "util", "taints"]
    assert fitted[0].index == 6 and sum(c.width + 1 for c in fitted) == 66
    # a long name gives up its width above `soft_width` before priority-2 columns go
    pods = [
        TableColumn("namespace", "NAMESPACE", 11, 0, priority=2),
        TableColumn("name", "NAME", 45, 1, cut="middle", soft_width=20, soft_priority=2),
        TableColumn("node", "NODE", 14, 2, priority=1),
        TableColumn("age", "AGE", 3, 3, priority=3),
    ]
    fitted = fit_columns(pods, 60)
    assert [(c.key, c.width) for c in fitted] == [("namespace", 11), ("name", 32), ("node", 14)]
    assert sum(c.width + 1 for c in fitted) == 60


def test_fit_cell_cuts_names_in_the_middle() -> None:
    name = "gke-kmc-demo-a100-pool-2265b1f5-5sl6"
    assert fit_cell(name, 16, False, middle=True) == "gke-kmc…1f5-5sl6"
    assert fit_cell(name, 16, False) == "gke-kmc-demo-a1…"
    assert fit_cell("日本語のノード名前です", 9, False, middle=True) == "日本…です"
    assert fit_cell("short", 8, True, middle=True) == "   short"


async def test_right_alignment_truncation_and_literal_strings() -> None:
    hostile = ["[bold]x[/]", "[@click=app.quit]", "[/x]", "a\x1b[31mred\x07"]
    rows = [
        Row("long", ("a-very-long-pod-name-that-does-not-fit", "3", "Running")),
        Row("wide", ("日本語の名前がとても長いポッド", "12345", "Pending")),
        *(Row(f"h{i}", (text, "1", text)) for i, text in enumerate(hostile)),
    ]
    app = TableApp(rows)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(VirtualTable)
        shown = lines(table)
        assert shown[0].startswith(" NAME                 GPUS STATUS")
        assert shown[1].startswith(" a-very-long-pod-nam…    3 Running")
        name = shown[2][1:].split(" ")[0]
        assert name == "日本語の名前がとて…" and cell_len(name) == 19  # no half of a wide char
        assert cell_len(shown[2]) == table.scrollable_content_region.width
        assert " 123… Pending" in shown[2]
        for i, text in enumerate(hostile[:3]):
            assert shown[3 + i].startswith(f" {text}")
        assert "\x1b" not in shown[6] and "\x07" not in shown[6]
        assert "red" in shown[6]
        await pilot.press("down", "down", "down")
        assert app.is_running


async def test_hints_colours_from_theme_and_util_scale() -> None:
    bar = "▇▇▇▁▁ 60%"
    rows = [
        Row("cursor", ("cursor", "0", "x")),
        Row("util", ("gpu-0", "1", bar), styles=(None, None, "bar:60")),
        Row("bad", ("gpu-1", "2", "Failed"), hint="bad", styles=(None, "ok", None)),
        Row("odd", ("gpu-2", "3", "x"), hint="bogus", styles=("util:abc", "none", "util:")),
        Row("short", ("gpu-3",), styles=("warn",)),
        Row("dim", ("gpu-4", "5", "Done"), hint="dim", styles=(None, "idle", None)),
        Row("spark", ("gpu-5", "6", "▁▂▇"), styles=(None, None, "util:60")),
    ]
    app = TableApp(rows)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(VirtualTable)
        scale = util_scale(app.current_theme)
        strip = table.render_line(2)
        assert segment_color(strip, "▇▇▇") == scale.hex(60).upper()
        assert segment_color(strip, "▁▁") == scale.none.hex.upper()
        bad = table.get_component_rich_style("virtual-table--bad")
        ok = table.get_component_rich_style("virtual-table--ok")
        strip = table.render_line(3)
        assert segment_color(strip, "gpu-1") == bad.color.get_truecolor().hex.upper()
        assert segment_color(strip, "2") == ok.color.get_truecolor().hex.upper()
        assert bad.bold
        assert segment_color(table.render_line(4), "3") == scale.none.hex.upper()
        assert table.render_line(5).text.split() == ["gpu-3"]
        dim = table.get_component_rich_style("virtual-table--dim").color
        strip = table.render_line(6)
        assert segment_color(strip, "gpu-4") == dim.get_truecolor().hex.upper()
        assert segment_color(strip, "gpu-4") != table.rich_style.color.get_truecolor().hex.upper()
        assert [s.style.italic for s in strip if s.text.strip() == "5"] == [True]
        # a sparkline keeps its low blocks in the util colour ("bar:" greys them)
        assert segment_color(table.render_line(7), "▁▂▇") == scale.hex(60).upper()
        focused = table.render_line(1)
        app.set_focus(None)
        await pilot.pause()
        blurred = table.render_line(1)
        assert focused.text == blurred.text
        assert segment_bg(focused, "cursor") != segment_bg(blurred, "cursor")
        assert segment_bg(blurred, "cursor") != segment_bg(table.render_line(2), "gpu-0")
        app.theme = "kmc-light"
        await pilot.pause()
        await pilot.pause()
        light = util_scale(app.current_theme)
        assert light.hex(60) != scale.hex(60)
        assert segment_color(table.render_line(2), "▇▇▇") == light.hex(60).upper()


class CountingTable(VirtualTable):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.rendered: list[int] = []

    def render_line(self, y: int) -> Strip:
        self.rendered.append(y)
        return super().render_line(y)


class CountingApp(TableApp):
    def make_table(self) -> VirtualTable:
        return CountingTable(self.columns, id="t")


async def test_200000_rows_render_only_visible_lines() -> None:
    rows = make_rows(200_000)
    app = CountingApp([])
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(CountingTable)
        table.set_rows(rows, {row.key: i for i, row in enumerate(rows)})
        await pilot.pause()
        height = table.size.height
        for keys, cursor in [
            (("end",), 199_999),
            (("home",), 0),
            (("pagedown",), height - 1),
            (("end", "pageup"), 199_999 - (height - 1)),
        ]:
            table.rendered.clear()
            await pilot.press(*keys)
            await pilot.pause()
            assert table.cursor_row == cursor
            assert table.current_row_key == f"pod-{cursor}"
            assert all(0 <= y < height for y in table.rendered)
            assert 0 < len(table.rendered) <= 3 * height * len(keys)
        assert any(line.split()[:1] == [f"pod-{cursor}"] for line in lines(table))


async def test_set_rows_repaints_only_changed_lines() -> None:
    rows = make_rows(100)
    app = CountingApp(rows)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(CountingTable)
        await pilot.pause()
        calls: list[tuple[object, ...]] = []
        refresh = table.refresh

        def spy(*regions: object, **kwargs: object) -> VirtualTable:
            calls.append(regions)
            return refresh(*regions, **kwargs)  # type: ignore[arg-type]

        table.refresh = spy  # type: ignore[method-assign]
        table.set_rows(list(rows))  # same row objects in a new list
        await pilot.pause()
        assert calls == []
        changed = list(rows)
        changed[3] = Row("pod-3", ("pod-3", "7", "Failed"), hint="bad")
        changed[90] = Row("pod-90", ("pod-90", "7", "Failed"), hint="bad")  # off screen
        table.set_rows(changed)
        await pilot.pause()
        assert len(calls) == 1
        (region,) = calls[0]
        assert (region.y, region.height) == (4, 1)  # type: ignore[attr-defined]
        assert "Failed" in table.render_line(4).text
        table.rendered.clear()
        table.set_rows([*changed, *make_rows(50, "new")])  # more rows, all off screen
        await pilot.pause()
        assert table.rendered == []
        assert table.max_scroll_y == 150 + 1 - table.scrollable_content_region.height
        await pilot.press("end")
        assert table.current_row_key == "new-49"
