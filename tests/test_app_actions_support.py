"""Helpers and fixtures of the action Pilot tests (no tests here): a cluster of their own,
the audit log in a temporary XDG state directory, selecting a row, the confirmation, the
writes that reached the simulator, kubectl."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from console.cluster.audit import AuditLog
from console.cluster.connection import connect
from console.sim.cluster import SimCluster
from tests.conftest import require_binary
from tests.test_app_support import column, command, filter_, populated, wait_until
from widgets.confirm import ConfirmDialog

SIZE = (140, 40)
JOBS = "/apis/kubeflow.org/v1/namespaces/ml/pytorchjobs"


@pytest.fixture(scope="module")
def sim():
    """Each importing module's own cluster: its tests cordon, scale, suspend and delete."""
    cluster = SimCluster(preset="tiny", seed=9).start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def audit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return AuditLog(tmp_path / "state" / "kmc" / "audit.jsonl")


def admin(sim: SimCluster):
    return connect(str(sim.kubeconfig_path), "kmc-sim")


def get(sim: SimCluster, path: str) -> dict:
    return json.loads(admin(sim).get(path))


def kubectl(sim: SimCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    kubectl = require_binary("kubectl")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(sim.kubeconfig_path), *args],
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
    )


def node_in(sim: SimCluster, pool: str) -> str:
    names = [n["metadata"]["name"] for n in get(sim, "/api/v1/nodes")["items"]]
    return next(n for n in names if pool in n)


def new_job(sim: SimCluster, name: str, workers: int = 2, elastic: tuple[int, int] | None = None):
    """A PyTorchJob of this test's own, made from the preset's llama-ft."""
    job = copy.deepcopy(get(sim, f"{JOBS}/llama-ft"))
    job.pop("status", None)
    job["metadata"] = {"name": name, "namespace": "ml"}
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = workers
    if elastic:
        job["spec"]["elasticPolicy"] = {"minReplicas": elastic[0], "maxReplicas": elastic[1]}
    admin(sim).request("POST", JOBS, body=job)


def notes_of(app) -> list[str]:
    """Every notification's text from now on."""
    seen: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        seen.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify
    return seen


async def select(pilot, app, view: str, name: str) -> None:
    await command(pilot, view)
    await populated(pilot, app, view)
    await filter_(pilot, name)
    # (the NAME cell may be shortened: a common prefix of node names is left out)
    await wait_until(pilot, lambda: len(column(app, "name")) == 1 and selected_name(app) == name)


def selected_name(app) -> str:
    row = app.screen._selected()
    return row.record.name if row is not None else ""


async def dialog_of(pilot, app) -> ConfirmDialog:
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
    return app.screen


def writes_after(sim: SimCluster, mark: int) -> list[tuple[str, str]]:
    """Writes after `mark`, access reviews (which change nothing) left out."""
    return [
        (m, p)
        for m, p in sim.requests.since(mark, writes_only=True)
        if "selfsubjectaccessreviews" not in p
    ]
