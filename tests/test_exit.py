"""The console always exits, fast: `q`, SIGHUP, SIGTERM or a lost terminal end the process
and all its children, whatever the API server is doing (the simulator's latency fault makes
it unresponsive: requests wait for headers). Process-level tests on a pseudo-terminal that
is the console's controlling terminal, as over SSH or in a tmux pane.

The deadline asserted is generous (the console promises 2 s; a loaded machine must not
fail the test); without the exit guard these hang for a minute or more.
"""

from __future__ import annotations

import os
import signal
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pty_launch import KMC, PtyProcess, alive, until

GONE_WITHIN = 6.0
pytestmark = pytest.mark.slow


def kmc_on_pty(args: list[str], controlling: bool = True) -> PtyProcess:
    """`kmc …` on a pty of its own (see `PtyProcess` for `controlling`)."""
    return PtyProcess([*KMC, *args], controlling)


def assert_all_gone(console: PtyProcess, pids: list[int], expected_code: int | None) -> None:
    """Every process of the family is gone before the deadline (the console reaped)."""
    until(lambda: console.proc.poll() is not None, GONE_WITHIN)
    code = console.proc.poll()
    left = [pid for pid in pids if pid != console.proc.pid and alive(pid)]
    until(lambda: not [pid for pid in left if alive(pid)], 1.0)
    left = [pid for pid in left if alive(pid)]
    assert code is not None, f"the console still runs {GONE_WITHIN} s after the exit request"
    assert not left, f"processes left behind: {left}"
    if expected_code is not None:
        assert code == expected_code


def socket_to(pid: int, port: int) -> bool:
    """Has `pid` an established TCP connection to 127.0.0.1:`port` (a request in flight)?"""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    for row in rows:
        fields = row.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01" and fields[9] in inodes:
            return True
    return False


@pytest.fixture
def slow_sim(fresh_sim) -> Iterator[object]:
    yield fresh_sim
    fresh_sim.faults.clear()


def _console(sim) -> PtyProcess:
    return kmc_on_pty(["--kubeconfig", str(sim.kubeconfig_path), "--telemetry", "none"])


def _unresponsive(sim, console: PtyProcess) -> None:
    """Every new request waits a minute for headers; the watches are cut, so the informers
    reconnect and hang there."""
    sim.faults.latency(60)
    sim.faults.drop_watches()
    assert until(lambda: socket_to(console.proc.pid, sim.port), 10)


def test_hangup_at_start_up_while_the_api_server_does_not_answer(slow_sim) -> None:
    slow_sim.faults.latency(60)
    console = _console(slow_sim)
    try:
        assert until(lambda: socket_to(console.proc.pid, slow_sim.port), 60)  # probing
        family = console.family()
        console.proc.send_signal(signal.SIGHUP)
        assert_all_gone(console, family, None)
    finally:
        console.kill()


def test_lost_terminal_mid_sync(slow_sim) -> None:
    slow_sim.faults.latency(1.0)  # every list page waits: the first frame shows syncing
    console = _console(slow_sim)
    try:
        console.wait_for("syncing", 60)
        family = console.family()
        console.close_terminal()
        assert_all_gone(console, family, None)
    finally:
        console.kill()


def test_lost_terminal_without_a_hangup_signal(slow_sim) -> None:
    console = kmc_on_pty(["--kubeconfig", str(slow_sim.kubeconfig_path)], controlling=False)
    try:
        console.wait_for("Ready", 60)
        _unresponsive(slow_sim, console)
        family = console.family()
        console.close_terminal()  # no SIGHUP comes: the terminal's hang-up is seen on its fd
        assert_all_gone(console, family, 129)
    finally:
        console.kill()


@pytest.mark.parametrize(
    ("how", "code"),
    [("q", 0), ("SIGTERM", 143), ("SIGHUP", 129)],
)
def test_exit_while_the_api_server_does_not_answer(slow_sim, how: str, code: int) -> None:
    console = _console(slow_sim)
    try:
        console.wait_for("Ready", 60)  # the nodes are listed and on screen
        _unresponsive(slow_sim, console)
        family = console.family()
        if how == "q":
            console.send(b"q")
        else:
            console.proc.send_signal(getattr(signal, how))
        assert_all_gone(console, family, code)
    finally:
        console.kill()


def test_a_second_sigterm_ends_it_at_once(slow_sim) -> None:
    console = _console(slow_sim)
    try:
        console.wait_for("Ready", 60)
        _unresponsive(slow_sim, console)
        assert console.master is not None
        assert not termios.tcgetattr(console.master)[3] & termios.ICANON  # the TUI's raw mode
        shown = len(console.output)
        console.proc.send_signal(signal.SIGTERM)
        console.proc.send_signal(signal.SIGTERM)
        assert_all_gone(console, console.family(), 143)
        # The terminal still exists: it is put back (line mode, echo, main screen, cursor).
        modes = termios.tcgetattr(console.master)
        assert modes[3] & termios.ICANON and modes[3] & termios.ECHO
        assert until(lambda: b"\x1b[?1049l" in console.output[shown:], 2.0)
    finally:
        console.kill()


def test_demo_hangup_takes_the_simulator_with_it() -> None:
    console = kmc_on_pty(["demo", "--preset", "tiny", "--seed", "5150"])
    try:
        console.wait_for("Ready", 120)
        family = console.family()
        assert len(family) >= 2  # kmc and its simulator
        console.close_terminal()  # the SSH session is gone: SIGHUP to the whole session
        assert_all_gone(console, family, None)
    finally:
        console.kill()


def test_demo_sigterm_while_the_simulator_starts() -> None:
    console = kmc_on_pty(["demo", "--preset", "demo", "--seed", "5151"])
    try:
        assert until(lambda: len(console.family()) >= 2, 60)  # the simulator is building
        family = console.family()
        console.proc.send_signal(signal.SIGTERM)
        assert_all_gone(console, family, None)
    finally:
        console.kill()


def test_a_closed_terminal_shows_as_hung_up() -> None:
    from console.shutdown import terminal_hung_up

    master, slave = os.openpty()
    try:
        assert not terminal_hung_up(slave)
        os.close(master)
        assert terminal_hung_up(slave)
    finally:
        os.close(slave)
