"""Cell text helpers and column fitting: plain text and hints, never Rich."""

from __future__ import annotations

from console.render import NODES, PODS
from console.render.base import Column, Row, measure, narrow_keys, styles_of, visible_columns
from console.render.fmt import (
    age,
    gpu_bar,
    gpus,
    idle,
    one_line,
    pct,
    power,
    short_product,
    short_uuid,
    sparkline,
    temp,
    util,
    util_hint,
    xid,
)


def test_age_gpus_products_one_line() -> None:
    assert [age(s) for s in (None, -5, 45, 450, 720, 4 * 3600 + 240, 20 * 3600)] == [
        "",
        "0s",
        "45s",
        "7m30s",
        "12m",
        "4h4m",
        "20h",
    ]
    assert age(3 * 86400 + 4 * 3600) == "3d4h" and age(45 * 86400) == "45d"
    assert age(float("nan")) == "" and age(float("inf")).endswith("d")
    assert (gpus(2.0), gpus(0.5), gpus(3)) == ("2", "0.5", "3")
    assert short_product("NVIDIA-A100-SXM4-80GB") == "A100-SXM4-80GB"
    assert one_line("a\nb\tc") == "a b c" and one_line("x" * 300, 10) == "x" * 9 + "…"


def test_gpu_bar_shape_and_hint() -> None:
    assert gpu_bar(3, 8, 8) == ("▇▇▇▁▁▁▁▁", "bar:38")
    assert gpu_bar(0.1, 8, 4) == ("▇▁▁▁", "bar:1")  # something allocated never looks empty
    assert gpu_bar(9, 8, 4) == ("▇▇▇▇", "bar:100")
    assert gpu_bar(0, 0, 3) == ("▁▁▁", "none") and gpu_bar(1, -1, 2) == ("▁▁", "none")
    assert gpu_bar(1, 8, 0) == ("", "bar:12") and gpu_bar(float("nan"), 8, 2)[1] == "none"


def test_figures_text_and_hints() -> None:
    assert util(73.4) == (" 73%", "util:73") and util(None) == ("   -", "none")
    assert util(float("nan")) == ("   -", "none") and util(250.0)[1] == "util:100"
    assert util_hint(-3) == "util:0" and util_hint(float("inf")) == "util:100"
    assert pct(61.2) == " 61%" and pct(None) == "   -" and pct(5, width=0) == "5%"
    assert temp(72.4) == ("72°C", None) and temp(85.0) == ("85°C!", "warn")
    assert temp(None) == ("   -", None)
    assert power(249.6) == "250 W" and power(None) == "-"
    assert xid(0, 0) == ("", None) and xid(79) == ("79", "bad") and xid(48, 3) == ("48×3", "bad")
    assert idle(None) == ("", None) and idle(0) == ("0", None) and idle(2) == ("2", "warn")
    assert short_uuid("GPU-5f2c1a9e-1234-5678") == "GPU-5f2c1a9e" and short_uuid("GPU-1") == "GPU-1"


def test_sparkline() -> None:
    line = sparkline([0, 50, None, 100, float("nan")], 8)
    assert line == "   ▁▅·█·"
    assert sparkline([0, 20, 40, 60, 80, 100], 6) == "▁▂▄▅▇█"
    assert sparkline([1000, 1000, 0, -5], 3, lo=0, hi=10) == "█▁▁"  # the tail, clamped
    assert sparkline([], 3) == "   " and sparkline([5], 0) == ""
    assert sparkline([float("inf"), 5], 2, lo=10, hi=10) == "▁▁"  # no range: bottom


def test_visible_columns_drop_by_priority() -> None:
    all_keys = [c.key for c in NODES.columns if c.key not in narrow_keys(NODES.columns)]
    assert [c.key for c in visible_columns(NODES.columns, 500)] == all_keys
    narrow = visible_columns(NODES.columns, 80)
    assert {c.key for c in narrow} >= {"short", "state", "alloc"}  # priority 0, narrow forms
    assert sum(c.min_width + 2 for c in narrow) + 3 <= 80
    tiny = visible_columns(NODES.columns, 10)  # priority 0 columns stay, whatever the width
    assert [c.key for c in tiny] == ["short", "state", "alloc"]
    # long names: the narrow form takes NAME's place before anything on-call needs goes
    measured = visible_columns(NODES.columns, 120, widths={"name": 36, "status": 24, "short": 14})
    keys = [c.key for c in measured]
    assert keys[:2] == ["short", "state"] and {"util", "xid", "temp", "free", "gpu"} <= set(keys)
    skipped = visible_columns(
        NODES.columns, 500, skip=[c.key for c in NODES.columns if c.telemetry]
    )
    assert "util" not in {c.key for c in skipped} and "alloc" in {c.key for c in skipped}
    wide = visible_columns(PODS.columns, 80, widths={"name": 60})
    assert "name" in {c.key for c in wide} and len(wide) < len(PODS.columns)


def test_measure_and_styles_of() -> None:
    columns = (Column("a", "A", 0, 1), Column("bb", "BB", 0, 1))
    rows = [Row("1", ("xxx", "")), Row("2", ("y" * 100, "z"))]
    assert measure(columns, rows) == {"a": 48, "bb": 2}
    assert measure(columns, rows, cap=5) == {"a": 5, "bb": 2}
    assert styles_of([None, None]) is None and styles_of([None, "bad"]) == (None, "bad")
