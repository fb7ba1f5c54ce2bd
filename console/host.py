"""`Host`: what screens and command handlers need from the application.

Screens and `console.commands` depend on this protocol, never on `console.app.KmcApp`, so
the app can import them without an import circle (an import-linter layers contract
keeps it so). `KmcApp` is the one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from console.cluster.actions import ActionRunner
    from console.cluster.session import ClusterSession
    from console.config import Settings
    from console.metrics.link import TelemetryLink
    from console.render.pipeline import RefreshPipeline, ViewRequest
    from console.tracking.link import TrackingLink
    from widgets.header import HeaderData


class Host(Protocol):
    """The application as screens and commands see it."""

    settings: Settings
    session: ClusterSession | None
    telemetry: TelemetryLink
    tracking: TrackingLink
    pipeline: RefreshPipeline | None
    namespace: str | None
    context: str
    now: Callable[[], float]
    header_clock: Callable[[], datetime] | None

    def header_data(self, view: str) -> HeaderData: ...

    def show_rows(self, request: ViewRequest | None) -> None:
        """The visible screen's table request (None: no table is visible)."""

    def hide_rows(self, owner: int) -> None:
        """The screen `owner` is covered: stop building its rows if they are the request."""

    def update_telemetry_focus(self) -> None: ...

    async def run_command(self, text: str) -> None:
        """Run one `:` command line."""

    def open_view(self, view: str) -> None:
        """Switch to a top-level view (in a worker)."""

    def show_help(self, view: str) -> None: ...

    def set_namespace(self, name: str) -> None: ...

    def pick_namespace(self) -> None: ...

    def open_context(self, name: str) -> None:
        """Switch to kube context `name` (in a worker)."""

    def pick_context(self) -> None: ...

    def contexts(self) -> tuple[list[str], str | None]: ...

    def toggle_cpu_nodes(self) -> None: ...

    def open_logs(self, spec: str = "", previous: bool = False) -> None:
        """The log screen of `spec` (`:logs` argument), else of the visible view's row."""

    def perform(self, verb: str, arg: str = "") -> None:
        """A write action (`console.screens.actions.VERBS`) on the visible view's row:
        confirmed, RBAC-checked, audited."""

    def write_runner(self) -> ActionRunner | None:
        """The write-action runner of the current connection (None: not connected)."""

    def open_drain(self, arg: str = "") -> None:
        """`:drain [NODE] [options]`: plan, confirm and follow a drain (screens.drain)."""

    def open_timeslice(self, arg: str = "") -> None:
        """`:timeslice [CONFIG|off]` on the selected GPU node (no config: the picker)."""

    def timeslice_names(self) -> list[str]:
        """The device plugin's config names for completion (cached; never blocks)."""

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None: ...
