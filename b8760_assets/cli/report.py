"""`b8760 report`: a connector's completeness picture over a range of hours, as an HTML page."""

import os
from pathlib import Path

import click
import dagster as dg

from b8760_assets import settings
from b8760_assets.cli.download import utc_hour
from b8760_assets.completeness_pictures import html_page
from b8760_assets.config import load_platform
from b8760_assets.connector_report import connector_picture, pictured_meter_ids
from b8760_assets.definitions import connector_chain
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR
from b8760_assets.resources import storage_resource


def recorded_instance() -> dg.DagsterInstance:
    """The Dagster instance the runs were recorded in: $DAGSTER_HOME's, or where the Makefile
    puts it (under the local state folder)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.state_dir() / "dagster_home")
    if not (home / "dagster.yaml").is_file():
        raise click.ClickException(
            f"no Dagster instance at {home} (no dagster.yaml): set DAGSTER_HOME to the one the "
            "runs are recorded in, or run `make install`"
        )
    return dg.DagsterInstance.from_config(str(home))


@click.command()
@click.argument("connector")
@click.option("--from", "first", required=True, help="First hour (UTC), e.g. 2021-11-08T00:00:00.")
@click.option("--to", "last", required=True, help="Last hour (UTC), included.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The page to write [default: CONNECTOR-completeness.html].",
)
def report(connector: str, first: str, last: str, output: Path | None) -> None:
    """Write CONNECTOR's completeness picture from hour --from to hour --to: its meters × local
    days, coloured by the share of expected intervals present in the meter-hour objects, and
    the days whose arrival hours failed a check (from the Dagster instance)."""
    start, end = utc_hour(first, "--from"), utc_hour(last, "--to") + HOUR
    if end <= start:
        raise click.BadParameter(f"{last!r} is before {first!r}", param_hint="--to")
    platform = load_platform(settings.platform_dir())
    if connector not in platform.connectors:
        raise click.ClickException(
            f"no connector {connector!r} in {platform.root}; "
            f"the platform has {', '.join(sorted(platform.connectors))}"
        )
    layout = ConnectorLayout(platform.connectors[connector], settings.landing_bucket())
    meters = platform.meters_of(connector)
    storage = storage_resource(project=settings.gcp_project())
    check_keys = [key for asset in connector_chain(layout, meters) for key in asset.check_keys]
    with recorded_instance() as instance:
        picture = connector_picture(
            storage,
            instance,
            layout,
            meters,
            pictured_meter_ids(storage, layout, meters),
            check_keys,
            start,
            end,
        )
    path = output or Path(f"{connector}-completeness.html")
    path.write_text(html_page(picture), encoding="utf-8")
    click.echo(f"{path}: {picture.summary}")
