"""A reading's start and end: ISO 8601 text as UTC instants, and why one is unusable.

A time with a UTC offset is absolute; one without is wall time in the connector's time zone,
which may happen twice (clocks going back) or never (clocks going forward).
"""

from collections.abc import Callable
from functools import partial

import polars as pl

from b8760_assets.landing.formats import quoted
from b8760_assets.landing.reading_rules import EARLIEST, LATEST

# ISO 8601 with seconds (a fraction is allowed). With a UTC offset (Z, ±HH:MM, ±HHMM or ±HH)
# a time is absolute; without one it is wall time in the connector's time zone.
WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%#z"
WALL_TIME = "%Y-%m-%dT%H:%M:%S%.f"
TIMESTAMP_EXAMPLE = "2021-11-08T14:00:00-05:00"
# A column is parsed value by value only when most of its values are distinct; otherwise
# each distinct value is parsed once (a file repeats every timestamp for each of its meters).
DISTINCT_SHARE = 0.25


def utc_starts_and_ends(
    start: pl.Series, end: pl.Series, timezone: str
) -> tuple[pl.Series, pl.Series]:
    """Both timestamp columns as UTC instants (utc_times). An interval's end is most often
    the next one's start: ends are looked up among the starts, and only the others parsed."""
    distinct = start.unique().drop_nulls()
    if distinct.len() > DISTINCT_SHARE * start.len():
        return utc_times(start, timezone), utc_times(end, timezone)
    utc = _times_to_utc(distinct, timezone)
    # Each value's position among the distinct ones, as an enum's: a lookup, not a join.
    starts = pl.Enum(distinct)
    end_codes = end.cast(starts, strict=False).to_physical()
    ends = utc.gather(end_codes)
    others = (end_codes.is_null() & end.is_not_null()).arg_true()
    if others.len():
        ends = ends.scatter(others, utc_times(end.gather(others), timezone))
    return utc.gather(start.cast(starts).to_physical()), ends


def utc_times(text: pl.Series, timezone: str) -> pl.Series:
    """A column of timestamps as UTC instants: offset-bearing ones as they say, others as wall
    time in the connector's zone; null where neither reads or the year is out of range.

    A file repeats each timestamp for every meter in it: each distinct one is parsed once.
    """
    distinct = text.unique().drop_nulls()
    if distinct.len() > DISTINCT_SHARE * text.len():
        return _times_to_utc(text, timezone)
    utc = _times_to_utc(distinct, timezone)
    return utc.gather(text.cast(pl.Enum(distinct)).to_physical())


def _times_to_utc(text: pl.Series, timezone: str) -> pl.Series:
    """utc_times, value by value. A file keeps to one style, so the style of its first value
    is tried on the whole column first, and the other style only if some values are left."""
    readers: list[Callable[[pl.Series], pl.Series]] = [
        _offset_times_to_utc,
        partial(_wall_times_to_utc, timezone=timezone),
    ]
    if _offset_times_to_utc(text.head(1)).null_count():
        readers.reverse()
    first, other = readers
    utc = first(text)
    if utc.null_count() > text.null_count():
        utc = utc.fill_null(other(text))
    return pl.select(pl.when(utc.is_between(EARLIEST, LATEST)).then(utc)).to_series()


def _offset_times_to_utc(text: pl.Series) -> pl.Series:
    return text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")


def _wall_times_to_utc(text: pl.Series, timezone: str) -> pl.Series:
    """Wall times in the connector's zone as UTC; null where one happens twice or never.

    Each distinct wall time is placed in the zone once (a file repeats every hour for each of
    its meters): that costs a fraction of placing every row.
    """
    wall = text.str.to_datetime(WALL_TIME, strict=False, time_unit="us")
    walls = wall.unique()
    utc = walls.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null")
    return wall.replace_strict(walls, utc.dt.convert_time_zone("UTC"), default=None)


def timestamp_problem(column: str, value: str | None, timezone: str) -> tuple[str, str]:
    """Why a start or end is unusable, as a rule and the words for it: not a timestamp at all,
    a wall time that the connector's time zone has twice (clocks going back) or never (clocks
    going forward), or a time out of range.

    Only text and flags come back to Python: a parsed year may be one datetime cannot hold.
    """
    text = pl.lit(value, pl.String)
    wall = text.str.to_datetime(WALL_TIME, strict=False, time_unit="us")
    offset = text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")
    shown = f"{column} {quoted(value)}"
    parsed, is_time, earliest, latest, only = pl.select(
        wall.is_not_null().alias("parsed"),
        (wall.is_not_null() | offset.is_not_null()).alias("is_time"),
        *(
            wall.dt.replace_time_zone(timezone, ambiguous=choice, non_existent="null")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
            .alias(choice)
            for choice in ("earliest", "latest", "null")
        ),
    ).row(0)
    if parsed and earliest is None:
        return (
            "timestamp.nonexistent_local_time",
            f"{shown} does not exist in {timezone} (clocks go forward over it); correct it, "
            f"or write it with its UTC offset, e.g. {TIMESTAMP_EXAMPLE}",
        )
    if earliest is not None and only is None:
        return (
            "timestamp.ambiguous_local_time",
            f"{shown} happens twice in {timezone} (clocks go back over it); write it with its "
            f"UTC offset: {earliest} or {latest}",
        )
    if is_time:
        return (
            "csv.bad_timestamp",
            f"{shown} is out of range: a reading's start and end lie between "
            f"{EARLIEST.isoformat()} and {LATEST.isoformat()}, both included; check its year",
        )
    return (
        "csv.bad_timestamp",
        f"{shown} is not an ISO 8601 timestamp (expected e.g. {TIMESTAMP_EXAMPLE}, or "
        f"{TIMESTAMP_EXAMPLE[:19]} for {timezone} time)",
    )
