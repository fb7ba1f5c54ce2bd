"""The way out of the process: whatever the API server, Prometheus, MLflow or the terminal is
doing, `kmc` is gone within `EXIT_DEADLINE` seconds of a quit, a hang-up, SIGTERM or a lost
terminal.

`ExitGuard` is armed at the first exit request. The graceful path (the app unmounts, the
caches stop, `kmc demo` stops its simulator) runs as usual; should anything still run at the
deadline — a request waiting for headers, a thread stuck writing to a dead terminal, an
interpreter shutdown joining a worker — the guard runs the registered cleanups (each one
quick: kill a child), puts the terminal back when it still exists, and ends the process with
`os._exit`. A second SIGHUP/SIGTERM does the same at once.

Signals are caught with `signal.signal`, not the event loop's handlers: a handler that
only runs when the loop gets round to it is no use when the loop is what hangs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import termios
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

EXIT_DEADLINE = 1.5
"""Seconds from the first exit request to `os._exit` (the promise is 2 s; leave a margin)."""

EXIT_CODES = {signal.SIGHUP: 129, signal.SIGTERM: 143}

# What Textual turns on, turned off: mouse modes, focus events, bracketed paste, the
# kitty keyboard protocol, the alternate screen; then the cursor is shown again.
RESTORE_SEQUENCE = (
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l\x1b[?2004l"
    b"\x1b[<u\x1b[?1049l\x1b[?25h\r\n"
)


def _terminal_fd() -> int | None:
    """The terminal Textual draws on (it writes to stderr, reads stdin), if any."""
    for stream in (sys.__stderr__, sys.__stdout__, sys.__stdin__):
        try:
            if stream is not None and os.isatty(stream.fileno()):
                return stream.fileno()
        except (OSError, ValueError):
            continue
    return None


def terminal_hung_up(fd: int) -> bool:
    """Is the terminal on `fd` gone (the SSH session, the tmux pane, the pty master closed)?"""
    poller = select.poll()
    poller.register(fd, 0)  # no events asked: only HUP/ERR/NVAL are reported
    try:
        return any(
            mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in poller.poll(0)
        )
    except OSError:
        return True


class ExitGuard:
    """The hard exit deadline of one process. Create it before the TUI takes the terminal
    (it saves the terminal's modes to put them back)."""

    def __init__(self, deadline: float = EXIT_DEADLINE) -> None:
        self.deadline = deadline
        self.code: int | None = None
        self._fd = _terminal_fd()
        self._modes: list | None = None
        if self._fd is not None:
            with contextlib.suppress(termios.error, OSError):
                self._modes = termios.tcgetattr(self._fd)
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._on_request: Callable[[int], None] | None = None
        self._timer: threading.Timer | None = None
        self._watching = False

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` (quick, never blocking for long) before a hard exit: kill a child."""
        self._cleanups.append(cleanup)

    def install(self, on_request: Callable[[int], None] | None) -> None:
        """Catch SIGHUP and SIGTERM and watch the terminal for a hang-up; each asks
        `on_request(exit_code)` (from any thread) to exit gracefully and arms the deadline.
        Without `on_request` (nothing to wind down yet) they exit at once. Call from the
        main thread; calling again replaces `on_request`."""
        self._on_request = on_request
        try:
            for sig in EXIT_CODES:
                signal.signal(sig, self._on_signal)
        except ValueError:  # not the main thread: the terminal watch and `q` still work
            log.warning("exit guard: signals not caught outside the main thread")
        if self._fd is not None and not self._watching:
            self._watching = True
            threading.Thread(target=self._watch_terminal, name="kmc-tty-watch", daemon=True).start()

    def request(self, code: int) -> None:
        """Exit with `code`: gracefully if that is quick, by force at the deadline."""
        callback = self._on_request
        if callback is None:
            self.hard_exit(code)
        first = self.arm(code)
        if first:
            try:
                callback(code)
            except Exception:  # the app may be half torn down: the deadline still holds
                log.exception("exit request failed")

    def arm(self, code: int = 0) -> bool:
        """Start the deadline (once); True when this call started it."""
        with self._lock:
            if self._timer is not None:
                return False
            self.code = code
            self._timer = threading.Timer(self.deadline, self.hard_exit)
            self._timer.name = "kmc-exit-deadline"
            self._timer.daemon = True
            self._timer.start()
            return True

    def hard_exit(self, code: int | None = None) -> None:
        """Run the cleanups, restore the terminal if it is still there, `os._exit`."""
        final = self.code if code is None else code
        for cleanup in self._cleanups:
            try:
                cleanup()
            except Exception:  # nothing may stop the exit now
                pass
        self._restore_terminal()
        os._exit(final if final is not None else 0)

    # ------------------------------------------------------------ internals

    def _on_signal(self, signum: int, _frame: object) -> None:
        code = EXIT_CODES.get(signal.Signals(signum), 128 + signum)
        if self.armed:  # asked twice: no more waiting
            self.hard_exit(code)
        self.request(code)

    def _watch_terminal(self) -> None:
        """Without a SIGHUP (a process outside the terminal's session), a closed terminal
        shows as POLLHUP on its descriptor."""
        fd = self._fd
        assert fd is not None
        poller = select.poll()
        poller.register(fd, 0)
        while not self.armed:
            try:
                events = poller.poll(500)
            except OSError:
                events = [(fd, select.POLLERR)]
            if any(
                mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in events
            ):
                self.request(EXIT_CODES[signal.SIGHUP])
                return

    def _restore_terminal(self) -> None:
        fd = self._fd
        if fd is None or terminal_hung_up(fd):
            return
        with contextlib.suppress(OSError, termios.error):
            os.set_blocking(fd, False)  # a terminal that stopped reading must not hold us
            os.write(fd, RESTORE_SEQUENCE)
            if self._modes is not None:
                termios.tcsetattr(fd, termios.TCSANOW, self._modes)
