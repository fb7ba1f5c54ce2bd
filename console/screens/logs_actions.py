"""What the log screen does beyond reading and showing lines: choosing the container or the
pods of a merged view, its help, and saving the lines to a file (the path confirmed in the
prompt; an existing file is overwritten only after a yes)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from console.render.logs import LogLine
from console.screens.logs_support import format_saved
from widgets.confirm import ConfirmDialog
from widgets.help import HelpScreen

if TYPE_CHECKING:
    from console.screens.logs import LogScreen

    _Base = LogScreen
else:
    _Base = object


class LogScreenActions(_Base):
    """Mixed into `LogScreen`."""

    def action_container(self) -> None:
        if self.request.merged:
            self.app.notify("one container per pod here: open a pod's logs to choose", markup=False)
            return
        if len(self.containers) < 2:
            self.app.notify("this pod has one container", markup=False)
            return
        from console.screens.pick import PickScreen

        self.app.push_screen(PickScreen("container", self.containers, self.container), self._picked)

    def _picked(self, name: str | None) -> None:
        if name and name != self.container:
            self.container = name
            self.start()

    @work(thread=True, exit_on_error=False, group="containers")
    def _load_containers(self) -> None:
        from console.cluster.logs import container_names

        session = self.host.session
        if session is None:
            return
        path = f"/api/v1/namespaces/{self.request.namespace}/pods/{self.request.pod}"
        try:
            import orjson

            pod = orjson.loads(session.connection.request("GET", path, timeout=10.0))
        except Exception:  # the list only feeds the `c` choice; the stream reports errors
            return
        names = container_names(pod) if isinstance(pod, dict) else []
        self.app.call_from_thread(setattr, self, "containers", names)

    def action_pods(self) -> None:
        if not self.request.merged:
            self.app.notify("one pod here", markup=False)
            return
        from console.screens.logs_pods import PodSubsetScreen

        self.app.push_screen(PodSubsetScreen(self.buffer), self._subset)

    def _subset(self, hidden: set[int] | None) -> None:
        if hidden is None:
            return
        self.buffer.hidden_sources = hidden
        self.log_view.replace(self.buffer.shown(), self.buffer.dropped)
        self._redraw_lines(force_pods=True)

    def action_help(self) -> None:
        from console.screens.keys import key_rows

        keys = key_rows(self.app.active_bindings.values())
        self.app.push_screen(HelpScreen([("Keys (logs)", keys)], title="Help · logs"))

    # ------------------------------------------------------------ save

    def _default_save_path(self) -> str:
        name = self.request.pod or self.request.title.split()[-1].replace("/", "_")
        return os.path.join(
            os.getcwd(), f"{name.replace('/', '_')}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        )

    def _save(self, path_text: str) -> None:
        if not path_text:
            return
        path = Path(os.path.expanduser(path_text))
        if path.is_dir():
            self.app.notify(f"save: {path} is a directory", severity="error", markup=False)
            return
        lines = self.buffer.shown()
        if path.exists():
            dialog = ConfirmDialog(
                "Overwrite file?", before=[f"{path} ({path.stat().st_size:,} bytes)"],
                after=[f"{path} ({len(lines):,} log lines)"],
            )  # fmt: skip
            self.app.push_screen(
                dialog, lambda yes: self._write(path, lines, True) if yes else None
            )
            return
        self._write(path, lines, False)

    @work(thread=True, exit_on_error=False, group="save")
    def _write(self, path: Path, lines: list[LogLine], overwrite: bool) -> None:
        names = [s.name for s in self.buffer.sources]
        try:
            with open(path, "w" if overwrite else "x", encoding="utf-8") as handle:
                for text in format_saved(lines, names, self.request.merged):
                    handle.write(text)
        except FileExistsError:
            message, severity = f"save: {path} appeared meanwhile; not overwritten", "error"
        except OSError as exc:
            message, severity = f"save: {exc.strerror or exc}: {path}", "error"
        else:
            message, severity = f"saved {len(lines):,} lines to {path}", "information"
        self.app.call_from_thread(
            self.app.notify, Text(message).plain, severity=severity, markup=False
        )
