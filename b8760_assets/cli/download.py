"""`b8760 download`: a participant's standardized meter-hours, by the seed's download contract:
one object printed, or a range of hours of one meter (or of all the connector's) fetched in
parallel into one CSV or Parquet file."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
import polars as pl

from b8760_assets import settings
from b8760_assets.cli.progress import progress
from b8760_assets.layout import (
    hour_of_segment,
    meter_hour_name,
)
from b8760_assets.ordered_map import ordered_map
from b8760_assets.partitions import HOUR
from b8760_assets.readings_schema import POLARS_SCHEMA
from b8760_assets.resources import storage_resource
from b8760_assets.standardized.meter_hours import (
    meter_hour_readings,
    stored_meter_hours,
    stored_meter_ids,
)
from b8760_assets.storage import ObjectMissing, StorageResource

ALL_METERS = "*"
# Time columns in the CSV as the objects write them: `2021-11-08T14:00:00Z`, fractions of a
# second only where there are some (uploaded_at).
CSV_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
OUTPUT_FORMATS = (".csv", ".parquet")


def utc_hour(text: str, param_hint: str = "HOUR") -> datetime:
    try:
        return hour_of_segment(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an hour like 2021-11-08T14:00:00 (UTC)", param_hint=param_hint
        ) from None


def meter_hours_in_range(
    storage: StorageResource,
    bucket: str,
    connector: str,
    meter_id: str,
    hours: tuple[datetime, datetime],
) -> list[str]:
    """The names of the meter's objects that exist for the hours first..last: one listing per
    meter (its folder, or every meter's of the connector for ALL_METERS)."""
    first, last = hours
    meters = stored_meter_ids(storage, bucket, connector) if meter_id == ALL_METERS else [meter_id]
    return stored_meter_hours(storage, bucket, connector, meters, first, last + HOUR)


def write_readings(rows: pl.DataFrame, output: Path) -> None:
    if output.suffix == ".csv":
        rows.write_csv(output, datetime_format=CSV_TIME_FORMAT)
    else:
        rows.write_parquet(output)


@click.command()
@click.argument("bucket")
@click.argument("connector")
@click.argument("meter_id")
@click.argument("hour")
@click.option(
    "--to", "last_hour", help="The last hour (UTC, included) of a range from HOUR; needs -o."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the readings of HOUR (to --to) to this .csv or .parquet file.",
)
@click.option(
    "--url", "url_only", is_flag=True, help="Print the JSON API URL instead of the object."
)
def download(
    bucket: str,
    connector: str,
    meter_id: str,
    hour: str,
    last_hour: str | None,
    output: Path | None,
    url_only: bool,
) -> None:
    """Print the readings of METER_ID in HOUR (UTC) from BUCKET, or write those of a range
    of hours to a file, METER_ID '*' for every meter of CONNECTOR, e.g.

    b8760 download participant_1 coned 3 2021-11-08T14:00:00

    b8760 download participant_1 coned '*' 2021-11-01T00:00:00 --to 2021-11-30T23:00:00 -o nov.csv
    """
    first = utc_hour(hour)
    storage = storage_resource(project=settings.gcp_project())
    if output is not None or last_hour is not None:
        if output is None or output.suffix not in OUTPUT_FORMATS:
            raise click.BadParameter(
                "a range is written to a file ending in .csv or .parquet", param_hint="-o"
            )
        last = first if last_hour is None else utc_hour(last_hour, "--to")
        if last < first:
            raise click.BadParameter(f"{last_hour} is before HOUR {hour}", param_hint="--to")
        download_range(storage, bucket, connector, meter_id, (first, last), output)
        return
    if meter_id == ALL_METERS:
        raise click.BadParameter("every meter ('*') needs a file: -o FILE", param_hint="METER_ID")
    name = meter_hour_name(connector, meter_id, first)
    if url_only:
        click.echo(storage.download_url(bucket, name))
        return
    try:
        click.echo(storage.read(bucket, name).data.decode())
    except ObjectMissing as error:
        raise click.ClickException(
            f"{error}: no readings of meter {meter_id} in that hour (yet)"
        ) from None


def download_range(
    storage: StorageResource,
    bucket: str,
    connector: str,
    meter_id: str,
    hours: tuple[datetime, datetime],
    output: Path,
) -> None:
    """Fetch the range's objects from max_parallel_writes threads, their readings in one
    file, and say how many of each."""
    names = meter_hours_in_range(storage, bucket, connector, meter_id, hours)
    fetched: Iterator[bytes] = ordered_map(
        lambda name: storage.read(bucket, name).data,
        names,
        workers=storage.max_parallel_writes,
        ahead=4 * storage.max_parallel_writes,
    )
    rows: list[dict] = []
    with progress(fetched, length=len(names), label=f"downloading {len(names)} meter-hours") as bar:
        for content in bar:
            rows.extend(meter_hour_readings(content))
    readings = pl.DataFrame(rows, schema=POLARS_SCHEMA)
    write_readings(readings, output)
    meters = readings["meter_id"].n_unique()
    click.echo(
        f"{len(readings)} readings of {len(names)} meter-hours ({meters} meters) "
        f"written to {output}"
    )
