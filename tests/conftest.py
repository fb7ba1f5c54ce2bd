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
