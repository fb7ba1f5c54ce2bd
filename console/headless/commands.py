"""The headless subcommands of `kmc`: `nodes`, `jobs`, `servers`, `pods`, `gpus`, `triage`.

Each takes `-o table|wide|json`, `--kubeconfig`, `--context`, `-n/--namespace`,
`-A/--all-namespaces` (here or on `kmc` itself, like kubectl) and the telemetry options,
lists what it needs once (`console.headless.load`) and prints the render layer's rows.
Exit codes: 0 done (`triage`: 0 no findings, 1 warnings only, 2 any critical); 3 for a
bad flag, a bad kubeconfig or context, an unreachable cluster — with exactly one line on
stderr. `register(group)` adds them to the `kmc` group. No Textual on this path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

USAGE_EXIT = 3
HEADLESS = ("nodes", "jobs", "servers", "pods", "gpus", "triage")
OUTPUTS = ("table", "wide", "json")

HELP = {
    "nodes": "List the GPU nodes (the console's nodes view).",
    "jobs": "List the training jobs (the console's jobs view).",
    "servers": "List the model servers (the console's servers view).",
    "pods": "List the GPU pods (the console's pods view).",
    "gpus": "List every GPU of every GPU node, from telemetry.",
    "triage": "Rank what is wrong now: exit 0 none, 1 warnings, 2 critical (3: cannot run).",
}


class HeadlessUsageError(click.ClickException):
    """A usage error of a headless command: one line on stderr, exit code 3."""

    exit_code = USAGE_EXIT

    def show(self, file: Any = None) -> None:
        message = " ".join(self.format_message().split())
        click.echo(f"kmc: {message}", err=True)


def as_headless(exc: click.UsageError) -> HeadlessUsageError:
    return HeadlessUsageError(exc.format_message())


class HeadlessCommand(click.Command):
    """A command whose usage errors exit 3 with one line (click's default is 2 and a usage
    block)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra):  # type: ignore[no-untyped-def]
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise as_headless(exc) from None


def names_headless(args: Sequence[str]) -> bool:
    """The command line names a headless command (a group usage error then exits 3)."""
    return any(arg in HEADLESS for arg in args)


def _options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "-o",
            "--output",
            type=click.Choice(OUTPUTS),
            default="table",
            show_default=True,
            help="table: the default columns; wide: all columns; json: the rows as data.",
        ),
        click.option(
            "--kubeconfig",
            default=None,
            type=click.Path(dir_okay=False),
            help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
        ),
        click.option("--context", default=None, help="Kube context (default: the current one)."),
        click.option("-n", "--namespace", default=None, help="Only this namespace."),
        click.option(
            "-A",
            "--all-namespaces",
            "all_namespaces",
            is_flag=True,
            default=None,
            help="All namespaces (the default unless settings name one).",
        ),
        click.option(
            "--telemetry",
            "telemetry_source",
            type=click.Choice(("auto", "prometheus", "dcgm", "none")),
            default=None,
            help="GPU telemetry source (as for kmc).",
        ),
        click.option(
            "--prometheus-url",
            "prometheus_url",
            default=None,
            metavar="URL",
            help="Prometheus with DCGM metrics (default: $PROMETHEUS_URL, else found).",
        ),
        click.option(
            "--mlflow-uri",
            "mlflow_tracking_uri",
            default=None,
            metavar="URI",
            help="MLflow tracking URI (jobs, triage; default: $MLFLOW_TRACKING_URI).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _layer(ctx: click.Context, given: dict[str, Any]) -> dict[str, object]:
    """The command-line settings layer: the group's options, then this command's (which
    win; `-n` here drops a `-A` given to the group and the other way round)."""
    parent = ctx.obj
    layer: dict[str, object] = dict(parent.layer()) if parent is not None else {}
    if given.get("namespace") and given.get("all_namespaces"):
        raise HeadlessUsageError("-n/--namespace and -A/--all-namespaces exclude each other")
    if given.get("namespace"):
        layer.pop("all_namespaces", None)
    if given.get("all_namespaces"):
        layer.pop("namespace", None)
    layer.update({k: v for k, v in given.items() if v is not None})
    return layer


def register(group: click.Group) -> None:
    """Add the headless commands to `group` (the `kmc` group)."""
    for name in HEADLESS:
        group.add_command(_make(name))


def _make(name: str) -> click.Command:
    @click.command(
        name,
        cls=HeadlessCommand,
        help=HELP[name],
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @_options
    def command(**given: Any) -> None:
        ctx = click.get_current_context()
        output = given.pop("output")
        layer = _layer(ctx, given)
        from console.headless.run import run

        ctx.exit(run(name, output, layer))

    return command
