"""Gaps: intervals missing between a meter's readings, counted per local day.

Every pair of consecutive readings of a meter further apart than the first one's end leaves
the meter's interval length's worth of intervals missing between them; those are counted in
the local day (the meter's time zone) each missing interval starts in, against the intervals
that day holds (23, 24 or 25 hours on DST days, times the intervals of an hour). Only
between a meter's first and last reading of the hour's files: what comes before or after
them is another hour's to bring.
"""

import polars as pl

from b8760_assets.validation.found import Found
from b8760_assets.validation.intervals import (
    END,
    HOUR_US,
    LOCAL_DAY,
    METER_LENGTH,
    START,
    following,
)
from b8760_assets.validation.rules import CASES_SCHEMA, GAPS


def _day_hours(zone: str) -> pl.Expr:
    """How many hours a local day lasts in zone (23, 24 or 25 across DST)."""
    midnight = (
        pl.col(LOCAL_DAY)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    )
    return (midnight.dt.offset_by("1d") - midnight).dt.total_hours()


def _missing_by_day(missing: pl.DataFrame) -> pl.DataFrame:
    """Missing interval starts (epoch us, with meter, zone, length) per meter and local day,
    each day with the intervals it holds."""
    days = []
    for (zone,), starts in missing.partition_by("timezone", as_dict=True).items():
        assert isinstance(zone, str)
        local = starts.with_columns(
            pl.col("missing")
            .cast(pl.Datetime("us", "UTC"))
            .dt.convert_time_zone(zone)
            .dt.date()
            .alias(LOCAL_DAY)
        )
        per_day = local.group_by("meter_id", LOCAL_DAY, METER_LENGTH).agg(
            intervals=pl.len().cast(pl.Int64)
        )
        days.append(
            per_day.with_columns(
                expected=(_day_hours(zone) * HOUR_US / pl.col(METER_LENGTH)).cast(pl.Int64)
            )
        )
    return pl.concat(days).sort("meter_id", LOCAL_DAY)


def find_gaps(frame: pl.DataFrame) -> Found:
    """The gaps between each meter's readings; no reading is flagged (a gap has none)."""
    after = frame.select(
        "meter_id",
        "timezone",
        METER_LENGTH,
        gap_start=pl.col(END),
        gap_end=following(START),
    ).filter(pl.col("gap_end") > pl.col("gap_start"))
    no_flags = pl.Series(dtype=pl.Boolean).extend_constant(False, frame.height)
    if after.height == 0:
        return Found(no_flags, CASES_SCHEMA.to_frame())
    missing = after.select(
        "meter_id",
        "timezone",
        METER_LENGTH,
        missing=pl.int_ranges("gap_start", "gap_end", pl.col(METER_LENGTH)),
    ).explode("missing")
    cases = _missing_by_day(missing).select(
        rule=pl.lit(GAPS),
        meter_id="meter_id",
        local_day=LOCAL_DAY,
        intervals="intervals",
        detail=pl.format("{} of the day's {} intervals missing", "intervals", "expected"),
    )
    return Found(no_flags, cases)
