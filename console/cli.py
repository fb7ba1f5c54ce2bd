"""The `kmc` command line: the console, the demo, the simulated cluster."""

from __future__ import annotations

import click

from console import __version__

TELEMETRY_CHOICES = ("auto", "prometheus", "dcgm", "none")


class _Fail(Exception):
    """A one-line error for stderr; exit code 1."""


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--theme", default=None, help="kmc-dark | kmc-light | kmc-high-contrast | …")
@click.option("--read-only", "read_only", is_flag=True, default=None, help="Never change anything.")
@click.option(
    "--prometheus-url",
    "prometheus_url",
    default=None,
    metavar="URL",
    help="Prometheus with DCGM metrics (default: $PROMETHEUS_URL, else found in the cluster).",
)
@click.option(
    "--telemetry",
    "telemetry_source",
    type=click.Choice(TELEMETRY_CHOICES),
    default=None,
    help="GPU telemetry source: auto (Prometheus if found, else the DCGM exporters), "
    "prometheus, dcgm (scrape the exporters through the API server), none.",
)
@click.pass_context
def main(
    ctx: click.Context,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool | None,
    theme: str | None,
    read_only: bool | None,
    prometheus_url: str | None,
    telemetry_source: str | None,
) -> None:
    """kube-ml-console: GPU nodes, training jobs and model servers of a Kubernetes cluster.

    Without a command, opens the console on the current kubeconfig context.
    """
    if namespace and all_namespaces:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces exclude each other")
    options = {
        "kubeconfig": kubeconfig,
        "context": context,
        "namespace": namespace,
        "all_namespaces": all_namespaces,
        "theme": theme,
        "read_only": read_only,
        "prometheus_url": prometheus_url,
        "telemetry_source": telemetry_source,
    }
    ctx.obj = {k: v for k, v in options.items() if v is not None}
    if ctx.invoked_subcommand is None:
        ctx.exit(_console(ctx.obj))


def _console(cli: dict[str, object]) -> int:
    """Resolve settings, connect, run the app; one-line errors on stderr with exit code 1."""
    try:
        return _run(cli)
    except _Fail as exc:
        click.echo(f"kmc: {exc}", err=True)
        return 1


def _run(cli: dict[str, object]) -> int:
    from console.config import ConfigError, load_settings

    try:
        settings = load_settings(cli)
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
            settings = load_settings(cli, current_context=connection.context)
        except ConfigError as exc:
            raise _Fail(str(exc)) from None
    from console.app import KmcApp
    from themes import THEMES

    app = KmcApp(settings, connection, handle_signals=True)
    if settings.theme not in app.available_themes:
        known = ", ".join(sorted(THEMES))
        raise _Fail(f"unknown theme {settings.theme!r}; choose from {known} or a Textual theme")
    app.run()
    return app.return_code or 0


def _check_theme(name: str) -> None:
    from textual.theme import BUILTIN_THEMES

    from themes import THEMES

    if name not in THEMES and name not in BUILTIN_THEMES:
        known = ", ".join(sorted(THEMES))
        raise _Fail(f"unknown theme {name!r}; choose from {known} or a Textual theme")


@main.command()
@click.option(
    "--preset", default="demo", show_default=True, help="Cluster size: tiny | demo | large | huge."
)
@click.option("--seed", default=1, show_default=True, type=int, help="One seed fixes the cluster.")
@click.option("--theme", default=None, help="Theme (as for kmc).")
@click.option("--read-only", "read_only", is_flag=True, default=None, help="Never change anything.")
@click.option(
    "--telemetry",
    "telemetry_source",
    type=click.Choice(TELEMETRY_CHOICES),
    default=None,
    help="GPU telemetry source (default: dcgm, the simulated exporters; the demo has no "
    "Prometheus).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    preset: str,
    seed: int,
    theme: str | None,
    read_only: bool | None,
    telemetry_source: str | None,
) -> None:
    """Start the simulated GPU cluster in a child process and open the console on it.

    Quitting the console stops the simulator; so does a crash or a hang-up. GPU telemetry
    comes straight from the simulated DCGM exporters (through the API server's pod proxy).
    """
    if preset not in _preset_names():
        raise click.BadParameter(
            f"unknown preset {preset!r}; choose from {', '.join(_preset_names())}",
            param_hint="--preset",
        )
    from console.sim.process import start_process

    click.echo(f"kmc: starting the simulated cluster (preset {preset}, seed {seed})…", err=True)
    try:
        sim = start_process(preset=preset, seed=seed)
    except (RuntimeError, OSError, ValueError) as exc:
        click.echo(f"kmc: the simulated cluster did not start: {exc}", err=True)
        ctx.exit(1)
    try:
        cli = {"telemetry_source": "dcgm", **(ctx.obj or {})}
        cli.update(kubeconfig=str(sim.kubeconfig), context="kmc-sim")
        given = (("theme", theme), ("read_only", read_only), ("telemetry_source", telemetry_source))
        cli.update({k: v for k, v in given if v is not None})
        code = _console(cli)
    finally:
        sim.stop()
    ctx.exit(code)


@main.group()
def sim() -> None:
    """The simulated GPU cluster (speaks the real Kubernetes API)."""


def _preset_names() -> list[str]:
    from console.sim.presets import PRESETS

    return sorted(PRESETS)


@sim.command("serve")
@click.option("--preset", default="demo", show_default=True, help="tiny | demo | large | huge")
@click.option(
    "--seed", default=1, show_default=True, type=int, help="One seed fixes the whole cluster."
)
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
def sim_serve(
    preset: str,
    seed: int,
    port: int,
    metrics_port: int,
    speed: float,
    kubeconfig_out: str | None,
    as_json: bool,
) -> None:
    """Serve the simulated cluster in the foreground; Ctrl-C stops it."""
    from console.sim.process import serve_command

    if preset not in _preset_names():
        raise click.BadParameter(
            f"unknown preset {preset!r}; choose from {', '.join(_preset_names())}"
        )
    serve_command(preset, seed, port, kubeconfig_out, speed, metrics_port, as_json)
