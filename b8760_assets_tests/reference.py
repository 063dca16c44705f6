"""Reference implementations the tests hold the platform to: plain statements of what it does
in bulk, in SQL or in JSON, slower and with nothing to tune.

- newest_per_interval: the newest reading of each interval, by a sort; the meter-hour merge
  (Python) and the warehouse MERGE (SQL) must keep the same rows.
- decode_meter_hour: a meter-hour object read back into standardized rows, by the field
  names docs/downloading.md gives participants.
- completeness_by_slot: completeness.completeness by walking each meter's grid a slot at a
  time and each slot a minute at a time.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from b8760_assets.completeness import ExpectedIntervals
from b8760_assets.readings_schema import ESTIMATED, INTERVAL_KEY, VERSION
from b8760_assets.standardized.meter_hours import UPLOADED_AT_FORMAT
from b8760_assets.standardized.normalize import UTC_FORMAT

# The intervals as the JSON holds them, decoded before they become standardized rows again.
INTERVALS_SCHEMA = pl.Schema(
    {
        "start": pl.String(),
        "end": pl.String(),
        "local_start": pl.String(),
        "value": pl.Float64(),
        "unit": pl.String(),
        "quality": pl.String(),
        "validation": pl.String(),
        "failed_rules": pl.String(),
        "meter_known": pl.Boolean(),
        "arrival_hour": pl.String(),
        "version": pl.Struct(
            {"uploaded_at": pl.String, "source_file": pl.String, "line": pl.Int64}
        ),
    }
)


def newest_per_interval(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (connector, meter, interval start): a reading from a file before an
    estimate, then the greatest VERSION, ordered by that key. Of rows with equal versions (an
    hour replayed) the last one given wins, so a replay under a corrected meter XML replaces
    what the earlier run wrote."""
    key = list(INTERVAL_KEY)
    from_a_file = (pl.col("validation") != ESTIMATED).fill_null(True).alias("_from_a_file")
    return (
        rows.with_columns(from_a_file)
        .sort([*key, "_from_a_file", *VERSION], maintain_order=True)
        .unique(key, keep="last", maintain_order=True)
        .drop("_from_a_file")
    )


@dataclass(frozen=True, eq=False)
class MeterHour:
    """A decoded meter-hour object; rows are its intervals as readings_schema.POLARS_SCHEMA."""

    connector: str
    participant: str
    meter_id: str
    hour: datetime
    unit: str | None
    meter_known: bool
    rows: pl.DataFrame


def decode_meter_hour(data: bytes) -> MeterHour:
    """A meter-hour object's content, with its intervals back as standardized rows."""
    document = json.loads(data)
    intervals = pl.DataFrame(document["intervals"], schema=INTERVALS_SCHEMA)
    origin = pl.col("version").struct
    rows = intervals.select(
        connector=pl.lit(document["connector"]),
        participant=pl.lit(document["participant"]),
        meter_id=pl.lit(document["meter_id"]),
        interval_start=pl.col("start").str.to_datetime(UTC_FORMAT, time_zone="UTC", time_unit="us"),
        interval_end=pl.col("end").str.to_datetime(UTC_FORMAT, time_zone="UTC", time_unit="us"),
        value="value",
        unit="unit",
        quality="quality",
        local_start="local_start",
        meter_known="meter_known",
        validation="validation",
        failed_rules="failed_rules",
        uploaded_at=origin.field("uploaded_at").str.to_datetime(
            UPLOADED_AT_FORMAT, time_zone="UTC", time_unit="us"
        ),
        arrival_hour=pl.col("arrival_hour").str.to_datetime(
            UTC_FORMAT, time_zone="UTC", time_unit="us"
        ),
        source_file=origin.field("source_file"),
        source_line=origin.field("line"),
    )
    return MeterHour(
        connector=document["connector"],
        participant=document["participant"],
        meter_id=document["meter_id"],
        hour=datetime.strptime(document["hour"], UTC_FORMAT).replace(tzinfo=UTC),
        unit=document["unit"],
        meter_known=document["meter_known"],
        rows=rows,
    )


def completeness_by_slot(
    readings: Sequence[tuple[str, datetime, datetime]],
    meters: Mapping[str, ExpectedIntervals],
    start: datetime,
    end: datetime,
) -> dict[tuple[str, date], tuple[int, int]]:
    """(meter, local day) → (present, expected): every slot of the meter's grid (its interval
    length from the epoch) starting in [start, end), in the local day of its start, present
    when every minute of it lies in some reading (readings in whole minutes)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    counts: dict[tuple[str, date], tuple[int, int]] = {}
    for meter_id, expected in meters.items():
        length = timedelta(minutes=expected.minutes)
        spans = [(s, e) for m, s, e in readings if m == meter_id]
        slot = epoch + -((epoch - start) // length) * length
        while slot < end:
            day = slot.astimezone(ZoneInfo(expected.timezone)).date()
            minutes = (slot + n * timedelta(minutes=1) for n in range(expected.minutes))
            present = all(any(s <= m < e for s, e in spans) for m in minutes)
            found, total = counts.get((meter_id, day), (0, 0))
            counts[meter_id, day] = (found + present, total + 1)
            slot += length
    return counts
