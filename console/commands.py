"""The one command registry: every `:` command with its aliases, help, the views it applies
to and its handler. It feeds the `:` bar (parsing and completion), the command palette
(`KmcCommands`) and the `?` help; nothing else lists commands.

Handlers take the `console.host.Host` (the app as screens see it) and the argument text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from console.host import Host
from console.text import clean_line

Handler = Callable[[Host, str], Awaitable[None] | None]
Choices = Callable[[Host], Iterable[tuple[str, str]]]
"""`(argument, help)` pairs the palette offers for a command (contexts, namespaces)."""

TABLE_VIEWS = ("nodes", "jobs", "servers", "pods")
VIEWS = (*TABLE_VIEWS, "gpumap", "triage")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Handler
    aliases: tuple[str, ...] = ()
    args: str = ""
    """Usage of the argument, e.g. `[name|all]` ('' when it takes none)."""
    views: tuple[str, ...] = ()
    """Views where it applies (empty: everywhere)."""
    choices: Choices | None = None
    writes: bool = False
    """It changes the cluster: not offered (help, palette) on a read-only connection."""

    @property
    def usage(self) -> str:
        return f":{self.name}" + (f" {self.args}" if self.args else "")

    def applies(self, view: str) -> bool:
        return not self.views or view in self.views


def _view(name: str) -> Handler:
    def run(host: Host, _arg: str) -> None:
        host.open_view(name)

    return run


def _act(verb: str) -> Handler:
    def run(host: Host, arg: str) -> None:
        host.perform(verb, arg)

    return run


def read_only(host: Host) -> bool:
    """Whether the host's connection refuses writes (write commands are then not offered)."""
    return bool(getattr(getattr(host.session, "connection", None), "read_only", False))


def _ns(host: Host, arg: str) -> None:
    if arg:
        host.set_namespace(arg)
    else:
        host.pick_namespace()


def _ctx(host: Host, arg: str) -> None:
    if arg:
        host.open_context(arg)
    else:
        host.pick_context()


def _help(host: Host, _arg: str) -> None:
    host.show_help(getattr(getattr(host, "screen", None), "view_name", ""))


def _ns_choices(host: Host) -> Iterator[tuple[str, str]]:
    yield "all", "Show all namespaces"
    for name in host.session.namespaces() if host.session else []:
        yield name, f"Only namespace {name}"


def _ctx_choices(host: Host) -> Iterator[tuple[str, str]]:
    for name in host.contexts()[0]:
        yield name, f"Switch context to {name}"


def _timeslice_choices(host: Host) -> Iterator[tuple[str, str]]:
    yield "", "choose a device-plugin config for the selected GPU node"
    yield "off", "remove the node's config label (the default config)"
    for name in host.timeslice_names():
        yield name, f"switch the selected GPU node to device-plugin config {name}"


COMMANDS: tuple[Command, ...] = (
    Command("nodes", "GPU nodes", _view("nodes"), ("node", "no", "gpu", "gpus")),
    Command("jobs", "training jobs", _view("jobs"), ("job", "pytorchjobs", "pj", "trainjobs")),
    Command(
        "servers", "model servers", _view("servers"),
        ("server", "svc", "isvc", "inferenceservices"),
    ),
    Command("pods", "GPU pods", _view("pods"), ("pod", "po")),
    Command(
        "gpumap", "GPU map: every GPU's utilization, grouped by pool and node", _view("gpumap"),
        ("map", "heatmap", "gpu-map"),
    ),
    Command(
        "triage", "what is wrong now, ranked (Enter: go to the object, where its action's key"
        " works)", _view("triage"), ("tr", "findings"),
    ),
    Command(
        "ctx", "switch kube context (no name: choose)", _ctx, ("context", "contexts"),
        "[name]", choices=_ctx_choices,
    ),
    Command(
        "ns", "namespace filter (no name: choose)", _ns, ("namespace", "namespaces"),
        "[name|all]", choices=_ns_choices,
    ),
    Command(
        "cpu", "show or hide CPU-only nodes", lambda host, _arg: host.toggle_cpu_nodes(),
        ("cpunodes",), views=("nodes",),
    ),
    Command(
        "logs", "logs of the selected pod, job or server, or of NAME (-p: previous container)",
        lambda host, arg: host.open_logs(arg), ("log", "lo"), "[pod|job/NAME|server/NAME] [-p]",
    ),
    Command("cordon", "mark the selected node unschedulable (confirmed)", _act("cordon"),
            views=("nodes",), writes=True),
    Command("uncordon", "mark the selected node schedulable again", _act("uncordon"),
            views=("nodes",), writes=True),
    Command("scale", "set replicas of the selected job's workers or server (MIN..MAX for"
            " an InferenceService)", _act("scale"), args="N", views=("jobs", "servers"),
            writes=True),
    Command("suspend", "suspend the selected training job (its pods are deleted)",
            _act("suspend"), views=("jobs",), writes=True),
    Command("resume", "resume the selected suspended training job", _act("resume"),
            views=("jobs",), writes=True),
    Command("restart", "restart the selected pod (delete it; its controller recreates it)",
            _act("restart"), views=("pods",), writes=True),
    Command("delete", "delete the selected training job (pods: restart)", _act("delete"),
            views=("jobs", "pods"), writes=True),
    Command("drain", "cordon the selected node, then evict its pods (DaemonSet pods stay;"
            " kubectl's --force, --delete-emptydir-data, --grace-period=N, --timeout=5m)",
            lambda host, arg: host.open_drain(arg), args="[NODE] [--force …]",
            views=("nodes",), writes=True),
    Command("timeslice", "GPU time-slicing of the selected node: a device-plugin config, or"
            " off (no name: choose)", lambda host, arg: host.open_timeslice(arg),
            ("timeslicing", "ts"), "[CONFIG|off]", views=("nodes",),
            choices=_timeslice_choices, writes=True),
    Command("help", "keys and commands of this view", _help, ("?",)),
    Command("q", "quit", lambda host, _arg: host.exit(0), ("quit", "q!", "exit")),
)  # fmt: skip

_BY_WORD: dict[str, Command] = {
    word: command for command in COMMANDS for word in (command.name, *command.aliases)
}


def parse_command(text: str) -> tuple[Command, str] | None:
    """`"ns kube-system"` → (the ns command, "kube-system"); None for an unknown word."""
    words = text.strip().lstrip(":").split(None, 1)
    if not words:
        return None
    command = _BY_WORD.get(words[0].casefold())
    if command is None:
        return None
    return command, words[1].strip() if len(words) > 1 else ""


async def run_command(host: Host, text: str) -> bool:
    """Run one `:` line; False (and nothing done) when the word is unknown."""
    parsed = parse_command(text)
    if parsed is None:
        return False
    command, arg = parsed
    result = command.run(host, arg)
    if result is not None:
        await result
    return True


def completion_words() -> list[str]:
    """Words the `:` bar completes: the command names (aliases are accepted, not offered)."""
    return [c.name for c in COMMANDS]


def argument_words(host: Host, view: str) -> list[str]:
    """Whole `command argument` lines the `:` bar suggests in `view` (`timeslice any`):
    the device plugin's config names in the nodes view, none on a read-only connection."""
    if view != "nodes" or read_only(host):
        return []
    return [f"timeslice {name}" for name in ("off", *host.timeslice_names())]


def help_rows(view: str, writes: bool = True) -> list[tuple[str, str]]:
    """`(usage, help)` of the commands that apply in `view` (without the write commands
    when `writes` is False: a read-only context)."""
    return [(c.usage, c.help) for c in COMMANDS if c.applies(view) and (writes or not c.writes)]


@dataclass(frozen=True)
class PaletteEntry:
    text: str
    help: str
    run: Callable[[], object]


def palette_entries(host: Host, view: str = "") -> Iterator[PaletteEntry]:
    """Every command that applies in `view`, one entry per choice where it has choices."""
    writes = not read_only(host)
    for command in COMMANDS:
        if not command.applies(view) or (command.writes and not writes):
            continue
        if command.choices is None:
            yield PaletteEntry(command.usage.split(" [")[0], command.help, _runner(host, command))
            continue
        for arg, text in command.choices(host):
            # Context and namespace names are untrusted: shown cleaned, run as given.
            yield PaletteEntry(
                clean_line(f":{command.name} {arg}".rstrip()),
                clean_line(text),
                _runner(host, command, arg),
            )


def _runner(host: Host, command: Command, arg: str = "") -> Callable[[], Any]:
    def run() -> Any:
        return command.run(host, arg)

    return run


def _highlight(provider: Provider, query: str, text: str) -> tuple[float, Content]:
    """Score and highlight `text` without ever parsing it as markup."""
    matcher = provider.matcher(query)
    score, offsets = matcher.fuzzy_search.match(query, text)
    content = Content(text)
    for offset in offsets:
        content = content.stylize("bold reverse", offset, offset + 1)
    return score, content


class KmcCommands(Provider):
    """The registry's commands for Textual's command palette (ctrl+p)."""

    def _entries(self) -> Iterator[PaletteEntry]:
        host: Host = self.app  # type: ignore[assignment]
        view = getattr(self.screen, "view_name", "")
        yield from palette_entries(host, view)

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(
                Content(entry.text), entry.run, text=entry.text, help=_plain(entry.help)
            )

    async def search(self, query: str) -> Hits:
        for entry in self._entries():
            score, display = _highlight(self, query, entry.text)
            if score > 0:
                yield Hit(score, display, entry.run, text=entry.text, help=_plain(entry.help))


def _plain(text: str) -> Any:
    """A hit's help as `Content`: the palette hands a Content through `Content.from_markup`
    untouched, where a str would be parsed as markup (`[@click=app.quit]` in a context name
    would become a live action, `[/x]` an error)."""
    return Content(text)
