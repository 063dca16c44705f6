"""`b8760 demo`: the platform's main job on the local stack, end to end, for a new user."""

import subprocess
import sys
from pathlib import Path

import click

from b8760_assets import local_stack, settings
from b8760_assets.config import load_platform
from b8760_assets.meter_registry import METERS_TABLE
from b8760_assets.warehouse import WarehouseResource

DEFINITIONS_MODULE = "b8760_assets.definitions"


def heading(text: str) -> None:
    click.secho(f"\n== {text}", bold=True)


def dagster(*args: str) -> None:
    """Run the dagster CLI of this environment; its runs land in $DAGSTER_HOME's instance."""
    command = [str(Path(sys.executable).parent / "dagster"), *args]
    click.echo("$ dagster " + " ".join(args))
    if subprocess.run(command, check=False).returncode != 0:
        raise click.ClickException(f"dagster {' '.join(args)} failed (see its output above)")


@click.command()
def demo() -> None:
    """Start the local stack, check the sample platform, materialize the platform's assets."""
    heading("local stack")
    for service in local_stack.start_all():
        click.echo(f"{service.name:<9} {service.url}")

    heading(f"platform configuration: {settings.platform_dir()}")
    platform = load_platform(settings.platform_dir())
    click.echo(
        f"{len(platform.connectors)} connectors ({', '.join(platform.connectors)}), "
        f"{len(platform.participants)} participants, {len(platform.meters)} meters"
    )

    heading("definitions and the main job")
    dagster("definitions", "validate", "-m", DEFINITIONS_MODULE)
    dagster("asset", "materialize", "-m", DEFINITIONS_MODULE, "--select", "*")

    heading("warehouse")
    rows = WarehouseResource().query(
        f"SELECT connector, COUNT(*) AS meters FROM {METERS_TABLE} GROUP BY connector"
        " ORDER BY connector"
    )
    for row in rows:
        click.echo(f"{row['connector']:<12} {row['meters']} meters")

    heading("where to look")
    bigquery_url = local_stack.ensure_running("bigquery")
    click.echo("Dagster UI:    make dev, then http://127.0.0.1:3000 (runs are in $DAGSTER_HOME)")
    click.echo("Local stack:   .venv/bin/b8760 local status   (stop it with: make stop)")
    click.echo(f"Warehouse:     table {METERS_TABLE} in the BigQuery emulator at {bigquery_url}")
