"""Unit tests of the TUI-free log parts: classification, filter and search, pod labels, the
bounded buffer, line decoding, timestamps and the de-duplication a reconnect relies on."""

from __future__ import annotations

import pytest

from console.cluster.logs import (
    MAX_LINE_CHARS,
    LogOptions,
    LogStream,
    LogTarget,
    decode_line,
    default_container,
    parse_log_timestamp,
    since_time,
)
from console.render.logs import (
    DEBUG,
    ERROR,
    WARN,
    LogBuffer,
    LogLine,
    SourceStats,
    classify,
    match_spans,
    parse_line_filter,
    pretty_json,
    short_label,
)
from console.screens.logs_support import duration_seconds, format_saved


@pytest.mark.parametrize(
    "text, level",
    [
        ("Traceback (most recent call last):", ERROR),
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", ERROR),
        ("node-3:41:99 [0] NCCL WARN Net : Connection closed by remote peer", ERROR),
        (
            "[rank1]:[E ProcessGroupNCCL.cpp:563] [Rank 1] Watchdog caught collective operation",
            ERROR,
        ),
        ("RuntimeError: NCCL communicator was aborted on rank 1.", ERROR),
        ("2026-01-01 00:00:00,000 - ERROR - loader died", ERROR),
        ("process exited with code 137", ERROR),
        ("E1201 12:00:00.000000       1 main.go:12] failed", ERROR),
        ('time="x" level=fatal msg="no GPUs"', ERROR),
        ("2026-01-01 00:00:00,000 - WARNING - slow dataloader", WARN),
        ("[W reducer.cpp:1389] Warning: find_unused_parameters=True", WARN),
        ("DEBUG cache hit", DEBUG),
        ("step 100/1000 loss=1.2345", ""),
        ("process exited with code 0", ""),
    ],
)
def test_classify_lines(text: str, level: str) -> None:
    assert classify(text) == (level, False)


def test_classify_json_levels() -> None:
    assert classify('{"level":"error","msg":"x"}') == (ERROR, True)
    assert classify('{"severity":"WARNING","msg":"x"}') == (WARN, True)
    assert classify('{"msg":"Traceback (most recent call last)"}') == (ERROR, True)
    assert classify('{"msg":"fine"}') == ("", True)
    assert classify("{not json}") == ("", False)
    assert classify("[1, 2]") == ("", False)


def test_pretty_json() -> None:
    assert pretty_json('{"a":1,"b":[2]}') == ["{", '  "a": 1,', '  "b": [', "    2", "  ]", "}"]
    assert pretty_json("plain") == ["plain"]


def test_filter_smart_case_and_invert() -> None:
    lines = ["NCCL WARN timeout", "nccl info ok", "step 1"]
    assert [t for t in lines if parse_line_filter("nccl").matches(t)] == lines[:2]
    assert [t for t in lines if parse_line_filter("NCCL").matches(t)] == lines[:1]
    assert [t for t in lines if parse_line_filter("!nccl").matches(t)] == lines[2:]
    assert all(parse_line_filter("").matches(t) for t in lines)
    with pytest.raises(ValueError, match="bad regex"):
        parse_line_filter("(unclosed")


def test_match_spans() -> None:
    import re

    assert match_spans(re.compile("ab"), "xabyab") == [(1, 3), (4, 6)]
    assert match_spans(re.compile("z*"), "abc") == []
    assert match_spans(None, "abc") == []


def test_short_labels() -> None:
    assert short_label("llama-ft-worker-3") == "w3"
    assert short_label("llama-ft-master-0") == "m0"
    pods = ["llama3-predictor-abc12-x7k2p", "llama3-predictor-abc12-q9zzt"]
    assert short_label(pods[0], pods) == "x7k2p"
    assert short_label("solo", ["solo"]) == "solo"


def _buffer(cap: int = 5) -> LogBuffer:
    buffer = LogBuffer(cap=cap)
    buffer.add_source(SourceStats("a", "c", "a"))
    buffer.add_source(SourceStats("b", "c", "b"))
    return buffer


def test_buffer_cap_drops_oldest_and_counts() -> None:
    buffer = _buffer(cap=5)
    lines = [LogLine(i % 2, i + 1, f"line {i}", ERROR if i == 3 else "") for i in range(8)]
    rewind, shown = buffer.add(lines)
    assert [line.text for line in buffer.lines] == [f"line {i}" for i in range(3, 8)]
    assert buffer.dropped == 3
    assert rewind == 0 and len(shown) == 5
    assert (buffer.sources[0].lines, buffer.sources[1].lines) == (4, 4)
    assert buffer.sources[1].errors == 1  # counts every line received, dropped or not


def test_buffer_filter_and_subset() -> None:
    buffer = _buffer(cap=100)
    buffer.add([LogLine(0, 1, "alpha"), LogLine(1, 2, "beta"), LogLine(0, 3, "alphabet")])
    buffer.line_filter = parse_line_filter("alpha")
    assert [line.text for line in buffer.shown()] == ["alpha", "alphabet"]
    buffer.hidden_sources = {0}
    assert buffer.shown() == []
    buffer.line_filter = parse_line_filter("")
    assert [line.text for line in buffer.shown()] == ["beta"]
    rewind, shown = buffer.add([LogLine(0, 4, "x"), LogLine(1, 5, "y")])
    assert rewind == 0 and [line.text for line in shown] == ["y"]


def test_buffer_merges_late_chunks_by_time() -> None:
    """Pod b's chunk arrives after pod a's newer lines: it is merged in by timestamp, and
    the view is told to take back the lines it showed after the merge point."""
    buffer = _buffer(cap=100)
    buffer.add([LogLine(0, t, f"a{t}") for t in (10, 20, 30, 40)])
    rewind, shown = buffer.add([LogLine(1, 35, "b35"), LogLine(1, 25, "b25")])
    assert [line.text for line in buffer.lines] == ["a10", "a20", "b25", "a30", "b35", "a40"]
    assert rewind == 2 and [line.text for line in shown] == ["b25", "a30", "b35", "a40"]
    marker = buffer.add_marker(0, "reconnected")
    buffer.line_filter = parse_line_filter("b")
    assert [line.text for line in buffer.shown()] == ["b25", "b35", "reconnected"]
    assert marker.ts == 40


def test_decode_line_cleans_and_bounds() -> None:
    assert decode_line(b"\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07ok") == "red ok"
    assert decode_line(b"bad \xff\xfe utf8") == "bad \ufffd\ufffd utf8"
    huge = decode_line(b"y" * 1_000_000)
    assert len(huge) < MAX_LINE_CHARS + 40 and huge.endswith("more bytes]")
    assert "[bold]" in decode_line(b"[bold]literal[/bold]")  # markup is data, kept as is


def test_timestamps() -> None:
    cache: dict[str, int] = {}
    ts = parse_log_timestamp("2026-01-01T00:00:01.123456789Z", cache)
    assert ts == 1_767_225_601_123_456_789
    assert parse_log_timestamp("2026-01-01T00:00:01.5Z", cache) == 1_767_225_601_500_000_000
    assert parse_log_timestamp("2026-01-01T00:00:01Z") == 1_767_225_601_000_000_000
    for bad in ("hello", "2026-01-01T00:00:01.12x", "2026-13-01T00:00:01Z", ""):
        assert parse_log_timestamp(bad) == 0
    assert since_time(ts) == "2026-01-01T00:00:01Z"


class _Sink:
    def __init__(self) -> None:
        self.lines: list[LogLine] = []

    def push(self, lines: list[LogLine]) -> None:
        self.lines.extend(lines)


def test_reconnect_skips_what_it_had() -> None:
    """A reconnect from the last line's second resends that second: nothing twice."""
    sink = _Sink()
    stream = LogStream(sink, 0, LogTarget("ns", "p", "c"), LogOptions())  # type: ignore[arg-type]
    first = b"2026-01-01T00:00:01.100000000Z a\n2026-01-01T00:00:01.200000000Z b\n2026-01-0"
    stream._feed(first)
    assert [line.text for line in sink.lines] == ["a", "b"]
    assert stream._query()["sinceTime"] == "2026-01-01T00:00:01Z"
    stream._partial = b""  # the connection dropped mid-line
    again = (
        b"2026-01-01T00:00:01.100000000Z a\n2026-01-01T00:00:01.200000000Z b\n"
        b"2026-01-01T00:00:01.300000000Z c\nno timestamp\n"
    )
    stream._feed(again)
    assert [line.text for line in sink.lines] == ["a", "b", "c", "no timestamp"]
    assert stream.skipped == 2


def test_default_container() -> None:
    pod = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "main"}},
        "spec": {"containers": [{"name": "sidecar"}, {"name": "main"}]},
    }
    assert default_container(pod) == "main"
    pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] = "nope"
    assert default_container(pod) == "sidecar"
    assert default_container({}) == ""


def test_duration_and_saved_format() -> None:
    assert duration_seconds("90s") == 90 and duration_seconds("10m") == 600
    assert duration_seconds("2h") == 7200 and duration_seconds("") is None
    for bad in ("ten", "0", "-5m", "5y"):
        with pytest.raises(ValueError):
            duration_seconds(bad)
    lines = [LogLine(1, 1_767_225_601_000_000_005, "x"), LogLine(0, 0, "-- m --", "marker")]
    assert list(format_saved(lines, ["a", "b"], True)) == ["2026-01-01T00:00:01.000000005Z b x\n"]


def test_line_cap_setting(tmp_path) -> None:
    from console.config import ConfigError, load_settings

    missing = tmp_path / "none.toml"
    assert load_settings({}, {}, path=missing).log_line_cap == 50_000
    assert load_settings({}, {"KMC_LOG_LINE_CAP": "200_000"}, path=missing).log_line_cap == 200_000
    for bad in ("lots", "10", "true"):
        with pytest.raises(ConfigError, match="KMC_LOG_LINE_CAP"):
            load_settings({}, {"KMC_LOG_LINE_CAP": bad}, path=missing)
