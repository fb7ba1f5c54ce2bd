"""The workload triage rules never fail on hostile cluster data or telemetry: objects of every
watched kind drawn from the records fuzz (`test_fuzz_records`) beside well-formed ones,
telemetry whose figures are missing, not finite or absurd and whose pods name those
objects, MLflow progress for the jobs — no rule may end in a 'rule … failed' note, and the
report's JSON must serialise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_records import BACKGROUND, FUZZ, NODES, TEMPLATES, fill, finite_or_not
from test_render_support import NOW, session

from console.cluster.kinds import KINDS
from console.metrics.model import Frame, GpuReading
from console.metrics.store import TelemetryStore
from console.tracking.client import MetricPoint, RunFacts
from console.tracking.progress import FOUND, JobProgress
from console.triage import rules_workloads
from console.triage.engine import Thresholds, Triage

KIND_NAMES = sorted(TEMPLATES)


@FUZZ
@given(data=st.data())
def test_hostile_objects_and_telemetry_never_break_a_workload_rule(data: st.DataObject) -> None:
    records: list[tuple[str, Any]] = list(BACKGROUND)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(KIND_NAMES))
        record = KINDS[kind].decode_item(json.dumps(fill(data, TEMPLATES[kind])).encode())
        if record is not None:
            records.append((kind, record))
    pods = [r.key for k, r in records if k == "pods"]
    names = NODES + [r.name for k, r in records if k == "nodes"]
    store = TelemetryStore(history=4)
    for _ in range(data.draw(st.integers(1, 3))):
        readings: dict[str, list[GpuReading]] = {}
        for name in names:
            for index in range(data.draw(st.integers(0, 3))):
                held = tuple(data.draw(st.lists(st.sampled_from(pods), max_size=2))) if pods else ()
                util = data.draw(finite_or_not)
                readings.setdefault(name, []).append(GpuReading(name, index, util=util, pods=held))
        store.apply(Frame(readings=readings))
    progress = {}
    for _kind, record in records:
        if hasattr(record, "roles"):
            last = data.draw(st.one_of(st.none(), st.floats(allow_nan=True)))
            point = MetricPoint(0.0, data.draw(st.integers(-(2**40), 2**40)), last or 0.0)
            run = RunFacts("r", "n", "1", "RUNNING", False, last, None, metrics={"loss": point})
            progress[(record.kind, record.namespace, record.name)] = JobProgress(
                "r", "tag", FOUND, run, point, None, last
            )
    s = session(*records)
    limits = Thresholds(idle_minutes=data.draw(st.sampled_from([0.0, 30.0])), pending_minutes=0)
    triage = Triage(limits, rules=rules_workloads.RULES)
    for now in (NOW, NOW + 3600):
        report = triage.evaluate(
            s, store=store, telemetry="dcgm", progress=progress, now=now, namespace=None
        )
        assert not [n for n in report.notes if "failed" in n], report.notes
        json.dumps(report.to_json(), allow_nan=False)


def test_absurd_replica_counts_do_not_break_the_server_rules() -> None:
    # the decoders clamp a 10**400 replica count to the API's int32; the rules clamp further
    huge = KINDS["deployments"].decode_item(
        json.dumps(
            {
                "metadata": {
                    "name": "big",
                    "namespace": "serve",
                    "creationTimestamp": "2024-05-01T00:00:00Z",
                },
                "spec": {
                    "replicas": 10**400,
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
                            ]
                        }
                    },
                },
                "status": {"readyReplicas": 0},
            }
        ).encode()
    )
    assert huge is not None and huge.desired == 2**31 - 1
    report = Triage(rules=rules_workloads.RULES).evaluate(session(("deployments", huge)), now=NOW)
    assert not [n for n in report.notes if "failed" in n], report.notes
    [down] = [f for f in report.findings if f.rule == "server-not-ready"]
    assert down.severity == "critical" and down.data["desired"] == 100_000
