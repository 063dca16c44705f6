"""Reference implementations the tests hold the platform to: plain statements of what it does
in bulk, in SQL or in JSON, slower and with nothing to tune.

- newest_per_interval: the newest reading of each interval, by a sort; the meter-hour merge
  (Python) and the warehouse MERGE (SQL) must keep the same rows.
- decode_meter_hour: a meter-hour object read back into standardized rows, by the field
  names docs/downloading.md gives participants.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from b8760_assets.readings_schema import INTERVAL_KEY, VERSION
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
    """One row per (connector, meter, interval start): the greatest VERSION, ordered by that
    key. Of rows with equal versions (an hour replayed) the last one given wins, so a replay
    under a corrected meter XML replaces what the earlier run wrote."""
    key = list(INTERVAL_KEY)
    return rows.sort([*key, *VERSION], maintain_order=True).unique(
        key, keep="last", maintain_order=True
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
