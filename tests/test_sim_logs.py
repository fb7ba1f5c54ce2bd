"""Simulated container logs: determinism, the pods/log parameters, follow, previous, content."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from console.sim.log_source import KINDS, LogRequestError, LogSource
from console.sim.logs import (
    follow_log,
    format_timestamp,
    parse_timestamp,
    pod_log,
    read_log,
)

T0 = 1_795_000_000.0  # container start (2026-11-18T11:06:40Z)
NOW = T0 + 3 * 3600.0
TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})Z (.*)$")
STEP_RE = re.compile(
    r"step (\d+)/(\d+) loss=(\d+\.\d{4}) lr=\d\.\de-\d\d grad_norm=\d+\.\d\d tokens/s=\d+ gpu_mem=\d+\.\dGiB$"
)
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _src(
    kind: str = "training", pod: str = "llm-ft-worker-1", restarts: int = 0, **kw
) -> LogSource:
    return LogSource(7, pod, "pytorch", kind, T0, restarts, namespace="ml", **kw)


def _full(source: LogSource, now: float = NOW, **kw) -> str:
    return read_log(source, now, **kw).text


def test_deterministic() -> None:
    for kind in KINDS:
        a = _full(_src(kind), T0 + 900, timestamps=True)
        b = _full(_src(kind), T0 + 900, timestamps=True)
        assert a == b and a
    assert _full(_src(pod="other-worker-1")) != _full(_src())
    assert _full(LogSource(8, "llm-ft-worker-1", "pytorch", "serving", T0)) != _full(
        LogSource(7, "llm-ft-worker-1", "pytorch", "serving", T0)
    )


@pytest.mark.parametrize("kind", KINDS)
def test_timestamps_are_ordered_and_formatted(kind: str) -> None:
    text = _full(_src(kind), T0 + 1800, timestamps=True)
    lines = text.splitlines()
    assert lines
    stamps = []
    for line in lines:
        m = TS_RE.match(line)
        assert m, line
        when = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        stamps.append(when.timestamp() + int(m.group(2)) / 1e9)
    assert stamps == sorted(stamps)
    assert stamps[0] >= T0 and stamps[-1] <= T0 + 1800
    assert all(b > a for a, b in itertools.pairwise(stamps))


def test_format_and_parse_timestamp() -> None:
    assert format_timestamp(1_795_000_000_123_456_789) == "2026-11-18T11:06:40.123456789Z"
    assert format_timestamp(1_795_000_000_000_000_000) == "2026-11-18T11:06:40.000000000Z"
    assert parse_timestamp("2026-11-18T11:06:40Z") == 1_795_000_000.0
    assert parse_timestamp("2026-11-18T12:06:40+01:00") == 1_795_000_000.0
    assert parse_timestamp("2026-11-18T11:06:40.5Z") == 1_795_000_000.5
    with pytest.raises(LogRequestError):
        parse_timestamp("yesterday")


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "hostile"])
def test_no_control_characters(kind: str) -> None:
    for restarts in (0, 2):
        src = _src(kind, restarts=restarts)
        text = _full(src, T0 + 7200, timestamps=True)
        if restarts:
            text += _full(src.previous(), T0)
        assert not CONTROL.search(text)
        assert text.isascii()
        assert text.endswith("\n")


@pytest.mark.parametrize("kind", KINDS)
def test_tail_lines_agrees_with_full_log(kind: str) -> None:
    src = _src(kind)
    full = _full(src, T0 + 2000).splitlines(keepends=True)
    for n in (0, 1, 5, 37, len(full), len(full) + 10):
        tail = _full(src, T0 + 2000, tail_lines=n)
        assert tail == "".join(full[-n:] if n else [])
        assert len(tail.splitlines()) == min(n, len(full))


def test_tail_does_not_generate_history() -> None:
    src = _src("serving")
    calls = 0
    original = src._line

    def counting(seq: int) -> tuple[int, str]:
        nonlocal calls
        calls += 1
        return original(seq)

    src._line = counting  # type: ignore[method-assign]
    chunk = read_log(src, T0 + 30 * 86400, tail_lines=10)
    assert len(chunk.text.splitlines()) == 10
    assert calls == 10
    assert chunk.next_seq > 1_000_000  # a month of serving at several lines per second


def test_since_seconds_and_since_time() -> None:
    src = _src("serving")
    now = T0 + 600
    text = _full(src, now, since_seconds=30, timestamps=True)
    stamps = [parse_timestamp(TS_RE.match(ln).group(1) + "Z") for ln in text.splitlines()]  # type: ignore[union-attr]
    assert stamps and min(stamps) >= now - 31 and max(stamps) <= now
    assert 30 < len(stamps) < 30 * 8  # several lines per second
    # the window is exactly the lines of [now - 30, now]
    expected = [line for ts, line in src.window(now - 30, now + 1e-9)]
    assert _full(src, now, since_seconds=30).splitlines() == expected
    # sinceTime as RFC3339 or sim seconds; tail applies within it
    iso = format_timestamp(int((now - 30) * 1e9))
    assert _full(src, now, since_time=iso) == _full(src, now, since_time=now - 30)
    assert _full(src, now, since_seconds=30, tail_lines=3).splitlines() == expected[-3:]
    assert _full(src, now, since_seconds=3600) == _full(src, now)  # before the start: everything


def test_limit_bytes() -> None:
    src = _src("training")
    full = _full(src, timestamps=True)
    for limit in (1, 10, 100, 1000, 4096):
        chunk = read_log(src, NOW, timestamps=True, limit_bytes=limit)
        assert chunk.text == full[:limit]
        assert chunk.truncated
    whole = read_log(src, NOW, limit_bytes=10**9)
    assert whole.text == _full(src) and not whole.truncated


def test_invalid_parameters() -> None:
    src = _src()
    with pytest.raises(LogRequestError) as err:
        read_log(src, NOW, tail_lines=-1)
    assert err.value.code == 422
    with pytest.raises(LogRequestError):
        read_log(src, NOW, limit_bytes=0)
    with pytest.raises(LogRequestError):
        read_log(src, NOW, since_seconds=10, since_time=NOW - 5)
    with pytest.raises(LogRequestError) as err:
        src.previous()
    assert err.value.code == 400
    assert 'previous terminated container "pytorch" in pod "llm-ft-worker-1" not found' in str(
        err.value
    )


def test_training_progress_follows_time() -> None:
    src = _src("training")
    steps, losses = [], []
    for line in _full(src, T0 + 6 * 3600).splitlines():
        m = STEP_RE.search(line)
        if m:
            steps.append(int(m.group(1)))
            losses.append(float(m.group(3)))
    assert steps == sorted(steps) and len(steps) > 100
    assert losses[-1] < losses[0] * 0.5  # loss decreases...
    assert any(b > a for a, b in itertools.pairwise(losses))  # ...noisily
    early = [
        int(m.group(1)) for ln in _full(src, T0 + 600).splitlines() if (m := STEP_RE.search(ln))
    ]
    later = [
        int(m.group(1)) for ln in _full(src, T0 + 1200).splitlines() if (m := STEP_RE.search(ln))
    ]
    assert later[-1] > early[-1] * 1.7  # steps scale with time since start
    text = _full(src, T0 + 6 * 3600)
    assert "NCCL INFO" in text and "Init COMPLETE" in text and "nranks" in text
    assert "Saving checkpoint to /checkpoints/llm-ft/step-" in text


def test_training_completes_at_its_last_step() -> None:
    src = _src("training")
    assert src.natural_end_at is not None
    text = _full(src, src.natural_end_at + 60)
    assert "Training complete" in text.splitlines()[-2]
    assert src.is_finished(src.natural_end_at + 1)
    assert not src.is_finished(src.natural_end_at - 1)


def test_training_failed_ends_with_traceback() -> None:
    for pod in ("a-master-0", "b-worker-3", "c-worker-0", "d-master-0", "e-worker-7"):
        src = LogSource(3, pod, "pytorch", "training-failed", T0, namespace="ml")
        assert src.end_mode == "crashed" and src.natural_end_at is not None
        before = _full(src, src.natural_end_at - 5)
        assert "Traceback" not in before
        lines = _full(src, src.natural_end_at + 5).splitlines()
        assert "Traceback (most recent call last):" in lines
        assert re.match(
            r"^(torch\.cuda\.OutOfMemoryError: CUDA out of memory|RuntimeError: NCCL communicator was aborted)",
            lines[-1],
        ), lines[-1]


def test_previous_is_the_crashed_instance() -> None:
    src = _src("training", restarts=2)
    prev = src.previous()
    assert prev.restart_count == 1
    assert prev.finished_at is not None and prev.finished_at <= src.started_at
    text = _full(prev, NOW)
    lines = text.splitlines()
    assert "Traceback (most recent call last):" in lines
    assert re.match(r"^[\w.]+(Error|Exception): ", lines[-1])
    # the API form
    body = pod_log(
        7,
        "llm-ft-worker-1",
        "pytorch",
        "training",
        T0,
        NOW,
        restart_count=2,
        namespace="ml",
        previous=True,
    )
    assert body == text
    # explicit times from the container status
    explicit = src.previous(started_at=T0 - 900, finished_at=T0 - 30)
    assert explicit.finished_at == pytest.approx(T0 - 30)
    assert (
        _full(explicit, NOW, timestamps=True)
        .splitlines()[0]
        .startswith(format_timestamp(int((T0 - 900) * 1e9))[:16])
    )
    for kind in ("serving", "generic", "dcgm-exporter", "device-plugin"):
        last = _full(_src(kind, restarts=1).previous(), NOW).splitlines()[-1]
        assert re.search(r"Error|level=fatal|^F\d{4}", last), (kind, last)


def test_follow_produces_new_lines_as_time_advances() -> None:
    src = _src("training")
    first = read_log(src, T0 + 120, tail_lines=5)
    seq = first.next_seq
    streamed = first.text
    for now in range(int(T0) + 125, int(T0) + 600, 5):
        chunk = follow_log(src, seq, now)
        assert chunk.next_seq >= seq
        seq = chunk.next_seq
        streamed += chunk.text
    assert streamed.count("\n") > 5 + 100
    # the stream is exactly the log's tail from where it started
    assert streamed == _full(src, T0 + 595, tail_lines=src.visible(T0 + 595) - first.next_seq + 5)
    # nothing new without time passing
    assert follow_log(src, seq, T0 + 595).text == ""


def test_follow_of_a_finished_container_ends() -> None:
    src = _src("serving", finished_at=T0 + 300)
    assert src.end_mode == "terminated"
    chunk = read_log(src, T0 + 400)
    assert chunk.text.splitlines()[-1] == "INFO:     Finished server process [1]"
    assert src.is_finished(T0 + 400)
    assert follow_log(src, chunk.next_seq, T0 + 10_000).text == ""
    assert chunk.next_seq == src.total_lines


def test_window_matches_line_numbers() -> None:
    src = _src("generic")
    lines = list(src.window(T0, T0 + 3600))
    assert len(lines) == src.count_before(T0 + 3600)
    assert all(T0 <= ts < T0 + 3600 for ts, _ in lines)
    half = list(src.window(T0 + 1800, T0 + 3600))
    assert half == [x for x in lines if x[0] >= T0 + 1800]


def test_startup_only_kinds_are_quiet_after_start() -> None:
    for kind in ("dcgm-exporter", "device-plugin"):
        src = _src(kind)
        assert src.visible(T0 + 60) == src.visible(T0 + 86400) > 5
    assert "Registered device plugin for 'nvidia.com/gpu' with Kubelet" in _full(
        _src("device-plugin")
    )
    assert 'msg="Listening on" address="[::]:9400"' in _full(_src("dcgm-exporter"))


def test_serving_request_lines() -> None:
    text = _full(_src("serving"), T0 + 600)
    assert re.search(
        r'^INFO:     10\.\d+\.\d+\.\d+:\d+ - "POST /v1/(chat/)?completions HTTP/1\.1" 200 OK$',
        text,
        re.M,
    )
    assert re.search(r"prompt_tokens=\d+ completion_tokens=\d+ latency=\d+\.\d{3}s$", text, re.M)
    assert "Uvicorn running on http://0.0.0.0:8080" in text


def test_before_start_is_empty() -> None:
    assert _full(_src(), T0 - 10) == ""
    assert read_log(_src(), T0 - 10).next_seq == 0


def test_hung_training_goes_quiet_then_the_watchdog_fires() -> None:
    hung_at = T0 + 1200
    src = _src("training", hung_at=hung_at)
    assert src.natural_end_at == pytest.approx(hung_at + 600)
    assert src.visible(hung_at + 1) == src.visible(hung_at + 590)  # silence while hung
    lines = _full(src, hung_at + 700, timestamps=True).splitlines()
    assert lines[-1].split(" ", 1)[1].startswith("RuntimeError: NCCL communicator was aborted")
    assert any("Watchdog caught collective operation timeout" in ln for ln in lines)
    steps = [ln for ln in lines if STEP_RE.search(ln)]
    assert parse_timestamp(TS_RE.match(steps[-1]).group(1) + "Z") < hung_at  # type: ignore[union-attr]


def test_log_rate_overrides_the_kind_pace() -> None:
    slow = _src("generic")
    fast = _src("generic", rate=5000.0)
    window = T0 + 600, T0 + 610
    assert len(list(fast.window(*window))) == pytest.approx(50_000, rel=0.001)
    assert len(list(slow.window(*window))) <= 3
    assert _src("generic", restarts=1, rate=5000.0).previous().rate == 5000.0
    stamps = [ts for ts, _ in fast.window(T0 + 600, T0 + 601)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_log_rate_annotation() -> None:
    from console.sim.pod_logs import log_rate

    def pod(value: str) -> dict:
        return {"metadata": {"annotations": {"sim.kmc.dev/log-rate": value}}}

    assert log_rate(pod("2000"), "main") == 2000.0
    assert log_rate(pod("main=2000,sidecar=0.5"), "sidecar") == 0.5
    assert log_rate(pod("main=2000"), "other") is None
    assert log_rate(pod("fast"), "main") is None
    assert log_rate(pod("-3"), "main") is None
    assert log_rate({"metadata": {}}, "main") is None


def test_json_kind_writes_json_objects_with_levels() -> None:
    import json

    text = _full(_src("json"), T0 + 600)
    steady = [line for line in text.splitlines() if line.startswith("{")]
    assert len(steady) > 100
    levels = {json.loads(line)["level"] for line in steady}
    assert levels == {"info", "warn", "debug", "error"}


def test_hostile_kind_writes_escapes_and_markup() -> None:
    text = _full(_src("hostile"), T0 + 600)
    assert "\x1b]52;" in text and "\x1b[2J" in text and "[@click=app.quit]" in text
    assert max(len(line) for line in text.splitlines()) >= 200_000


def test_a_hung_pod_logs_the_nccl_watchdog() -> None:
    from types import SimpleNamespace

    from console.sim.clock import rfc3339
    from console.sim.pod_logs import HUNG_AFTER_S, PodLogs

    pod = {
        "metadata": {
            "name": "llava-13b-eval-master-0",
            "namespace": "ml-research",
            "labels": {"training.kubeflow.org/job-name": "llava-13b-eval"},
            "annotations": {"sim.kmc.dev/profile": "hung"},
        },
        "status": {
            "containerStatuses": [
                {
                    "name": "pytorch",
                    "restartCount": 0,
                    "state": {"running": {"startedAt": rfc3339(T0)}},
                }
            ]
        },
    }
    logs = PodLogs(SimpleNamespace(seed=7, clock=None))  # type: ignore[arg-type]
    source = logs.source(pod, "pytorch", previous=False)
    assert source.natural_end_at == pytest.approx(T0 + HUNG_AFTER_S + 600, abs=1)
    text = _full(source, T0 + 3600)
    assert "Watchdog caught collective operation timeout" in text
    del pod["metadata"]["annotations"]["sim.kmc.dev/profile"]
    assert "Watchdog" not in _full(logs.source(pod, "pytorch", previous=False), T0 + 3600)
