"""`TriageScreen`: what is wrong right now, ranked — the session's triage findings.

A `ResourceScreen` on the triage view (`console.render.triage`): its rows come from the
refresh pipeline, which evaluates the rules in its builder thread and hands back the
report beside the rows (`ViewResult.triage`). Severity then GPUs affected is the order;
the title counts each severity in its theme colour; `/` filters as elsewhere; a pane
under the table shows the selected finding's evidence and suggested action (`d` hides
it). Enter jumps to the object in its own view, the cursor on it (`JumpScreen`), where
the suggested action's key works; Esc comes back. Everything from the cluster is shown
as plain text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from console.render import VIEWS
from console.render.fmt import age
from console.render.pipeline import ViewResult
from console.render.triage import SEVERITY_HINT, TRIAGE
from console.render.triage_facts import TriageFacts
from console.screens.lines import headline, row_name, title_parts
from console.screens.resource import ResourceScreen
from console.screens.triage_jump import JumpScreen
from console.text import clean_line
from console.triage.model import SEVERITIES, Finding
from widgets.status_line import Part, StatusLine


def finding_of(row: Any) -> Finding | None:
    record = getattr(row, "record", None)
    return record if isinstance(record, Finding) else None


def counts_text(counts: dict[str, int], style: Any) -> Text:
    """`2 critical · 5 warning · 1 info`, each count in its severity's colour (`style`:
    hint → Rich style); severities with no finding are left out."""
    out = Text(end="")
    for severity in SEVERITIES:
        if counts.get(severity):
            if out.plain:
                out.append(" · ")
            out.append(f"{counts[severity]} {severity}", style(SEVERITY_HINT[severity]))
    return out


def empty_text(facts: TriageFacts | None) -> str:
    """What an empty, unfiltered triage view says: no findings, and over what."""
    if facts is None:
        return "No findings"
    telemetry = clean_line(facts.report.sources.get("telemetry", "none")) or "none"
    if telemetry.startswith("none: "):  # "none: telemetry unavailable: …" → "none (unavailable: …)"
        telemetry = f"none ({telemetry[6:].removeprefix('telemetry ')})"
    nodes = facts.gpu_nodes
    return f"No findings — {nodes} GPU node{'' if nodes == 1 else 's'}, telemetry: {telemetry}"


def evidence_text(finding: Finding, now: float, style: Any) -> Text:
    """The evidence pane: severity and title, the suggested action and its key, the object
    and how long, each evidence line."""
    ref = finding.object
    out = Text(end="")
    severity = clean_line(finding.severity)
    out.append(severity.upper(), style(SEVERITY_HINT.get(finding.severity)) + style("bold"))
    out.append("  " + clean_line(finding.title), style("bold"))
    if finding.action:  # before the evidence: on a short terminal the pane is cut
        out.append("\n→ " + clean_line(finding.action), style("bold"))
        key = clean_line(finding.action_key)
        how = f"Enter opens {clean_line(ref.view)}" + (f", then {key}" if key else "")
        out.append(f"  ({how})", style("dim"))
    where = f"\n{clean_line(ref.kind)} {clean_line(ref.label())}"
    if finding.since and now >= finding.since:
        where += f" · for {age(now - finding.since)}"
    if finding.gpus:
        where += f" · {finding.gpus:g} GPU{'' if finding.gpus == 1 else 's'}"
    out.append(where)
    for line in finding.evidence:
        out.append("\n  • " + clean_line(line))
    return out


class TriageScreen(ResourceScreen, inherit_bindings=False):
    """The ranked findings; see the module docstring. Its keys are its own (a finding is
    not a node or a job: no write or log keys here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command", "Cmd", key_display=":", tooltip="command (see below)"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="filter: regex over severity, object, title and action; ! inverts"),
        Binding("d", "evidence", "Evidence",
                tooltip="show or hide the selected finding's evidence and action"),
        Binding("y", "object('yaml')", "YAML", show=False,
                tooltip="YAML of the finding's object"),
        Binding("e", "object('events')", "Events",
                tooltip="events of the finding's object"),
        Binding("g", "object('gpus')", "GPUs", show=False,
                tooltip="the GPUs of the finding's node, its GPU selected"),
        Binding("greater_than_sign", "sort_step(1)", "Sort", show=False, key_display=">",
                tooltip="sort by the next column"),
        Binding("less_than_sign", "sort_step(-1)", "Sort back", show=False, key_display="<",
                tooltip="sort by the previous column"),
        Binding("R", "sort_reverse", "Reverse", show=False, tooltip="reverse the sort"),
        Binding("escape", "back", "Back", tooltip="clear the filter, else back"),
        Binding("m", "messages", "Messages", show=False,
                tooltip="the title, status and header lines in full"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    ]  # fmt: skip

    KEYS_DESCRIBED: ClassVar[dict[str, str]] = {
        "select_cursor": "go to the finding's object in its view, where its action's key "
        "works (Esc comes back)"
    }

    # A screen's CSS is scoped to its own type: the resource screen's rules, renamed.
    CSS = (
        ResourceScreen.CSS.replace("ResourceScreen ", "TriageScreen ")
        + """
    TriageScreen #evidence {
        height: auto; max-height: 12; padding: 0 1; border-top: solid $primary 40%;
    }
    """
    )

    RANKED = ("rank", False)
    """Not a column: the pipeline keeps the rules' ranking (severity, then GPUs)."""

    def __init__(self) -> None:
        super().__init__(next(iter(VIEWS)))
        self.view = TRIAGE
        self.sort = self.RANKED
        self.facts: TriageFacts | None = None
        self.show_evidence = True

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "empty":  # the pane sits between the table and the status line
                yield Static(id="evidence", markup=False)

    # ------------------------------------------------------------ lines around the table

    def _style(self, hint: str | None) -> Any:
        if hint in (None, "bold"):
            from rich.style import Style

            return Style(bold=True) if hint else Style()
        return self.table.get_component_rich_style(f"virtual-table--{hint}", partial=True)

    def apply_result(self, result: ViewResult) -> None:
        self.facts = result.triage or self.facts
        # A cursor on the top finding stays on the top one: a worse finding that arrives
        # (telemetry came in) is the one shown. Elsewhere it stays on its finding.
        at_top = self.table.cursor_row <= 0
        super().apply_result(result)
        if at_top and self.table.row_count:
            self.table.move_cursor(0)
        self._update_evidence()

    def on_resize(self) -> None:
        """The pane gives the table room on a short terminal (24 lines over SSH)."""
        height = self.size.height
        self.query_one("#evidence", Static).styles.max_height = 7 if height < 32 else 12

    def _update_title(self) -> None:
        parts = title_parts(self.view, None, False, "")
        facts = self.facts
        if facts is not None:
            counts = counts_text(facts.report.counts(), self._style)
            if counts.plain:
                parts.append(Part((counts,), importance=0, gap=2))
            idle = sum(facts.report.idle_gpu_hours.values())
            if idle:
                parts.append(Part.of(f"· {idle:.1f} GPU-h held idle", importance=2, gap=1))
        if self.filter_text:
            parts.append(Part.of(f"/{self.filter_text}", style="italic", cut="middle"))
        self.query_one("#title", StatusLine).set_parts(parts)

    def _update_notes(self, result: ViewResult) -> None:
        notes = result.notes
        self.query_one("#notes", Static).display = bool(notes)
        self._show_text("#notes", Text("\n".join(clean_line(n) for n in notes)))
        self.query_one("#empty", Static).display = self.shown == 0
        if self.shown == 0:
            if result.syncing and self.facts is None:
                message = "loading…"
            elif result.request.filter_text:
                message = "no findings match the filter"
            else:
                message = empty_text(self.facts)
            self._show_text("#empty", Text(message))

    def _update_status(self, literal: bool | None = None) -> None:
        if literal is not None:
            self._literal = literal
        row = self.table.current_row if self.is_mounted else None
        count = f"{self.shown}" if self.shown == self.total else f"{self.shown} of {self.total}"
        parts = [Part.of(f"{count} finding{'' if self.total == 1 else 's'}", cut="none")]
        finding = finding_of(row)
        if finding is not None:
            parts.append(Part.of(clean_line(finding.object.label()), importance=1, cut="middle"))
        elif row is not None:
            parts.append(Part.of(row_name(row), importance=1, cut="middle"))
        if self.sort != self.RANKED:
            key, reverse = self.sort
            label = next((c.label for c in self.view.columns if c.key == key), key)
            parts.append(Part.of(f"sort {label} {'↓' if reverse else '↑'}", importance=4))
        if self._literal:
            parts.append(Part.of("(filter is not a valid regex: matched literally)",
                                 "(literal filter)", importance=2))  # fmt: skip
        text, hint = self.host.telemetry.label()
        if hint in ("warn", "error"):
            text = clean_line(text)
            parts.append(Part.of(f"· {text}", f"· {headline(text)}", importance=2))
        self.query_one("#status", StatusLine).set_parts(parts)

    def on_virtual_table_row_highlighted(self, event: Any) -> None:
        super().on_virtual_table_row_highlighted(event)
        self._update_evidence()

    def _update_evidence(self) -> None:
        pane = self.query_one("#evidence", Static)
        finding = finding_of(self.table.current_row)
        pane.display = self.show_evidence and finding is not None
        if finding is not None and self.show_evidence:
            self._show_text("#evidence", evidence_text(finding, self.host.now(), self._style))

    # ------------------------------------------------------------ keys

    def action_evidence(self) -> None:
        self.show_evidence = not self.show_evidence
        self._update_evidence()

    def action_sort_step(self, step: int) -> None:
        """Through the columns and back to the ranking."""
        keys = [*self._sortable(), self.RANKED[0]]
        index = keys.index(self.sort[0]) + step if self.sort[0] in keys else 0
        key = keys[index % len(keys)]
        if key == self.RANKED[0]:  # not a column: the table marks none
            self.sort = self.RANKED
            self.table.set_columns(self._columns, self.sort)
            self._update_status()
            self._publish()
        else:
            self.action_sort_column(key, False)

    def action_drill(self) -> None:
        """Enter: the finding's object in its view, the cursor on it."""
        finding = finding_of(self._selected())
        if finding is None:
            return
        self.app.push_screen(JumpScreen(finding.object))

    def action_object(self, tab: str) -> None:
        """The finding's object's detail (YAML, events) without leaving Triage."""
        finding = finding_of(self._selected())
        session = self.host.session
        if finding is None or session is None:
            return
        ref = finding.object
        record = session.get(ref.kind, ref.key) if session.has(ref.kind) else None
        if record is None:
            shown = clean_line(ref.label())
            self.app.notify(f"{shown} is gone", severity="warning", markup=False)
            return
        from console.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(ref.kind, record, tab, gpu=ref.gpu))
