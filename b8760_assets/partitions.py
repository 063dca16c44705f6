"""Arrival hours: the partitions of every connector's chain of assets, and the decorator the
chain's assets share.

One definition per connector, starting at the connector's first hour of data, shared by all
of its assets so that a single-run backfill of a range of hours is never split into chunks
(dagster-io/dagster#19625). The hour in an object name is written as the download contract
writes it (`2021-11-08T14:00:00`); the Dagster partition key as Dagster writes hourly keys
(`2021-11-08-14:00`).
"""

import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

import click
import dagster as dg

from b8760_assets.config import ConnectorProperties

if TYPE_CHECKING:
    from dagster._core.definitions.partitions.context import PartitionLoadingContext

HOUR = timedelta(hours=1)
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"


class IncompleteHourError(dg.DagsterInvalidSubsetError, click.ClickException):
    """A partition key asked for that is the current hour, or later: not a partition yet. The
    error Dagster's CLI gives for a key not in the partitions, and a ClickException so that the
    CLI prints it as one line ("Error: ...") rather than a traceback."""


def incomplete_hour_message(partition_key: str, current: datetime) -> str:
    return (
        f"partition {partition_key} is not a complete hour (the current hour, "
        f"{partition_of_hour(current)}, ends at {current + HOUR:%H:%M} UTC): an hour's files "
        f"are taken in once it has ended; end the range at {partition_of_hour(current - HOUR)} "
        "(the last complete hour) or run it later"
    )


class ArrivalHoursDefinition(dg.HourlyPartitionsDefinition):
    """Hourly partitions that say why an hour not yet over is not one of them.

    Dagster's CLI (`dagster asset materialize`, `dg launch`) checks both ends of a
    `--partition-range` with this method and, on DagsterUnknownPartitionError, names the
    range's first key whichever end failed (dagster/_cli/asset.py:180-191): an error of
    another type passes through it with the key that is wrong. Keys before the first hour or
    not hours at all keep Dagster's own error. Serialized, it is a plain time-window
    definition (its subsets go through `to_serializable_subset`, as HourlyPartitionsDefinition's
    do), so nothing outside the code location needs this class."""

    def validate_partition_key(
        self, partition_key: str, context: "PartitionLoadingContext"
    ) -> None:
        try:
            super().validate_partition_key(partition_key, context)
        except dg.DagsterUnknownPartitionError:
            current = floor_hour(context.effective_dt)
            if not _is_hour_from(partition_key, current):
                raise
            raise IncompleteHourError(incomplete_hour_message(partition_key, current)) from None


def _is_hour_from(partition_key: str, hour: datetime) -> bool:
    try:
        return hour_of_partition(partition_key) >= hour
    except ValueError:
        return False


@cache
def _arrival_hours(start: datetime) -> ArrivalHoursDefinition:
    return ArrivalHoursDefinition(
        start_date=start.strftime(PARTITION_KEY_FORMAT), fmt=PARTITION_KEY_FORMAT, timezone="UTC"
    )


def arrival_hours(connector: ConnectorProperties) -> ArrivalHoursDefinition:
    """Hourly partitions from the connector's first hour of data to the last complete hour."""
    return _arrival_hours(connector.start_hour)


def hour_of_partition(partition_key: str) -> datetime:
    return datetime.strptime(partition_key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)


def partition_of_hour(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(PARTITION_KEY_FORMAT)


def range_run_tags(first: datetime, last: datetime) -> dict[str, str]:
    """The tags of one run over the hours first..last, as a backfill with a single-run policy
    launches it (what `dagster asset materialize --partition-range` does)."""
    return {
        "dagster/asset_partition_range_start": partition_of_hour(first),
        "dagster/asset_partition_range_end": partition_of_hour(last),
    }


def record_hours(
    context: dg.AssetExecutionContext,
    busy: Mapping[datetime, Mapping[str, object]],
    idle: Mapping[str, object],
    found: Mapping[str, object],
) -> None:
    """Each hour of the run its own materialization metadata: `busy`'s for the hours that
    held data, `idle` for the others, and, when none did, `found` (what the run found: all
    nothing) on its last hour, so that every run states its figures once. Dagster copies a
    result's own metadata onto every partition of a range: a year's backfill wrote the run's
    tables and picture 8,760 times per asset (BENCHMARKS.md, benchmark 3)."""
    hours = [hour_of_partition(partition) for partition in context.partition_keys]
    if not busy and hours:
        busy = {hours[-1]: found}
    for hour in hours:
        context.add_asset_metadata(
            dict(busy.get(hour, idle)), partition_key=partition_of_hour(hour)
        )


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_of_run(context: dg.AssetExecutionContext) -> list[datetime]:
    """The arrival hours of a run, refused if the last is not over yet: an hour takes in what
    was uploaded before it ended and then freezes its manifest, so a run of the current hour
    would freeze it short. The CLI refuses such a key before a run starts
    (ArrivalHoursDefinition), but a run's range tags set by hand or through `materialize()`
    are not checked against the partitions."""
    hours = [hour_of_partition(partition) for partition in context.partition_keys]
    current = floor_hour(datetime.now(UTC))
    if hours and hours[-1] >= current:
        raise dg.Failure(incomplete_hour_message(partition_of_hour(hours[-1]), current))
    return hours


def code_reference(function: Callable[..., object]) -> dg.CodeReferencesMetadataValue:
    """Where an asset's function is defined, for the UI's link to the source. Read from its code
    object, not with `inspect` (as `dg.with_source_code_references` does): a factory's assets
    share one function, and 1,500 connectors' definitions load without reading the file. The
    classes are beta; their warning, once per asset on every CLI run, is kept quiet here."""
    code = function.__code__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(
            code_references=[
                dg.LocalFileCodeReference(
                    file_path=code.co_filename, line_number=code.co_firstlineno
                )
            ]
        )


def chain_asset(
    connector: ConnectorProperties,
    name: str,
    *,
    checks: Sequence[tuple[str, str]],
    description: str,
    kinds: set[str],
    deps: Sequence[dg.AssetKey] = (),
    column_schema: dg.TableSchema | None = None,
    pool: str | None = None,
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """The decorator every asset of a connector's chain shares: its group, its arrival-hour
    partitions, ranges of hours in one run, its data-quality checks (name, description),
    the columns of what it writes, if it writes rows (the asset's Columns tab), the
    concurrency pool of a shared service it must not overload, its owner (the participant
    that operates the connector) and a link to its source.

    A multi_asset of one spec, not `@asset`: `@asset`'s `backfill_policy` parameter is beta
    (one BetaWarning per asset on every CLI run), `@multi_asset`'s is not."""
    key = dg.AssetKey([connector.name, name])
    columns = {} if column_schema is None else {"dagster/column_schema": column_schema}

    def decorate(function: Callable[..., dg.MaterializeResult]) -> dg.AssetsDefinition:
        return dg.multi_asset(
            name=key.to_python_identifier(),
            specs=[
                dg.AssetSpec(
                    key,
                    deps=deps,
                    group_name=connector.name,
                    kinds=kinds,
                    owners=[f"team:{connector.participant}"],
                    description=description,
                    metadata={**columns, "dagster/code_references": code_reference(function)},
                )
            ],
            partitions_def=arrival_hours(connector),
            backfill_policy=dg.BackfillPolicy.single_run(),
            check_specs=[
                dg.AssetCheckSpec(check, asset=key, description=text) for check, text in checks
            ],
            pool=pool,
        )(function)

    return decorate
