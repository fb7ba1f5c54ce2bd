"""Log streams against the simulated cluster (the real client over HTTP): follow, a dropped
stream resumed with nothing lost and nothing twice, pods joining and leaving, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from console.cluster.connection import connect
from console.cluster.logs import LogOptions, LogTail, LogTarget, parse_log_timestamp
from console.render.logs import LogLine
from tests.test_app_logs import create_pod

FAST = {"sim.kmc.dev/log-kind": "generic", "sim.kmc.dev/log-rate": "200"}


class Collector:
    """Drains a tail as the UI does, whenever it is told a batch is ready."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.lines: list[LogLine] = []
        self.events: list[tuple[int, str, str]] = []
        self.batches = 0

    def collect(self, tail: LogTail, until: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ready.wait(0.5)
            self.ready.clear()
            batch = tail.drain()
            if batch.lines or batch.events:
                self.batches += 1
            self.lines.extend(batch.lines)
            self.events.extend((e.source, e.state, e.pod) for e in batch.events)
            if until():
                return
        raise AssertionError("condition not met within the deadline")


def test_drop_and_resume_without_loss_or_duplicates(fresh_sim) -> None:
    create_pod(fresh_sim, "drop-me", annotations=FAST)
    connection = connect(str(fresh_sim.kubeconfig_path), "kmc-sim")
    sink = Collector()
    tail = LogTail(
        connection, sink.ready.set, LogOptions(tail_lines=10),
        fixed=[LogTarget("ml", "drop-me")],
    )  # fmt: skip
    tail.start()
    try:
        sink.collect(tail, lambda: len(sink.lines) > 300)
        fresh_sim.faults.drop_log_streams()
        sink.collect(tail, lambda: any(state == "reconnected" for _, state, _ in sink.events))
        count = len(sink.lines)
        sink.collect(tail, lambda: len(sink.lines) > count + 300)
    finally:
        tail.stop()
    assert sink.batches < len(sink.lines) / 10  # batches, never a message per line
    got = [(line.ts, line.text) for line in sink.lines]
    assert len(set(got)) == len(got), "a line came twice"
    # the same window read in one piece from the API: nothing missing either
    body = connection.request(
        "GET", "/api/v1/namespaces/ml/pods/drop-me/log", {"timestamps": True}
    ).decode()
    whole = []
    for raw in body.splitlines():
        stamp, _, text = raw.partition(" ")
        ts = parse_log_timestamp(stamp)
        if got[0][0] <= ts <= got[-1][0]:
            whole.append((ts, text))
    assert got == whole
    assert tail.stream_of(0).skipped > 0  # the reconnect did resend lines, and they were left out


def test_pods_join_and_leave_and_stop_is_fast(tiny_sim) -> None:
    for name in ("join-a", "join-b"):
        create_pod(tiny_sim, name, annotations=FAST)
    connection = connect(str(tiny_sim.kubeconfig_path), "kmc-sim")
    wanted = [LogTarget("ml", "join-a")]
    sink = Collector()
    tail = LogTail(connection, sink.ready.set, LogOptions(tail_lines=5), targets=lambda: wanted)
    tail.start()
    try:
        sink.collect(tail, lambda: {line.source for line in sink.lines} == {0})
        wanted = [LogTarget("ml", "join-a"), LogTarget("ml", "join-b")]
        sink.collect(tail, lambda: {line.source for line in sink.lines} == {0, 1})
        assert (1, "connecting", "join-b") in sink.events
        wanted = [LogTarget("ml", "join-b")]
        sink.collect(tail, lambda: (0, "gone", "") in sink.events)
    finally:
        started = time.monotonic()
        tail.stop()
        for stream in tail.streams.values():
            stream.thread.join(2.0)
            assert not stream.thread.is_alive()
        assert time.monotonic() - started < 2.0
