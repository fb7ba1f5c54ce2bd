"""Sorting and filtering a snapshot (console.render.arrange): narrowing gives what a full scan
gives, only the matches are sorted, and filter texts are reused for rows that did not change."""

from __future__ import annotations

import random

from console.render.arrange import Arrangement, RowTexts
from console.render.base import Column, Row

COLUMNS = (Column("name", "NAME", 0, 4), Column("gpus", "GPUS", 1, 4, "right", "number"))


def rows(n: int, seed: int = 3) -> list[Row]:
    rng = random.Random(seed)
    return [
        Row(f"k{i}", (f"{rng.choice(['gpu', 'node', 'pod'])}-{rng.randrange(1000)}", str(i % 7)))
        for i in range(n)
    ]


def full(rows_: list[Row], text: str, sort: tuple[str, bool]) -> list[Row]:
    return Arrangement(rows_, COLUMNS, RowTexts()).arrange(sort, text)[0]


def test_typing_narrows_to_what_a_full_scan_finds() -> None:
    data = rows(3000)
    arrangement = Arrangement(data, COLUMNS, RowTexts())
    for sort in (("name", False), ("gpus", True)):
        typed = ""
        for char in "node-1":
            typed += char
            got, literal = arrangement.arrange(sort, typed)
            assert got == full(data, typed, sort) and not literal
        # deleting characters widens again
        assert arrangement.arrange(sort, "no")[0] == full(data, "no", sort)
        assert arrangement.arrange(sort, "")[0] == full(data, "", sort)


def test_filtered_rows_come_sorted_and_empty_values_last() -> None:
    data = [Row("a", ("b-2", "")), Row("b", ("b-10", "3")), Row("c", ("a-1", "1"))]
    arrangement = Arrangement(data, COLUMNS, RowTexts())
    assert [r.key for r in arrangement.arrange(("name", False), "b-")[0]] == ["a", "b"]
    assert [r.key for r in arrangement.arrange(("gpus", False), "-")[0]] == ["c", "b", "a"]
    assert [r.key for r in arrangement.arrange(("gpus", True), "-")[0]] == ["b", "c", "a"]
    got, literal = arrangement.arrange(("name", False), "b-[")
    assert got == [] and literal  # an invalid regex is matched literally


def test_texts_are_made_once_per_row_object() -> None:
    texts = RowTexts()
    data = rows(10)
    first = texts.of(data)
    assert first[0] == "\n".join(data[0].cells)
    changed = [Row(data[0].key, ("changed", "0")), *data[1:]]
    second = texts.of(changed)
    assert second[0] == "changed\n0" and second[1] is first[1]  # the same str object reused
