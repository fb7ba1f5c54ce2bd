"""The `kmc` command line: the console, the demo, the simulated cluster.

Options are parsed into one frozen `ConsoleOptions`; `kmc` and `kmc demo` share the
decorators of the options they have in common.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from console import __version__
from console.config import TELEMETRY_SOURCES
from console.sim import PRESETS, SCENARIOS

if TYPE_CHECKING:
    from console.shutdown import ExitGuard

F = TypeVar("F", bound=Callable[..., Any])


class _Fail(Exception):
    """A one-line error for stderr; exit code 1."""


@dataclass(frozen=True)
class ConsoleOptions:
    """What the command line says; None where it says nothing (settings decide)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool | None = None
    theme: str | None = None
    read_only: bool | None = None
    prometheus_url: str | None = None
    telemetry_source: str | None = None
    mlflow_tracking_uri: str | None = None

    def layer(self) -> dict[str, object]:
        """The command-line layer of the settings (only what was given)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def given(self, **changes: object) -> ConsoleOptions:
        """A copy with the `changes` that are not None."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _theme_names() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    from themes import THEMES

    return sorted(THEMES) + sorted(set(BUILTIN_THEMES) - set(THEMES))


class _ThemeChoice(click.Choice):
    """The theme names, looked up only when a `--theme` is checked: importing Textual's
    themes costs ~0.1 s that the headless commands do not pay."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(_theme_names())


class _Group(click.Group):
    """`kmc`: a usage error on a command line naming a headless command exits 3 with one
    line, as that command's own usage errors do (`kmc` and `kmc demo` keep click's 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from console.headless.commands import as_headless, names_headless

        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if names_headless(args):
                raise as_headless(exc) from None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        from console.headless.commands import HEADLESS, as_headless

        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.invoked_subcommand in HEADLESS:
                raise as_headless(exc) from None
            raise


def _display_options(func: F) -> F:
    """Theme, read-only and telemetry source: for `kmc` and `kmc demo`."""
    decorators = [
        click.option(
            "--theme",
            default=None,
            type=_ThemeChoice(),
            metavar="NAME",
            help="kmc-dark | kmc-light | kmc-high-contrast | kmc-colorblind | a Textual theme.",
        ),
        click.option(
            "--read-only", "read_only", is_flag=True, default=None, help="Never change anything."
        ),
        click.option(
            "--telemetry",
            "telemetry_source",
            type=click.Choice(TELEMETRY_SOURCES),
            default=None,
            help="GPU telemetry source: auto (Prometheus if found, else the DCGM exporters), "
            "prometheus, dcgm (scrape the exporters through the API server), none.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _preset_option(func: F) -> F:
    return click.option(
        "--preset",
        default="demo",
        show_default=True,
        type=click.Choice(list(PRESETS)),
        help="Cluster size: " + "; ".join(f"{k}: {v}" for k, v in PRESETS.items()),
    )(func)


def _scenario_option(func: F) -> F:
    return click.option(
        "--scenario",
        default=None,
        type=click.Choice(list(SCENARIOS)),
        help="A named incident on a small healthy GPU cluster (instead of --preset): "
        + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()),
    )(func)


def _check_scenario(ctx: click.Context, scenario: str | None) -> None:
    """A scenario builds its own cluster: `--preset` given with it is a usage error."""
    from click.core import ParameterSource

    if scenario and ctx.get_parameter_source("preset") not in (None, ParameterSource.DEFAULT):
        raise click.UsageError("--preset and --scenario cannot be used together", ctx)


def _seed_option(func: F) -> F:
    return click.option(
        "--seed", default=1, show_default=True, type=int, help="One seed fixes the whole cluster."
    )(func)


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="kmc")
@click.option(
    "--kubeconfig",
    default=None,
    type=click.Path(dir_okay=False),
    help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
)
@click.option("--context", default=None, help="Kube context (default: the current one).")
@click.option("-n", "--namespace", default=None, help="Show only this namespace.")
@click.option(
    "-A", "--all-namespaces", "all_namespaces", is_flag=True, default=None, help="All namespaces."
)
@click.option(
    "--prometheus-url",
    "prometheus_url",
    default=None,
    metavar="URL",
    help="Prometheus with DCGM metrics (default: $PROMETHEUS_URL, else found in the cluster).",
)
@click.option(
    "--mlflow-uri",
    "mlflow_tracking_uri",
    default=None,
    metavar="URI",
    help="MLflow tracking URI for the jobs' runs (default: $MLFLOW_TRACKING_URI; "
    "kmc demo: a fresh SQLite store the simulated jobs log to).",
)
@_display_options
@click.pass_context
def main(ctx: click.Context, **given: Any) -> None:
    """kube-ml-console: GPU nodes, training jobs and model servers of a Kubernetes cluster.

    Without a command, opens the console on the current kubeconfig context.
    """
    from console.redact import redact_log_records

    redact_log_records()  # whatever logs, wherever it goes: no credentials in it
    options = ConsoleOptions(**given)
    if options.namespace and options.all_namespaces:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces exclude each other")
    ctx.obj = options
    if ctx.invoked_subcommand is None:
        ctx.exit(run_console(options))


def run_console(options: ConsoleOptions, guard: ExitGuard | None = None) -> int:
    """Resolve settings, connect, run the app; one-line errors on stderr with exit code 1.

    `guard` (made here when not given) is the process's hard exit deadline: from the first
    quit, hang-up or SIGTERM the process is gone within it, whatever the cluster does."""
    from console.shutdown import ExitGuard

    if guard is None:
        guard = ExitGuard()
        guard.install(None)  # until the app runs, a hang-up or SIGTERM ends us at once
    try:
        return _run(options, guard)
    except _Fail as exc:
        click.echo(f"kmc: {exc}", err=True)
        return 1


def _run(options: ConsoleOptions, guard: ExitGuard) -> int:
    from console.config import ConfigError, load_settings

    try:
        settings = load_settings(options.layer())
    except ConfigError as exc:
        raise _Fail(str(exc)) from None
    _check_theme(settings.theme)
    from console.cluster.connection import ClusterError, connect

    try:
        connection = connect(settings.kubeconfig, settings.context, probe=True)
    except ClusterError as exc:
        raise _Fail(str(exc)) from None
    if settings.context is None and connection.context:
        try:  # apply the config file's section for the kubeconfig's current context
            settings = load_settings(options.layer(), current_context=connection.context)
        except ConfigError as exc:
            raise _Fail(str(exc)) from None
    from console.app import KmcApp

    app = KmcApp(
        settings, connection, handle_signals=True, cli_layer=options.layer(), exit_guard=guard
    )
    app.run()
    return app.return_code or 0


def _check_theme(name: str) -> None:
    """The settings file or KMC_THEME may name a theme the command line never saw."""
    if name not in _theme_names():
        from themes import THEMES

        known = ", ".join(sorted(THEMES))
        raise _Fail(f"unknown theme {name!r}; choose from {known} or a Textual theme")


@main.command()
@_preset_option
@_scenario_option
@_seed_option
@_display_options
@click.pass_context
def demo(
    ctx: click.Context,
    preset: str,
    scenario: str | None,
    seed: int,
    theme: str | None,
    read_only: bool | None,
    telemetry_source: str | None,
) -> None:
    """Start the simulated GPU cluster in a child process and open the console on it.

    Quitting the console stops the simulator; so does a crash or a hang-up. GPU telemetry
    comes straight from the simulated DCGM exporters (through the API server's pod proxy).
    """
    from console.shutdown import ExitGuard
    from console.sim.process import start_process

    _check_scenario(ctx, scenario)
    guard = ExitGuard()
    guard.install(None)  # a hang-up while the simulator starts: both gone at once
    what = f"scenario {scenario}" if scenario else f"preset {preset}"
    click.echo(f"kmc: starting the simulated cluster ({what}, seed {seed})…", err=True)
    parent: ConsoleOptions = ctx.obj or ConsoleOptions()
    store = _demo_mlflow_store(parent)
    try:
        sim = start_process(preset=preset, seed=seed, mlflow_uri=store.uri, scenario=scenario)
    except (RuntimeError, OSError, ValueError) as exc:
        click.echo(f"kmc: the simulated cluster did not start: {exc}", err=True)
        store.cleanup()
        ctx.exit(1)
    guard.add_cleanup(lambda: sim.stop(timeout=0.3))  # no orphan simulator, ever
    guard.add_cleanup(store.cleanup)  # the demo's MLflow store goes with it
    try:
        options = ConsoleOptions(telemetry_source="dcgm").given(**parent.layer())
        options = options.given(
            kubeconfig=str(sim.kubeconfig),
            context="kmc-sim",
            theme=theme,
            read_only=read_only,
            telemetry_source=telemetry_source,
            mlflow_tracking_uri=store.uri,
        )
        code = run_console(options, guard)
    finally:
        sim.stop()
        store.cleanup()
    ctx.exit(code)


@dataclass
class _DemoStore:
    uri: str
    tmp: Any = None

    def cleanup(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _demo_mlflow_store(options: ConsoleOptions) -> _DemoStore:
    """Where the demo's jobs log their runs: the URI the user gave (option or environment),
    else a fresh SQLite store in a temporary directory, removed on exit."""
    import os
    import tempfile

    given = (
        options.mlflow_tracking_uri
        or os.environ.get("KMC_MLFLOW_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
    )
    if given:
        return _DemoStore(given)
    tmp = tempfile.TemporaryDirectory(prefix="kmc-demo-mlflow-")
    return _DemoStore(f"sqlite:///{tmp.name}/mlflow.db", tmp)


@main.group()
def sim() -> None:
    """The simulated GPU cluster (speaks the real Kubernetes API)."""


@sim.command("serve")
@_preset_option
@_scenario_option
@_seed_option
@click.option("--port", default=0, type=int, help="API server port (default: a free one).")
@click.option(
    "--metrics-port", default=0, type=int, help="Plain-HTTP DCGM endpoint port for Prometheus."
)
@click.option("--speed", default=1.0, show_default=True, type=float, help="Sim clock speed factor.")
@click.option(
    "--kubeconfig-out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the kubeconfig.",
)
@click.option("--json", "as_json", is_flag=True, help="Announce readiness as one JSON line.")
@click.option(
    "--mlflow-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking URI the training jobs log their runs to (default: none).",
)
@click.pass_context
def sim_serve(
    ctx: click.Context,
    preset: str,
    scenario: str | None,
    seed: int,
    port: int,
    metrics_port: int,
    speed: float,
    kubeconfig_out: str | None,
    as_json: bool,
    mlflow_uri: str | None,
) -> None:
    """Serve the simulated cluster in the foreground; Ctrl-C stops it."""
    from console.sim.process import serve_command

    _check_scenario(ctx, scenario)
    serve_command(
        preset, seed, port, kubeconfig_out, speed, metrics_port, as_json, mlflow_uri, scenario
    )


@main.command("audit")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: aligned columns; json: one JSON object per line, as stored.",
)
@click.option(
    "--file",
    "path",
    default=None,
    type=click.Path(dir_okay=False),
    help="The audit log (default: the audit_log setting, else $XDG_STATE_HOME/kmc/audit.jsonl).",
)
@click.option("--last", default=0, type=click.IntRange(min=0), help="Only the last N records.")
def audit(output: str, path: str | None, last: int) -> None:
    """Print the audit log: every write the console made, and its outcome."""
    import json

    from console.cluster.audit import AuditError, AuditLog, default_audit_path, table_lines

    if path is None:
        from console.config import ConfigError, load_settings

        try:
            path = load_settings().audit_log
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    log = AuditLog(path or default_audit_path())
    try:
        entries = log.entries()
    except AuditError as exc:
        raise click.ClickException(str(exc)) from None
    if last:
        entries = entries[-last:]
    if output == "json":
        for entry in entries:
            click.echo(json.dumps(entry, ensure_ascii=False))
        return
    if not entries:
        click.echo(f"no actions recorded in {log.path}", err=True)
        return
    for line in table_lines(entries):
        click.echo(line)


def _register_headless() -> None:
    from console.headless.commands import register

    register(main)


_register_headless()
