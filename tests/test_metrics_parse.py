"""The DCGM exposition parsers: the fast path agrees with prometheus_client's parser on every
label variant the exporter has shipped, and bad input becomes a one-line ParseError."""

from __future__ import annotations

import pytest

from console.metrics.model import label_names
from console.metrics.parse import ParseError, parse_fast, parse_reference
from console.sim.gpu_exposition import render_exposition
from console.sim.gpus import Assignment, GpuFaults, GpuState, node_gpus

PARSERS = [parse_fast, parse_reference]


def _text(hostname_label: str = "Hostname", label_mode: str = "new", pod: str = "train-0") -> str:
    gpus = node_gpus(3, "node-a", "A100-SXM4-80GB", 4)
    states = [
        GpuState(gpus[0], (Assignment(pod, "ml", "pytorch"),)),
        # time-shared: two pods on one GPU, one line per pod
        GpuState(gpus[1], (Assignment("a", "ml", "c"), Assignment("b", "team", "c", "serving"))),
        GpuState(gpus[2], (Assignment("idle-0", "ml", "c", "idle-allocation"),), GpuFaults(xid=79)),
        GpuState(gpus[3]),
    ]
    return render_exposition(
        states,
        5000.0,
        hostname_label=hostname_label,
        label_mode=label_mode,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("hostname_label", "label_mode", "mode"),
    [
        ("Hostname", "new", "auto"),
        ("hostname", "new", "auto"),
        ("Hostname", "old", "auto"),
        ("Hostname", "new", "standard"),
        ("hostname", "new", "lowercase"),
        ("Hostname", "old", "legacy"),
    ],
)
def test_parsers_agree_on_label_variants(hostname_label: str, label_mode: str, mode: str) -> None:
    text = _text(hostname_label, label_mode)
    fast = parse_fast(text, label_names(mode))
    assert fast == parse_reference(text, label_names(mode))
    assert [(r.node, r.index) for r in fast] == [("node-a", i) for i in range(4)]
    assert fast[0].pods == (("ml", "train-0"),)
    assert fast[1].pods == (("ml", "a"), ("team", "b"))
    assert fast[2].xid == 79 and fast[3].pods == ()
    assert fast[0].uuid.startswith("GPU-") and fast[0].model == "NVIDIA A100-SXM4-80GB"
    assert fast[0].util is not None and fast[0].util > 80
    assert fast[0].mem_pct is not None and fast[0].gr_active is not None
    # the figures do not depend on the variant
    baseline = parse_fast(_text())
    assert [(r.util, r.fb_used, r.power, r.pods) for r in fast] == [
        (r.util, r.fb_used, r.power, r.pods) for r in baseline
    ]


def test_fixed_mode_ignores_other_variant() -> None:
    # a `lowercase` console reading a `Hostname` exporter finds no host: nothing to show
    with pytest.raises(ParseError):
        parse_fast(_text("Hostname"), label_names("lowercase"))
    # ...unless the node is known from the exporter pod (direct scrape)
    readings = parse_fast(_text("Hostname"), label_names("lowercase"), node="node-a")
    assert len(readings) == 4


@pytest.mark.parametrize("parse", PARSERS)
def test_untrusted_strings_are_cleaned(parse) -> None:
    labels = (
        'gpu="0",UUID="GPU-1",modelName="A100\x1b]0;pwned\x07",Hostname="n1",'
        'namespace="ml",pod="ev\\"il\x1b[31m\\npod"'
    )
    text = f"# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{{{labels}}} 42\n"
    reading = parse(text)[0]
    assert reading.util == 42
    assert reading.model == "A100"
    assert reading.pods == (("ml", 'ev"il pod'),)


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    "garbage",
    ["", "<html><body>502 Bad Gateway</body></html>", "\x00\xff junk {{{", "up 1\n"],
)
def test_garbage_is_a_parse_error(parse, garbage: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(garbage)
    assert "\n" not in str(info.value)


def test_node_from_exporter_pod_wins() -> None:
    readings = parse_fast(_text(), node="real-node")
    assert {r.node for r in readings} == {"real-node"}


def test_gpu_index_and_whole_take_only_what_cannot_raise() -> None:
    from console.metrics.parse import gpu_index, whole

    assert [gpu_index(t) for t in ("0", "7", "123456")] == [0, 7, 123456]
    for bad in ("", "²", "٣", "1234567", "9" * 5000, "-1", "1.0", " 1"):
        assert gpu_index(bad) is None
    assert whole(79.0) == 79 and whole(float("inf")) == 0 and whole(float("nan")) == 0
    assert whole(1e300) == 0
