"""How talking to a cluster fails: `ClusterError` and its kinds, each a one-line message,
cleaned and redacted, and `error_for_status` for an API server's non-2xx answer."""

from __future__ import annotations

from collections.abc import Mapping

from console.cluster.kinds import decode_status
from console.redact import redact
from console.text import clean_line


class ClusterError(Exception):
    """A failure talking to the cluster. `status` is the HTTP code (0 when none)."""

    def __init__(self, message: str, status: int = 0, reason: str = "", retry_after: float = 0.0):
        super().__init__(redact(clean_line(message)))
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class KubeconfigError(ClusterError):
    """Missing or broken kubeconfig, unknown context."""


class UnreachableError(ClusterError):
    """Connection refused, DNS failure, timeout, dropped connection."""


class TLSError(UnreachableError):
    """Certificate verification or handshake failure."""


class ReadOnlyError(ClusterError):
    """A write refused because the connection is read-only (nothing was sent)."""


def error_for_status(
    status: int, body: bytes, headers: Mapping[str, str], method: str, path: str
) -> ClusterError:
    """The error for a non-2xx answer: the server's Status message (or the body's start),
    its reason, and Retry-After (429 or when the header is there)."""
    parsed = decode_status(body)
    message = (
        parsed.message
        if parsed and parsed.message
        else clean_line(body[:200].decode(errors="replace"))
    )
    reason = parsed.reason if parsed else ""
    retry_after = 0.0
    if status == 429 or "Retry-After" in headers:
        try:
            retry_after = float(headers.get("Retry-After", "1"))
        except ValueError:
            retry_after = 1.0
    prefix = {401: "unauthorized (credentials rejected)", 403: "forbidden", 404: "not found"}.get(
        status, f"HTTP {status}"
    )
    return ClusterError(
        f"{method} {path}: {prefix}: {message}" if message else f"{method} {path}: {prefix}",
        status=status,
        reason=reason,
        retry_after=retry_after,
    )
