"""The `kmc` command line: the console, the demo, the simulated cluster."""

from __future__ import annotations

import click

from console import __version__


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kmc")
@click.pass_context
def main(ctx: click.Context) -> None:
    """kube-ml-console: GPU nodes, training jobs and model servers of a Kubernetes cluster."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


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
