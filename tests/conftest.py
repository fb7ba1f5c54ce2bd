"""Shared fixtures: binaries that some tests need, and the simulated cluster."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
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


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll `condition()` until it is true; fail after `timeout` seconds (for tests without a
    Pilot: a loaded machine makes things slower, never a test that waits for its condition)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what or condition}")
        time.sleep(0.02)


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
