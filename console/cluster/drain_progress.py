"""A drain's progress as plain data: each pod's state and the drain's phase, snapshots that
`console.cluster.drain_run.Drain` reports and the drain screen draws. No Textual here."""

from __future__ import annotations

from dataclasses import dataclass

from console.cluster.drain import DrainPod

WAITING, EVICTING, BLOCKED, TERMINATING = "waiting", "evicting", "blocked", "terminating"
EVICTED, FAILED, LEFT = "evicted", "failed", "not evicted"
DONE_STATES = (EVICTED, FAILED, LEFT)


@dataclass(frozen=True)
class PodProgress:
    pod: DrainPod
    state: str = WAITING
    detail: str = ""
    attempts: int = 0
    retry_in: float = 0.0
    """Seconds until the next eviction attempt of a blocked pod (0: none planned)."""

    def describe(self) -> str:
        """The detail with the attempts: `PDB x: 2 healthy, 2 needed · try 3, next in 4s`."""
        if self.state == BLOCKED and self.retry_in:
            return f"{self.detail} · try {self.attempts}, next in {self.retry_in:g}s"
        if self.state == LEFT and self.attempts > 1:
            return f"{self.detail} · {self.attempts} tries"
        return self.detail

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES


@dataclass(frozen=True)
class DrainProgress:
    """A snapshot of a drain. `phase`: cordoning, evicting, done, cancelled, timed out,
    failed; `message` says why it failed or stopped."""

    node: str
    phase: str
    pods: tuple[PodProgress, ...]
    elapsed: float
    cordoned: bool = False
    message: str = ""
    stay: tuple[DrainPod, ...] = ()

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "cancelled", "timed out", "failed")

    @property
    def evicted(self) -> int:
        return sum(p.state == EVICTED for p in self.pods)

    @property
    def settled(self) -> int:
        """Pods the drain is through with (evicted or failed)."""
        return sum(p.state in (EVICTED, FAILED) for p in self.pods)

    def summary(self) -> list[str]:
        """What was evicted, what is still on the node and why: plain lines."""
        lines = [
            f"{self.node}: drain {self.phase} after {self.elapsed:.0f}s"
            + (f" — {self.message}" if self.message else "")
        ]
        lines.append(f"cordoned: {'yes' if self.cordoned else 'no'}")
        evicted = [p.pod.ref for p in self.pods if p.state == EVICTED]
        lines.append(
            f"evicted {len(evicted)} of {len(self.pods)}"
            + (": " + ", ".join(evicted) if evicted else "")
        )
        for item in self.pods:
            if item.state != EVICTED:
                lines.append(
                    f"still on the node: {item.pod.ref} ({item.state}: {item.describe() or '-'})"
                )
        if self.stay:
            lines.append(f"left in place: {len(self.stay)} DaemonSet/mirror pod(s)")
        return lines
