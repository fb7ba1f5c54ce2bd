"""Sorting: natural order that never raises, leading numbers, sort values, missing last."""

from __future__ import annotations

import random

import pytest

from console.render.base import Column, Row
from console.render.sort import natural_key, number_key, row_texts, sort_key, sort_rows

TEXT = Column("name", "NAME", 0, 4)
NUMBER = Column("n", "N", 0, 4, "right", "number")
VALUE = Column("age", "AGE", 0, 4, sort="value")


def rows_of(*texts: str) -> list[Row]:
    return [Row(str(i), (t,)) for i, t in enumerate(texts)]


def order(rows: list[Row]) -> list[str]:
    return [r.cells[0] for r in rows]


def test_natural_order() -> None:
    names = ["node-10", "node-2", "Node-1", "node-02b", "node-1a", "a", "node", "node-9999999999"]
    assert sorted(names, key=natural_key) == [
        "a",
        "node",
        "Node-1",
        "node-1a",
        "node-2",
        "node-02b",
        "node-10",
        "node-9999999999",
    ]
    assert natural_key("007") == natural_key("7")  # leading zeros do not count
    assert natural_key("a1") < natural_key("aa")  # digits before letters, as in ASCII
    assert natural_key("x-1.10") > natural_key("x-1.9")


def test_natural_key_on_hostile_input_never_raises() -> None:
    huge = "9" * 5000
    bigger = "1" + "0" * 5000
    texts = [f"gpu-{huge}", f"gpu-{bigger}", "gpu-3", f"gpu-{'0' * 6000}4", "gpu-00"]
    assert sorted(texts, key=natural_key) == [
        "gpu-00",
        "gpu-3",
        f"gpu-{'0' * 6000}4",
        f"gpu-{huge}",
        f"gpu-{bigger}",
    ]
    mixed = ["1a2b3", "a1b2", "", "1", "a", "¹²³", "٣", "x\x00y", "\x00", "ß1", "SS2", "1" * 30]
    keys = [natural_key(t) for t in mixed]
    assert len(sorted(keys)) == len(mixed)  # all plain strings: they always compare
    for odd in (None, 3, 2.5, b"bytes", object(), ["list"]):
        assert isinstance(natural_key(odd), str)
    assert natural_key("ß1") < natural_key("SS2")  # case-folded


def test_sort_rows_by_text_puts_empty_last_both_ways() -> None:
    rows = rows_of("b-10", "", "b-9", "A", "")
    assert order(sort_rows(rows, TEXT, 0)) == ["A", "b-9", "b-10", "", ""]
    assert order(sort_rows(rows, TEXT, 0, reverse=True)) == ["b-10", "b-9", "A", "", ""]
    assert sort_rows([], TEXT, 0) == []


def test_sort_rows_is_stable() -> None:
    rows = [Row(str(i), (t,)) for i, t in enumerate(["x", "y", "x", "y"])]
    assert [r.key for r in sort_rows(rows, TEXT, 0)] == ["0", "2", "1", "3"]
    assert [r.key for r in sort_rows(rows, TEXT, 0, True)] == ["1", "3", "0", "2"]


def test_sort_rows_by_number() -> None:
    rows = rows_of(" 73%", "   -", "  3/8 ▇▇▁", "12.5", "", "-4", "  10/8 ▇")
    assert order(sort_rows(rows, NUMBER, 0)) == [
        "-4",
        "  3/8 ▇▇▁",
        "  10/8 ▇",
        "12.5",
        " 73%",
        "   -",
        "",
    ]
    assert order(sort_rows(rows, NUMBER, 0, True))[-2:] == ["   -", ""]
    assert number_key(" 73%") == 73.0 and number_key("-") is None and number_key("") is None
    assert number_key("9" * 5000) == float("inf")  # no int() limit
    assert number_key(None) is None and number_key(4) == 4.0 and number_key(float("nan")) is None


def test_sort_rows_by_value_with_missing_and_nan_last() -> None:
    values = [3.0, None, 1.0, float("nan"), 2.0]
    rows = [Row(str(i), ("",), sort_values={"age": v}) for i, v in enumerate(values)]
    rows.append(Row("no-values", ("",)))
    assert [r.key for r in sort_rows(rows, VALUE, 0)] == ["2", "4", "0", "1", "3", "no-values"]
    assert [r.key for r in sort_rows(rows, VALUE, 0, True)] == [
        "0",
        "4",
        "2",
        "1",
        "3",
        "no-values",
    ]


def test_sort_rows_survives_odd_cells() -> None:
    rows = [Row("a", (["x"],)), Row("b", (None,)), Row("c", ("z",)), Row("d", (3,))]  # type: ignore[arg-type]
    assert {r.key for r in sort_rows(rows, TEXT, 0)} == {"a", "b", "c", "d"}
    assert sort_rows(rows, TEXT, 0)[-1].key == "b"
    mixed = [Row("x", ("",), sort_values={"age": "text"}), Row("y", ("",), sort_values={"age": 1})]  # type: ignore[dict-item]
    assert len(sort_rows(mixed, VALUE, 0)) == 2
    separated = rows_of("b\x00", "a\x0010", "a\x002", "")  # the column pass's separator
    assert order(sort_rows(separated, TEXT, 0)) == ["a\x002", "a\x0010", "b\x00", ""]


def test_sort_key_matches_sort_rows() -> None:
    rows = rows_of("n-2", "n-10", "", "N-1")
    keyed = sorted(
        (r for r in rows if sort_key(r, TEXT, 0) is not None), key=lambda r: sort_key(r, TEXT, 0)
    )
    assert order(sort_rows(rows, TEXT, 0))[:-1] == order(keyed)
    assert sort_key(rows[2], TEXT, 0) is None
    assert sort_key(Row("v", ("",), sort_values={"age": 2.0}), VALUE, 0) == 2.0


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_keys_agree_with_natural_key(seed: int) -> None:
    """The column pass (joined texts, memo) orders like `natural_key` one by one."""
    rng = random.Random(seed)
    alphabet = "ab-0123456789 Zß."
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(500)]
    texts += ["0" * 25 + "1", "9" * 25, "1" * 21]
    rows = rows_of(*texts)
    expected = sorted((t for t in texts if t), key=natural_key)
    assert [natural_key(t) for t in order(sort_rows(rows, TEXT, 0))[: len(expected)]] == [
        natural_key(t) for t in expected
    ]
    again = sort_rows(rows, TEXT, 0)  # from the memo
    assert order(again) == order(sort_rows(rows, TEXT, 0))


def test_row_texts() -> None:
    assert row_texts(Row("k", ("a", "b", "c")), [2, 0]) == ["c", "a"]


def test_natural_key_never_raises_on_long_digit_runs_and_odd_types() -> None:
    from console.render.sort import natural_key

    long_run = "img-" + "9" * 5000
    assert natural_key(long_run) > natural_key("img-" + "9" * 4999) > natural_key("img-10")
    for odd in (None, 10**5000, float("nan"), float("inf"), b"x", (1, 2), object()):
        assert isinstance(natural_key(odd), str)


def test_sort_rows_with_hostile_cells_and_mixed_values() -> None:
    from console.render.base import Column, Row
    from console.render.sort import sort_rows

    texts = ["9" * 5000, "1e999", "-5", "x", "", "NaN", "\u202e9"]
    rows = [
        Row(str(i), (t,), sort_values={"v": v})
        for i, (t, v) in enumerate(
            zip(texts, [1, "a", None, float("nan"), 2.5, 10**5000, (1,)], strict=True)
        )
    ]
    for column in (
        Column("t", "T", 0, 3),
        Column("t", "T", 0, 3, sort="number"),
        Column("v", "V", 0, 3, sort="value"),
    ):
        for reverse in (False, True):
            ordered = sort_rows(rows, column, 0, reverse)
            assert sorted(r.key for r in ordered) == sorted(r.key for r in rows)
