"""Shared fixtures: binaries that some tests need, and the simulated cluster."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


def require_binary(name: str) -> str:
    """Path of `name`; skip outside CI when it is missing, fail in CI (where it must be installed)."""
    path = shutil.which(name)
    if path is None:
        candidate = Path(name)
        path = str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(message + " (CI must install it: see .ci/run)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_sim():
    """A `tiny` simulated cluster on its own thread, shared by the session: tests must not
    assume they are alone on it (use their own namespaces or names)."""
    from console.sim.cluster import SimCluster

    sim = SimCluster(preset="tiny", seed=7).start()
    yield sim
    sim.stop()


@pytest.fixture
def fresh_sim():
    """A `tiny` simulated cluster of the test's own, for tests that break or advance it."""
    from console.sim.cluster import SimCluster

    sim = SimCluster(preset="tiny", seed=11).start()
    yield sim
    sim.stop()
