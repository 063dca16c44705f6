"""Completeness: the share of each meter's expected intervals present, per local day.

A meter's expected intervals lie on a grid of its interval length counted from the Unix epoch
(UTC), the grid the platform's UTC hours lie on. An interval belongs to the local day (in the
meter's time zone) in which it starts, so a day expects 23, 24 or 25 hours of intervals across
DST. An interval is present when readings cover it entirely: overlapping readings count once,
and a longer reading covers the shorter intervals inside it.

This is the picture's measure, not a validation rule: the VEE gap rule (validation/) judges
the same days, and the two may be reconciled into one later.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from b8760_assets.readings_schema import INTERVAL_END, INTERVAL_START, METER_ID

# A meter with no reading to tell its interval length by is expected hourly.
DEFAULT_INTERVAL_MINUTES = 60
MICROSECONDS_PER_MINUTE = 60_000_000
# The completeness table's columns: a meter's local day, its intervals present and expected.
DAY, PRESENT, EXPECTED, SHARE = "day", "present", "expected", "share"
_START, _END = INTERVAL_START.name, INTERVAL_END.name
_MINUTES, _FIRST_SLOT, _SLOT = "interval_minutes", "first_slot", "slot"


@dataclass(frozen=True)
class ExpectedIntervals:
    """What a meter is expected to deliver: an interval every `minutes`, days in `timezone`."""

    minutes: int
    timezone: str


def interval_minutes(readings: pl.DataFrame) -> dict[str, int]:
    """Each meter's interval length as its readings show it: the most common (the shortest of
    equally common), since no meter XML states one."""
    lengths = (
        readings.select(
            METER_ID.name,
            minutes=(pl.col(_END) - pl.col(_START)).dt.total_minutes(),
        )
        .group_by(METER_ID.name, "minutes")
        .len()
        .sort(METER_ID.name, "len", "minutes", descending=[False, True, False])
        .unique(METER_ID.name, keep="first", maintain_order=True)
    )
    return dict(zip(lengths[METER_ID.name], lengths["minutes"], strict=True))


def local_days(timezone: str, start: datetime, end: datetime) -> list[date]:
    """The local days that [start, end) overlaps."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_start(day: date, timezone: str) -> datetime:
    """The instant a local day begins, UTC (its first instant where midnight does not exist)."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _first_slot(moment_us: int, length_us: int) -> int:
    """The first slot of the grid starting at or after the moment."""
    return -(-moment_us // length_us)


def expected_days(
    meters: Mapping[str, ExpectedIntervals], start: datetime, end: datetime
) -> pl.DataFrame:
    """Every meter × local day overlapping [start, end): the day's first slot on the meter's
    grid and how many slots start in it, both within [start, end)."""
    rows = []
    for meter_id, expected in meters.items():
        length = expected.minutes * MICROSECONDS_PER_MINUTE
        for day in local_days(expected.timezone, start, end):
            begins = max(day_start(day, expected.timezone), start)
            ends = min(day_start(day + timedelta(days=1), expected.timezone), end)
            first = _first_slot(_epoch_us(begins), length)
            rows.append((meter_id, day, first, _first_slot(_epoch_us(ends), length) - first))
    return pl.DataFrame(
        rows,
        schema={METER_ID.name: pl.String, DAY: pl.Date, _FIRST_SLOT: pl.Int64, EXPECTED: pl.Int64},
        orient="row",
    )


def covered_spans(readings: pl.DataFrame) -> pl.DataFrame:
    """Per meter, the spans its readings cover: overlapping or touching readings merged."""
    ordered = readings.select(METER_ID.name, _START, _END).sort(METER_ID.name, _START)
    reach = pl.col(_END).cum_max().shift(1).over(METER_ID.name)
    return (
        ordered.with_columns(span=(reach.is_null() | (pl.col(_START) > reach)).cum_sum())
        .group_by(METER_ID.name, "span")
        .agg(pl.col(_START).min(), pl.col(_END).max())
        .drop("span")
    )


def present_slots(readings: pl.DataFrame, minutes: Mapping[str, int]) -> pl.DataFrame:
    """(meter, slot) for every slot of a meter's grid that its readings cover entirely."""
    lengths = pl.DataFrame(
        {METER_ID.name: list(minutes), _MINUTES: list(minutes.values())},
        schema={METER_ID.name: pl.String, _MINUTES: pl.Int64},
    )
    length = pl.col(_MINUTES) * MICROSECONDS_PER_MINUTE
    epoch_us = pl.col(_START).dt.epoch("us"), pl.col(_END).dt.epoch("us")
    return (
        covered_spans(readings)
        .join(lengths, on=METER_ID.name)
        .select(
            METER_ID.name,
            pl.int_ranges(-(-epoch_us[0] // length), epoch_us[1] // length).alias(_SLOT),
        )
        .explode(_SLOT)
        .drop_nulls(_SLOT)
    )


def completeness(
    readings: pl.DataFrame, meters: Mapping[str, ExpectedIntervals], start: datetime, end: datetime
) -> pl.DataFrame:
    """Every meter × local day overlapping [start, end), with the intervals present, expected
    and their share; days cut by start or end count only their part inside. Readings of meters
    not in `meters` are left out. Columns: meter_id, day, present, expected, share."""
    days = expected_days(meters, start, end).filter(pl.col(EXPECTED) > 0).sort(_FIRST_SLOT)
    slots = present_slots(
        readings.filter(pl.col(METER_ID.name).is_in(list(meters))),
        {meter_id: expected.minutes for meter_id, expected in meters.items()},
    ).sort(_SLOT)
    counted = (
        slots.join_asof(
            days, left_on=_SLOT, right_on=_FIRST_SLOT, by=METER_ID.name, check_sortedness=False
        )  # both sorted by slot above: polars cannot check it within groups
        .filter(pl.col(_SLOT) < pl.col(_FIRST_SLOT) + pl.col(EXPECTED))
        .group_by(METER_ID.name, DAY)
        .agg(pl.col(_SLOT).n_unique().cast(pl.Int64).alias(PRESENT))
    )
    return (
        days.join(counted, on=[METER_ID.name, DAY], how="left")
        .select(
            METER_ID.name,
            DAY,
            pl.col(PRESENT).fill_null(0),
            EXPECTED,
            (pl.col(PRESENT).fill_null(0) / pl.col(EXPECTED)).alias(SHARE),
        )
        .sort(METER_ID.name, DAY)
    )


def expected_intervals(
    readings: pl.DataFrame, meter_zones: Mapping[str, str], other_zone: str
) -> dict[str, ExpectedIntervals]:
    """The meters to picture: those named in `meter_zones` (meter id → time zone) and any other
    with readings, in `other_zone`; interval lengths as the readings show them."""
    minutes = interval_minutes(readings)
    return {
        meter_id: ExpectedIntervals(
            minutes.get(meter_id, DEFAULT_INTERVAL_MINUTES),
            meter_zones.get(meter_id, other_zone),
        )
        for meter_id in sorted({*meter_zones, *minutes})
    }
