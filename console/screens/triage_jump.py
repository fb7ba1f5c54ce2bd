"""`JumpScreen`: a resource view opened from a triage finding (Enter on Triage).

It is the object's own view (nodes, jobs, servers or pods) with every key of that view, so
the finding's suggested action (`c` cordon, `r` drain, `l` logs, `s` scale, `t` time-slice)
works on the row; the cursor goes to the object's row once the pipeline's rows hold it.
Esc goes back to Triage (the screen was pushed on top of it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from console.cluster.kinds import KINDS
from console.render import VIEWS
from console.render.base import Row, View
from console.render.pipeline import ViewResult
from console.screens.lines import title_parts
from console.screens.resource import ResourceScreen
from console.text import clean_line
from console.triage.model import ObjectRef
from widgets.status_line import Part, StatusLine


def row_keys(ref: ObjectRef) -> list[str]:
    """The keys the object's row may have in its view (`name` for a node, `ns/name` for a
    pod, `Kind/ns/name` for a job or a server)."""
    kind = KINDS.get(ref.kind)
    keys = [ref.name, f"{ref.namespace}/{ref.name}"]
    if kind is not None:
        keys.insert(0, f"{kind.kind}/{ref.namespace}/{ref.name}")
    return keys


def target_row(ref: ObjectRef, view: View, rows: Sequence[Row], index: Mapping[str, int]) -> int:
    """The position of the object's row in `rows`, or -1: by key, else by the record's
    namespace and name (of the same kind first)."""
    for key in row_keys(ref):
        position = index.get(key)
        if position is not None and position < len(rows):
            return position
    loose = -1
    for position, row in enumerate(rows):
        record = row.record
        if getattr(record, "name", None) != ref.name:
            continue
        if (getattr(record, "namespace", "") or "") != ref.namespace:
            continue
        try:
            if view.kind_of(record) == ref.kind:
                return position
        except Exception:  # an odd record: it still matches by name
            pass
        if loose < 0:
            loose = position
    return loose


class JumpScreen(ResourceScreen):
    """The object's view with the cursor on the object; see the module docstring."""

    # A screen's CSS is scoped to its own type: the resource screen's rules, renamed.
    CSS = ResourceScreen.CSS.replace("ResourceScreen ", "JumpScreen ")

    def __init__(self, target: ObjectRef) -> None:
        super().__init__(target.view if target.view in VIEWS else "pods")
        self.target = target
        self.landed = False
        """The cursor was put on the object (or it is not in the view): the user moves it."""

    def apply_result(self, result: ViewResult) -> None:
        super().apply_result(result)
        if self.landed:
            return
        position = target_row(self.target, self.view, result.rows, result.index)
        if position >= 0:
            self.landed = True
            self.table.move_to_key(result.rows[position].key)
            self._update_status()
        elif not result.syncing and not result.request.filter_text:
            self.landed = True
            shown = clean_line(self.target.label())
            self.app.notify(
                f"{shown} is not in the {self.view.title.lower()} view (gone, or hidden here)",
                severity="warning",
                markup=False,
            )

    def _update_title(self) -> None:
        parts = title_parts(self.view, self.scope, self.show_cpu_nodes, self.filter_text)
        label = "· from Triage: " + clean_line(self.target.label())
        parts.insert(1, Part.of(label, "· from Triage", importance=3, gap=1, cut="middle"))
        self.query_one("#title", StatusLine).set_parts(parts)
