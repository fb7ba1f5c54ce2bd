"""The `:` command grammar and the command palette provider that offers the same commands.

:nodes  :jobs  :servers  :pods     switch view (aliases: no, pj, svc, isvc, po, …)
:gpumap                            the GPU heatmap (aliases: map, heatmap)
:ctx [name]                        switch kube context (no name: pick from a list)
:ns [name|all]                     namespace filter (no name: pick from a list)
:help  :q
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

if TYPE_CHECKING:
    from console.app import KmcApp

ALIASES: dict[str, str] = {
    "nodes": "nodes", "node": "nodes", "no": "nodes", "gpu": "nodes", "gpus": "nodes",
    "jobs": "jobs", "job": "jobs", "pytorchjobs": "jobs", "pj": "jobs", "trainjobs": "jobs",
    "servers": "servers", "server": "servers", "svc": "servers", "isvc": "servers",
    "inferenceservices": "servers",
    "pods": "pods", "pod": "pods", "po": "pods",
    "gpumap": "gpumap", "map": "gpumap", "heatmap": "gpumap", "gpu-map": "gpumap",
    "ctx": "ctx", "context": "ctx", "contexts": "ctx",
    "ns": "ns", "namespace": "ns", "namespaces": "ns",
    "q": "quit", "q!": "quit", "quit": "quit", "exit": "quit",
    "help": "help", "?": "help",
}  # fmt: skip

COMMAND_WORDS = ("nodes", "jobs", "servers", "pods", "gpumap", "map", "ctx", "ns", "help", "quit")


@dataclass(frozen=True)
class Command:
    """A parsed command line: `verb` is canonical (nodes, ctx, quit, …), `arg` may be ''."""

    verb: str
    arg: str = ""


def parse_command(text: str) -> Command | None:
    """`"ns kube-system"` → Command("ns", "kube-system"); None for an unknown verb."""
    words = text.strip().lstrip(":").split(None, 1)
    if not words:
        return None
    verb = ALIASES.get(words[0].casefold())
    if verb is None:
        return None
    return Command(verb, words[1].strip() if len(words) > 1 else "")


@dataclass(frozen=True)
class PaletteEntry:
    text: str
    help: str
    run: Callable[[], object]


def _highlight(provider: Provider, query: str, text: str) -> tuple[float, Content]:
    """Score and highlight `text` without ever parsing it as markup."""
    matcher = provider.matcher(query)
    score, offsets = matcher.fuzzy_search.match(query, text)
    content = Content(text)
    for offset in offsets:
        content = content.stylize("bold reverse", offset, offset + 1)
    return score, content


class KmcCommands(Provider):
    """Views, contexts, namespaces and toggles, for Textual's command palette (ctrl+p)."""

    @property
    def kmc(self) -> KmcApp:
        return self.app  # type: ignore[return-value]

    def _entries(self) -> Iterator[PaletteEntry]:
        yield from self.kmc.palette_entries()

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(Content(entry.text), entry.run, text=entry.text, help=entry.help)

    async def search(self, query: str) -> Hits:
        for entry in self._entries():
            score, display = _highlight(self, query, entry.text)
            if score > 0:
                yield Hit(score, display, entry.run, text=entry.text, help=entry.help)


VIEW_HELP = {
    "nodes": "Show GPU nodes",
    "jobs": "Show training jobs",
    "servers": "Show model servers",
    "pods": "Show GPU pods",
    "gpumap": "GPU map: every GPU's utilization as a heatmap",
}


def palette_entries(app: KmcApp) -> Iterator[PaletteEntry]:
    """The palette's entries: views, contexts, namespaces, toggles, help, quit."""
    for view, text in VIEW_HELP.items():
        yield PaletteEntry(
            f":{view}",
            text,
            lambda v=view: app.run_worker(app.show_view(v), group="view", exclusive=True),
        )
    names, _ = app.contexts()
    for name in names:
        yield PaletteEntry(
            f":ctx {name}",
            "Switch context to " + escape(name),
            lambda n=name: app.run_worker(app.switch_context(n), exclusive=True, group="ctx"),
        )
    yield PaletteEntry(":ns all", "Show all namespaces", lambda: app.set_namespace("all"))
    for ns in app.session.namespaces() if app.session else []:
        yield PaletteEntry(
            f":ns {ns}", "Only namespace " + escape(ns), lambda n=ns: app.set_namespace(n)
        )
    yield PaletteEntry("toggle CPU nodes", "Show or hide CPU-only nodes (c)", app._toggle_cpu)
    yield PaletteEntry(
        ":help",
        "Keys of the current view",
        lambda: app.show_help(getattr(app.screen, "view_name", "")),
    )
    yield PaletteEntry(":q", "Quit", lambda: app.exit(0))
