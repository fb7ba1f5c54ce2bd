"""What the console benchmarks share: the console child on a pseudo-terminal, keystroke →
frame timing inside it, memory read from /proc, and percentile summaries.

`console_scale.py` and `logs.py` both run the real `KmcApp` in a child process on a
160×48 pty (`run_on_pty`), subclass it with `KeyTiming` to post keys the way the terminal
driver does and time them to the frame that shows their effect, and report with
`summary`.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import random
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Key names the terminal driver gives these characters (Textual binds by name).
_KEY_NAMES = {"/": "slash", ":": "colon", "-": "minus", ".": "full_stop"}


def _proc_status_mb(field: str, pid: int | str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int | str = "self") -> float:
    """The high-water mark of resident memory (VmHWM), in MiB."""
    return _proc_status_mb("VmHWM", pid)


def current_rss_mb(pid: int | str = "self") -> float:
    """Resident memory now (VmRSS), in MiB."""
    return _proc_status_mb("VmRSS", pid)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    """Count, p50, p99 and max, rounded to 0.1."""
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1) if values else float("nan"),
    }


def emit(result: dict[str, Any], out: str) -> None:
    """Print the benchmark's JSON result, and write it to `out` too when given."""
    text = json.dumps(result, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    print(text)


def drain(fd: int) -> None:
    """Read and drop a pty's output until it closes (a full pty blocks its writer)."""
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def run_on_pty(cmd: list[str], timeout: float, size: tuple[int, int] = (160, 48)) -> dict[str, Any]:
    """Run `cmd --report FILE` on a pseudo-terminal of `size` (columns, rows), its output
    drained, and return the JSON object it wrote to FILE."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        env.pop("KMC_STARTUP_REPORT", None)
        threading.Thread(target=drain, args=(master,), daemon=True).start()
        proc = subprocess.Popen(
            [*cmd, "--report", str(report)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
        )
        os.close(slave)
        code = proc.wait(timeout=timeout)
        os.close(master)
        if not report.exists():
            raise RuntimeError(f"the console child exited with {code} and no report")
        return json.loads(report.read_text())


class KeyTiming:
    """Mixin for a benchmark's `App` subclass (first in its bases): counts the frames written
    to the terminal and times a key from posting it, as the driver does, to the end of the
    first frame after which `shown()` holds.

    Subclasses may set `key_timeout` (a key whose effect never shows counts as that) and
    `pause_rng` (the random 30–120 ms pause after each key, as a person types).
    """

    key_timeout: float = 10.0
    pause_rng: random.Random = random.Random(0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames = 0
        self._waiter: tuple[Callable[[], bool], asyncio.Future[float]] | None = None

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)  # type: ignore[misc]
        if renderable is None or self._batch_count:  # type: ignore[attr-defined]
            return
        self.frames += 1
        waiter = self._waiter
        if waiter is not None and not waiter[1].done():
            try:
                shown = waiter[0]()
            except Exception:
                shown = False
            if shown:
                waiter[1].set_result(time.perf_counter())

    async def press(self, key: str, shown: Callable[[], bool]) -> float:
        """Post one key like the driver does; ms until a frame shows `shown()`."""
        from textual import events

        char = key if len(key) == 1 else None
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiter = (shown, future)
        event = events.Key(_KEY_NAMES.get(key, key), char)
        event.set_sender(self)  # type: ignore[arg-type]
        driver = self._driver  # type: ignore[attr-defined]
        assert driver is not None
        started = time.perf_counter()
        driver.send_message(event)
        try:
            ended = await asyncio.wait_for(asyncio.shield(future), self.key_timeout)
            ms = (ended - started) * 1000
        except TimeoutError:
            ms = self.key_timeout * 1000
        self._waiter = None
        await asyncio.sleep(self.pause_rng.uniform(0.03, 0.12))
        return ms

    async def run_and_report(
        self, steps: Callable[[], Awaitable[None]], report: dict[str, Any], path: str
    ) -> None:
        """Run the benchmark's `steps`, then write `report` to `path` as JSON and exit the
        app; an exception is reported as `error` (the parent gets a report, never a hang)."""
        try:
            await steps()
        except Exception as exc:
            report["error"] = repr(exc)
        finally:
            Path(path).write_text(json.dumps(report))
            self.exit()  # type: ignore[attr-defined]

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.02)
        return False
