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
    """The simulated GPU cluster."""
