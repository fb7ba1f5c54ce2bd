"""Pilot tests of ResourceTable: diff updates, cursor by key, sorting, literal markup, snapshot."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from widgets.resource_table import ColumnSpec, ResourceTable, SortableCell

COLUMNS = [
    ColumnSpec("name", "NAME"),
    ColumnSpec("gpus", "GPUS", numeric=True),
    ColumnSpec("util", "UTIL%", width=6, numeric=True),
    ColumnSpec("status", "STATUS"),
]

HOSTILE = ["[/x]", "[@click=app.quit]boom[/]", "[link=http://x]y[/link]", "[bold red]x", "[", "]"]


def rows(n: int, util: float = 50.0) -> list[tuple[str, tuple, str | None]]:
    return [(f"node-{i}", (f"node-{i}", i % 8, util, "Ready"), None) for i in range(n)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="t")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.selected.append(event.row_key.value)


async def test_diff_update_keeps_cursor_and_changes_cells_in_place() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows(rows(50))
        await pilot.pause()
        table.move_to_key("node-10")
        await pilot.pause()
        first_cell = table.get_cell("node-20", "name")
        columns = [c.key for c in table.specs]

        def cells() -> dict[tuple[str, str], object]:
            keys = [k for k in table._raw if k not in ("node-0", "node-1")]
            return {(k, c): table.get_cell(k, c) for k in keys for c in columns}

        before = cells()
        changed = rows(50)
        changed[20] = ("node-20", ("node-20", 4, 99.0, "Ready"), "warn")
        # remove two rows above the cursor: the cursor must follow its key
        del changed[0:2]
        table.set_rows(changed)
        await pilot.pause()
        assert table.row_count == 48
        assert table.current_row_key == "node-10"
        after = cells()
        replaced = [key for key, cell in before.items() if after[key] is not cell]
        assert replaced == [("node-20", "util")]  # only the changed cell
        assert table.get_cell("node-20", "util").plain == "99.0"
        assert table.get_cell("node-20", "name") is first_cell  # untouched cell, same object
        # same snapshot again: nothing is touched
        table.set_rows(changed)
        assert all(cells()[key] is cell for key, cell in after.items())


async def test_many_stale_rows_rebuild_once_and_keep_cursor() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows(rows(1000))
        await pilot.pause()
        table.move_to_key("node-900")
        survivors = [r for r in rows(1000) if int(r[0].split("-")[1]) % 10 == 0]
        table.set_rows([*survivors, ("new-1", ("new-1", 1, 1.0, "New"), "ok")])
        await pilot.pause()
        assert table.row_count == len(survivors) + 1
        assert table.current_row_key == "node-900"


async def test_sort_numeric_text_and_none_last_kept_across_updates() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        data = [
            ("a", ("node-10", 10, None, "b"), None),
            ("b", ("node-9", 9, 5.0, "a"), None),
            ("c", ("node-100", 100, 50.0, "c"), None),
            ("d", ("Node-2", 2, 0.5, "d"), None),
        ]
        table.set_rows(data)
        await pilot.pause()

        def order() -> list[str]:
            return [r.key.value for r in table.ordered_rows]

        table.sort_by("gpus")
        assert order() == ["d", "b", "a", "c"]  # 2 < 9 < 10 < 100, not "10" < "100" < "2"
        table.sort_by("name")
        assert order() == ["d", "b", "a", "c"]  # natural: Node-2, node-9, node-10, node-100
        table.sort_by("util")
        assert order() == ["d", "b", "c", "a"]  # None last
        table.sort_by("util", reverse=True)
        assert order() == ["c", "b", "d", "a"]  # still None last
        table.move_to_key("b")
        data[3] = ("d", ("Node-2", 2, 75.0, "d"), None)
        table.set_rows([*data, ("e", ("node-5", 5, 60.0, "e"), None)])
        await pilot.pause()
        assert order() == ["d", "e", "c", "b", "a"]
        assert table.current_row_key == "b"
        assert table.sort_state == ("util", True)


async def test_sortable_cells_sort_by_their_value_and_resort_when_only_it_changes() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)

        def age(key: str, shown: str, seconds: float | None) -> tuple[str, tuple, None]:
            return (key, (key, 1, 1.0, SortableCell(shown, seconds)), None)

        data = [age("a", "3d", 259_200), age("b", "45m", 2_700), age("c", "<none>", None)]
        table.set_rows([*data, age("d", "2h", 7_200)])
        await pilot.pause()

        def order() -> list[str]:
            return [r.key.value for r in table.ordered_rows]

        table.sort_by("status")
        assert order() == ["b", "d", "a", "c"]  # 45m < 2h < 3d, not "2h" < "3d" < "45m"
        assert table.get_cell("b", "status").plain == "45m"
        table.sort_by("status", reverse=True)
        assert order() == ["a", "d", "b", "c"]  # no value: still last
        table.set_rows([*data, age("d", "2h", 300_000)])  # same text, new value
        await pilot.pause()
        assert order() == ["d", "a", "b", "c"]


async def test_markup_looking_strings_render_literally() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        data = [(s, (s, 1, 1.0, s), "error") for s in HOSTILE]
        data.append(("rich", (Text("[b]styled[/b]", style="bold"), 1, 1.0, None), "dim"))
        table.set_rows(data)
        await pilot.pause()
        for s in HOSTILE:
            assert table.get_cell(s, "name").plain == s
            assert table.get_cell(s, "status").plain == s
        assert table.get_cell("rich", "name").plain == "[b]styled[/b]"
        # rendering all rows and pressing keys over them crashes nothing, quits nothing
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.is_running
        screen_text = "\n".join(
            "".join(seg.text for seg in table.render_line(y)) for y in range(table.size.height)
        )
        assert "[@click=app.quit]boom[/]" in screen_text
        assert "[link=http://x]y[/link]" in screen_text


async def test_enter_posts_row_selected_with_key() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows(rows(5))
        await pilot.pause()
        table.focus()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.selected == ["node-2"]
        assert table.current_row_key == "node-2"


async def test_empty_table_has_no_current_key() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        assert table.current_row_key is None
        table.set_rows(rows(3))
        table.set_rows([])
        await pilot.pause()
        assert table.row_count == 0
        assert table.current_row_key is None


class SnapApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(COLUMNS)

    def on_mount(self) -> None:
        from themes import DEFAULT_THEME, THEMES

        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        table = self.query_one(ResourceTable)
        hints = [None, "ok", "warn", "error", "dim"]
        data = [
            (f"node-{i}", (f"gpu-node-{i:03d}", i % 9, (i * 13) % 101, "Ready"), hints[i % 5])
            for i in range(20)
        ]
        data[3] = ("x", ("[/x] [@click=app.quit]q", None, None, "[link=http://x]y[/link]"), "error")
        table.set_rows(data)
        table.sort_by("util", reverse=True)


def test_snapshot_resource_table(snap_compare) -> None:
    assert snap_compare(SnapApp(), terminal_size=(80, 24))


async def test_style_hints_follow_the_theme_and_hint_only_changes() -> None:
    app = SnapApp()
    async with app.run_test() as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows([("a", ("a", 1, 1.0, "x"), "error"), ("b", ("b", 1, 1.0, "x"), None)])
        await pilot.pause()
        plain = table._get_row_style(1, table.rich_style)
        error = table._get_row_style(0, table.rich_style)
        assert error.color != plain.color
        table.set_rows([("a", ("a", 1, 1.0, "x"), None), ("b", ("b", 1, 1.0, "x"), "ok")])
        await pilot.pause()
        assert table._get_row_style(0, table.rich_style).color == plain.color
        ok_dark = table._get_row_style(1, table.rich_style).color
        app.theme = "kmc-colorblind"
        await pilot.pause()
        assert table._get_row_style(1, table.rich_style).color != ok_dark
