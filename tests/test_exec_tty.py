"""An exec credential plugin with an MFA prompt, on a real terminal (a pty that is the
console's controlling terminal): the first login prompts before the TUI starts; a refresh
that needs the user suspends the TUI, prompts on the terminal, and the TUI comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exec_plugin import exec_kubeconfig, runs
from tests.pty_launch import until
from tests.test_exit import kmc_on_pty

pytestmark = pytest.mark.slow


def test_mfa_prompt_before_the_tui_and_through_suspend(tiny_sim, tmp_path: Path) -> None:
    kubeconfig, log = exec_kubeconfig(
        tiny_sim.kubeconfig_path,
        tmp_path,
        FAKE_EXPIRED_FIRST="1",
        FAKE_NEEDS_USER_AFTER="1",
        FAKE_READ_CODE="1",
    )
    console = kmc_on_pty(
        ["--kubeconfig", str(kubeconfig), "--context", "kmc-exec", "--telemetry", "none"]
    )
    try:
        console.wait_for("MFA code:")  # the plain terminal, before the TUI
        assert runs(log) == []
        console.send(b"123456\r")
        # The TUI starts; its first request finds the credential expired, the detached run
        # says the user is needed, the TUI hands the terminal over and the plugin asks again.
        assert until(lambda: console.text().count("MFA code:") >= 2, 60), console.text()[-2000:]
        console.send(b"654321\r")
        assert until(lambda: len(runs(log)) >= 3, 30)
        history = runs(log)
        assert [(r["interactive"], r.get("code"), r.get("failed", False)) for r in history] == [
            (True, "123456", False),
            (False, None, True),
            (True, "654321", False),
        ]
        assert history[1]["stdin"] == "/dev/null" and history[1]["own_session"]
        tail = len(console.text())
        assert until(lambda: "gke-tiny" in console.text()[tail:], 60), console.text()[-2000:]
        assert console.proc.poll() is None  # the TUI came back and shows the nodes
        console.send(b"q")
        assert until(lambda: console.proc.poll() is not None, 15)
        assert console.proc.returncode == 0
    finally:
        if console.proc.poll() is None:
            console.kill()
        console.close_terminal()
