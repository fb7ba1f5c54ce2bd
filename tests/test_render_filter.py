"""The `/` filter: regex, literal fallback, `-l` label selectors, `!` invert; never raises."""

from __future__ import annotations

import pytest

from console.render.filter import parse_filter

LABELS = {"app": "vllm", "tier": "gpu", "env": "prod"}


def test_filter_parser() -> None:
    assert parse_filter("-l app=vllm").matches([], LABELS)
    assert not parse_filter("-l app!=vllm").matches([], LABELS)
    assert parse_filter("-l app,tier=gpu").matches([], LABELS)
    assert parse_filter("-l !missing").matches([], LABELS)
    assert not parse_filter("!-l app==vllm").matches([], LABELS)
    assert parse_filter("VLL").matches(["vllm-0"], {})
    assert parse_filter("a(").literal
    assert not parse_filter("").active


def test_regex_over_the_texts() -> None:
    f = parse_filter("a100|h100")
    assert f.active and not f.literal and not f.invert
    assert f.matches(["node-A100-1", "Ready"], {}) and not f.matches(["l4"], {})
    assert parse_filter("^gpu-\\d+$").matches(["x", "gpu-12"], {})
    assert parse_filter("  l4  ").matches(["nvidia-l4"], {})  # trimmed


def test_invalid_regex_is_matched_literally() -> None:
    for text in ("[unclosed", "a(", "*", "a{99999999999999}", "(" * 1000 + ")" * 1000):
        f = parse_filter(text)
        assert f.literal and f.active, text
        assert f.matches([f"x{text}y"], {}) and not f.matches(["other"], {})
    assert parse_filter("[unclosed").text == "[unclosed"


def test_invert() -> None:
    f = parse_filter("!Running")
    assert f.invert and f.matches(["Pending"], {}) and not f.matches(["Running"], {})
    assert parse_filter("! running").matches(["Pending"], {})
    assert not parse_filter("!").active and parse_filter("!").matches(["x"], {})  # still typing


def test_label_selectors() -> None:
    assert parse_filter("-l=app=vllm").matches([], LABELS)
    assert parse_filter("-l app == vllm , tier").matches([], LABELS)
    assert not parse_filter("-l app=vllm,tier=cpu").matches([], LABELS)
    assert parse_filter("-l env in (prod, dev)").matches([], LABELS)
    assert not parse_filter("-l env in (dev)").matches([], LABELS)
    assert parse_filter("-l env notin (dev,test),app").matches([], LABELS)
    assert not parse_filter("-l env notin (prod)").matches([], LABELS)
    assert parse_filter("-l missing notin (x)").matches([], LABELS)
    assert not parse_filter("-l missing in (x)").matches([], LABELS)
    selector = parse_filter("-l app=vllm")
    assert not selector.matches(["app=vllm"], {})  # labels, not texts
    assert not selector.matches([], None)


@pytest.mark.parametrize(
    "text",
    ["-l", "-l ,,,", "-l =", "-l !", "-l a in (", "-l in ()", "!-l", "-l (((", None, "\x00", "\\"],
)
def test_parsing_never_raises(text: str | None) -> None:
    f = parse_filter(text)  # type: ignore[arg-type]
    f.matches(["some", "texts"], LABELS)
    f.matches([], {})
