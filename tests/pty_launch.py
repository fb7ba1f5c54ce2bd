"""A command on a pseudo-terminal of its own that is (by default) its controlling terminal,
as over SSH or in a tmux pane: its output kept, keys written to it, its process family
found through /proc. Used by tests/test_exit.py and benchmarks/exit_time.py.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `kmc` from this checkout, whatever is installed.
KMC = [sys.executable, "-c", "from console.cli import main; main()"]

_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _controlling_tty() -> None:  # after setsid: the pty becomes this session's tty
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """`cmd` on a 120×30 pty, in a session of its own. With `controlling` the pty is the
    session's controlling terminal (closing it sends SIGHUP); without, closing it sends no
    signal, as for a process outside the session. The console reads no config file and no
    KUBECONFIG from the environment."""

    def __init__(self, cmd: list[str], controlling: bool = True) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "KMC_CONFIG": "/nonexistent/kmc.toml"}
        env.pop("KUBECONFIG", None)
        self.proc = subprocess.Popen(
            cmd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_controlling_tty if controlling else None,
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
        """Everything shown so far, escape sequences removed."""
        with self._lock:
            return _ANSI.sub(b"", self.output).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        """Until `needle` is shown (asserted), or the process ended."""
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
        """The process and every process below it (read while they are all still there)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def kill(self) -> None:
        """SIGKILL to the whole family, then close the terminal."""
        for pid in self.family():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self.close_terminal()


def until(check: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Poll `check` every `poll` seconds until it holds or `timeout` passes; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(poll)
    return check()


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from one scan of /proc."""
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
    """Does `pid` still run? A zombie has exited; only its parent's wait is missing."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
