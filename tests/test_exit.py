"""The console always exits, fast: `q`, SIGHUP, SIGTERM or a lost terminal end the process
and all its children, whatever the API server is doing (the simulator's latency fault makes
it unresponsive: requests wait for headers). Process-level tests on a pseudo-terminal that
is the console's controlling terminal, as over SSH or in a tmux pane.

The deadline asserted is generous (the console promises 2 s; a loaded machine must not
fail the test); without the exit guard these hang for a minute or more.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GONE_WITHIN = 6.0
pytestmark = pytest.mark.slow

_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Console:
    """`kmc …` on a pty of its own, which is its controlling terminal (unless not
    `controlling`: then closing it sends no SIGHUP, as for a process outside the session)."""

    def __init__(self, args: list[str], controlling: bool = True) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "KMC_CONFIG": "/nonexistent/kmc.toml",
        }
        env.pop("KUBECONFIG", None)

        def controlling_tty() -> None:  # after setsid: the pty becomes this session's tty
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from console.cli import main; main()", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=controlling_tty if controlling else None,
        )
        os.close(slave)
        self.master: int | None = master
        self.output = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while self.master is not None:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def text(self) -> str:
        with self._lock:
            return _ANSI.sub(b"", self.output).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        until(lambda: needle in self.text() or self.proc.poll() is not None, timeout)
        assert needle in self.text(), f"{needle!r} never shown:\n{self.text()[-2000:]}"

    def send(self, keys: bytes) -> None:
        assert self.master is not None
        os.write(self.master, keys)

    def close_terminal(self) -> None:
        master, self.master = self.master, None
        if master is not None:
            os.close(master)

    def family(self) -> list[int]:
        """The console and every process below it (read while they are all still there)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def kill(self) -> None:
        for pid in self.family():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self.close_terminal()


def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def assert_all_gone(console: Console, pids: list[int], expected_code: int | None) -> None:
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


def _console(sim) -> Console:
    return Console(["--kubeconfig", str(sim.kubeconfig_path), "--telemetry", "none"])


def _unresponsive(sim, console: Console) -> None:
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
    console = Console(["--kubeconfig", str(slow_sim.kubeconfig_path)], controlling=False)
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
    console = Console(["demo", "--preset", "tiny", "--seed", "5150"])
    try:
        console.wait_for("Ready", 120)
        family = console.family()
        assert len(family) >= 2  # kmc and its simulator
        console.close_terminal()  # the SSH session is gone: SIGHUP to the whole session
        assert_all_gone(console, family, None)
    finally:
        console.kill()


def test_demo_sigterm_while_the_simulator_starts() -> None:
    console = Console(["demo", "--preset", "demo", "--seed", "5151"])
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
