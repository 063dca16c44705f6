"""A connector's completeness picture, from what is real: the intervals its meter-hour objects
hold (standardized/meter_hours.py) and the outcomes of its assets' checks in the Dagster
instance (failed_checks.py). standardized_readings attaches it to each materialization;
`b8760 report` writes it as a page.

Meters without a reading in the range are pictured too (as none present) when the meter XML
names them; interval lengths are the readings' own (completeness.interval_minutes), as no meter
XML states one.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import dagster as dg

from b8760_assets.completeness import completeness, expected_intervals
from b8760_assets.completeness_pictures import Picture
from b8760_assets.config import Meter
from b8760_assets.failed_checks import failed_check_hours, run_failed_checks
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.standardized.meter_hours import MergedSpans, stored_intervals, stored_meter_ids
from b8760_assets.storage import StorageResource


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours that [start, end) overlaps."""
    first = floor_hour(start)
    return [first + n * HOUR for n in range(-(-(end - first) // HOUR))]


def connector_picture(
    storage: StorageResource,
    instance: dg.DagsterInstance,
    layout: ConnectorLayout,
    meters: Sequence[Meter],
    meter_ids: Collection[str],
    check_keys: Sequence[dg.AssetCheckKey],
    start: datetime,
    end: datetime,
    arrival_hours: Sequence[datetime] = (),
    pending: Mapping[str, Sequence[datetime]] | None = None,
    merged: MergedSpans | None = None,
    run_id: str | None = None,
) -> Picture:
    """The picture of the meters `meter_ids` over [start, end): their objects' intervals, and
    the failed checks among `check_keys` in the range's hours and `arrival_hours` (a run's,
    whose readings may be for other days), with `pending` (a running asset's own failures,
    not in the instance yet); the objects `merged` holds (a run's) are not read again. With
    `run_id`, the run going on whose hours `arrival_hours` are, their outcomes are the run's
    own so far (run_failed_checks), not asked of the instance hour by hour."""
    readings = stored_intervals(storage, layout, sorted(meter_ids), start, end, merged)
    zones = {meter.id: meter.timezone for meter in meters if meter.id in meter_ids}
    connector = layout.connector
    expected = expected_intervals(readings, zones, connector.timezone)
    own = set(arrival_hours) if run_id is not None else set()
    checked = sorted({*hours_between(start, end), *arrival_hours} - own)
    failed = failed_check_hours(instance, check_keys, checked)
    running = {} if run_id is None else run_failed_checks(instance, run_id, check_keys, own)
    for check, hours in [*running.items(), *(pending or {}).items()]:
        failed[check] = sorted({*failed.get(check, ()), *hours})
    return Picture(
        connector=connector.name,
        timezone=connector.timezone,
        start=start,
        end=end,
        table=completeness(readings, expected, start, end),
        failed=dict(sorted(failed.items())),
    )


def pictured_meter_ids(
    storage: StorageResource, layout: ConnectorLayout, meters: Sequence[Meter]
) -> set[str]:
    """The meters the meter XML names and any other with objects (an unknown meter's)."""
    named = {meter.id for meter in meters}
    return named | set(stored_meter_ids(storage, layout.bucket, layout.connector.name))
