"""The render layer loads no UI: no Textual, no Rich, no widgets, no themes."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import console.render

ROOT = Path(__file__).resolve().parent.parent
UI = ("textual", "rich", "widgets", "themes")


def test_render_modules_import_no_ui() -> None:
    """In a fresh interpreter (other tests' imports would hide a leak)."""
    names = sorted(
        f"console.render.{m.name}" for m in pkgutil.iter_modules(console.render.__path__)
    )
    assert {"console.render.base", "console.render.sort", "console.render.nodes"} <= set(names)
    code = (
        "import importlib, sys\n"
        f"for name in {['console.render', *names]!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {UI!r})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
