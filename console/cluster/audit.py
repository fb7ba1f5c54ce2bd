"""The audit log: one JSON line per action and per outcome, appended to
`$XDG_STATE_HOME/kmc/audit.jsonl` (default `~/.local/state/kmc/audit.jsonl`, file 0600,
directory 0700).

    log = AuditLog(default_audit_path())
    log.append({"verb": "cordon", "object": "Node gpu-1", ...})   # raises AuditError
    log.entries()                                                 # for `kmc audit`

Each record gets `time` (UTC, ISO 8601) first; every string in it is redacted
(`console.redact`) and cleaned before it is written. `append` writes the whole line with
one `write` on an O_APPEND descriptor and fsyncs it, so concurrent consoles do not
interleave lines. A failure raises `AuditError` with a one-line message: the action
runner then refuses to act unrecorded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from console.redact import redact
from console.text import clean

AUDIT_FILE = "audit.jsonl"
MAX_READ_BYTES = 64 * 1024 * 1024
"""`entries` reads at most the last this many bytes (a log that grew for years)."""


class AuditError(Exception):
    """The audit log cannot be written (or read): one line, for the status line."""


def default_audit_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/kmc/audit.jsonl`, else `~/.local/state/kmc/audit.jsonl`."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "kmc" / AUDIT_FILE


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(clean(value))
    if isinstance(value, Mapping):
        return {_scrub(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _scrub(str(value))


class AuditLog:
    """An append-only JSON-lines file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Write `record` (time added, redacted) as one line; returns what was written."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry = {"time": now, **_scrub(dict(record))}
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                    os.fchmod(fd, 0o600)  # a file made wider by hand: private again
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(f"short write ({written} of {len(line)} bytes)")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise AuditError(f"audit log {self.path}: {reason}") from None
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every well-formed record, oldest first (malformed lines are skipped)."""
        return list(self._iter())

    def _iter(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_READ_BYTES:
                    handle.seek(size - MAX_READ_BYTES)
                    handle.readline()  # the partial first line
                data = handle.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: {exc.strerror or exc}") from None
        for raw in data.splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry


TABLE_COLUMNS = ("TIME", "CONTEXT", "USER", "VERB", "OBJECT", "CHANGE", "RESULT", "MESSAGE")


def _changes(entry: Mapping[str, Any]) -> str:
    before = entry.get("before") if isinstance(entry.get("before"), Mapping) else {}
    after = entry.get("after") if isinstance(entry.get("after"), Mapping) else {}
    return "; ".join(f"{k} {before.get(k, '')} → {after.get(k, '')}" for k in after) or "-"


def table_lines(entries: list[dict[str, Any]]) -> list[str]:
    """`kmc audit -o table`: one aligned line per record (cleaned: the file may have been
    edited by hand), the message last and unpadded."""
    from console.text import clean_line

    rows = [
        [clean_line(e.get(key, "")) or "-" for key in ("time", "context", "user", "verb", "object")]
        + [
            clean_line(_changes(e)),
            clean_line(e.get("result", "")),
            clean_line(e.get("message", "")),
        ]
        for e in entries
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(TABLE_COLUMNS)]
    lines = []
    for row in [list(TABLE_COLUMNS), *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines
