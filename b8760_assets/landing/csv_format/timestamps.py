"""A reading's start and end: ISO 8601 text as UTC instants, and why one is unusable.

A time with a UTC offset is absolute; one without is wall time in the connector's time zone,
which may happen twice (clocks going back) or never (clocks going forward): the connector's
DST rules (Clock) say whether such a time refuses the file or which offset it takes. A
layout with a timestamp format has wall times only (wall_times.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Literal

import polars as pl

from b8760_assets.config.csv_layout import FIRST, REJECT, SECOND, CsvLayout
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
# Longer than any clock change: a wall time this far from a missing one is on the side of
# the change the missing one is read as (file.csv.dst.missing).
PAST_THE_CHANGE = timedelta(hours=3)
# The offset a wall time the zone has twice takes, by the layout's rule; None: no offset
# (the time refuses the file, or its line's order decides: repeated_walls.py).
AMBIGUOUS: dict[str, Literal["earliest", "latest"]] = {FIRST: "earliest", SECOND: "latest"}


@dataclass(frozen=True)
class Clock:
    """A connector's wall clock: its zone, and what a wall time it has twice (`repeated`) or
    never (`missing`) means (file.csv.dst.*)."""

    timezone: str
    repeated: str = REJECT
    missing: str = REJECT

    @classmethod
    def of(cls, timezone: str, layout: CsvLayout) -> "Clock":
        return cls(timezone, layout.dst_repeated, layout.dst_missing)

    def to_utc(self, walls: pl.Series) -> pl.Series:
        """Wall times as UTC instants; null where the rules leave one without an instant."""
        placed = walls.dt.replace_time_zone(
            self.timezone, ambiguous=AMBIGUOUS.get(self.repeated, "null"), non_existent="null"
        )
        if self.missing != REJECT and (placed.null_count() > walls.null_count()):
            # A missing wall time read with the offset before the change (first) or after
            # it: placed from a wall time on that side of the change, and moved back.
            shift = -PAST_THE_CHANGE if self.missing == FIRST else PAST_THE_CHANGE
            moved = (walls + shift).dt.replace_time_zone(
                self.timezone, ambiguous="earliest", non_existent="null"
            ) - shift
            placed = pl.select(
                pl.when(self.missing_times(walls)).then(moved).otherwise(placed)
            ).to_series()
        return placed.dt.convert_time_zone("UTC")

    def place(self, wall: pl.Series) -> pl.Series:
        """to_utc, each distinct wall time placed once (a file repeats every hour for each of
        its meters): that costs a fraction of placing every row."""
        walls = wall.unique()
        return wall.replace_strict(walls, self.to_utc(walls), default=None)

    def missing_times(self, walls: pl.Series) -> pl.Series:
        """Whether each wall time is one the zone never has."""
        placed = walls.dt.replace_time_zone(
            self.timezone, ambiguous="earliest", non_existent="null"
        )
        return placed.is_null() & walls.is_not_null()


def utc_starts_and_ends(
    start: pl.Series, end: pl.Series, timezone: str | Clock
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


def utc_times(text: pl.Series, timezone: str | Clock) -> pl.Series:
    """A column of timestamps as UTC instants: offset-bearing ones as they say, others as wall
    time in the connector's zone (by its clock's rules, by default refusing a wall time it
    has twice or never); null where neither reads or the year is out of range.

    A file repeats each timestamp for every meter in it: each distinct one is parsed once.
    """
    return each_distinct(text, partial(_times_to_utc, timezone=timezone))


def each_distinct(text: pl.Series, parse: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """parse(text), parsing each distinct value once when most values repeat."""
    distinct = text.unique().drop_nulls()
    if distinct.len() > DISTINCT_SHARE * text.len():
        return parse(text)
    return parse(distinct).gather(text.cast(pl.Enum(distinct)).to_physical())


def _times_to_utc(text: pl.Series, timezone: str | Clock) -> pl.Series:
    """utc_times, value by value. A file keeps to one style, so the style of its first value
    is tried on the whole column first, and the other style only if some values are left."""
    clock = timezone if isinstance(timezone, Clock) else Clock(timezone)
    readers: list[Callable[[pl.Series], pl.Series]] = [
        _offset_times_to_utc,
        partial(_wall_times_to_utc, clock=clock),
    ]
    if _offset_times_to_utc(text.head(1)).null_count():
        readers.reverse()
    first, other = readers
    utc = first(text)
    if utc.null_count() > text.null_count():
        utc = utc.fill_null(other(text))
    return in_range(utc)


def in_range(utc: pl.Series) -> pl.Series:
    """The instants between EARLIEST and LATEST; null for the others."""
    return pl.select(pl.when(utc.is_between(EARLIEST, LATEST)).then(utc)).to_series()


def _offset_times_to_utc(text: pl.Series) -> pl.Series:
    return text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")


def _wall_times_to_utc(text: pl.Series, clock: Clock) -> pl.Series:
    """Wall times in the connector's zone as UTC; null where one happens twice or never and
    the clock's rules refuse it."""
    return clock.place(text.str.to_datetime(WALL_TIME, strict=False, time_unit="us"))


def timestamp_problem(
    column: str,
    value: str | None,
    clock: str | Clock,
    wall_format: str | None = None,
    in_zone: bool = True,
) -> tuple[str, str]:
    """Why a start or end is unusable, as a rule and the words for it: not a timestamp at all
    (not ISO 8601, or not in the layout's `wall_format`), a wall time that the connector's
    time zone has twice (clocks going back) or never (clocks going forward) where its rules
    refuse one, or a time out of range. `in_zone`: whether the value itself is placed in the
    zone (a layout's end is its start's instant moved by the wall times' difference).

    Only text and flags come back to Python: a parsed year may be one datetime cannot hold.
    """
    clock = clock if isinstance(clock, Clock) else Clock(clock)
    timezone = clock.timezone
    text = pl.lit(value, pl.String)
    wall = text.str.to_datetime(wall_format or WALL_TIME, strict=False, time_unit="us")
    offset = text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")
    if wall_format is not None:
        offset = pl.lit(None, pl.Datetime("us", "UTC"))
    shown = f"{column} {quoted(value)}"
    parsed, is_time, earliest, latest, only = pl.select(
        (wall.is_not_null() & in_zone).alias("parsed"),
        (wall.is_not_null() | offset.is_not_null()).alias("is_time"),
        *(
            wall.dt.replace_time_zone(timezone, ambiguous=choice, non_existent="null")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
            .alias(choice)
            for choice in ("earliest", "latest", "null")
        ),
    ).row(0)
    instead = (
        f"or write it with its UTC offset, e.g. {TIMESTAMP_EXAMPLE}"
        if wall_format is None
        else "or set file.csv.dst.missing to first or second (the offset before or after "
        "the change) in the connector's properties.xml"
    )
    if parsed and earliest is None and clock.missing == REJECT:
        return (
            "timestamp.nonexistent_local_time",
            f"{shown} does not exist in {timezone} (clocks go forward over it); correct it, "
            + instead,
        )
    if parsed and earliest is not None and only is None and clock.repeated == REJECT:
        which = f"{earliest} or {latest}"
        return (
            "timestamp.ambiguous_local_time",
            f"{shown} happens twice in {timezone} (clocks go back over it); "
            + (
                f"write it with its UTC offset: {which}"
                if wall_format is None
                else f"it is {which}: set file.csv.dst.repeated (first, second or "
                "file_order) in the connector's properties.xml"
            ),
        )
    if is_time:
        return (
            "csv.bad_timestamp",
            f"{shown} is out of range: a reading's start and end lie between "
            f"{EARLIEST.isoformat()} and {LATEST.isoformat()}, both included; check its year",
        )
    if wall_format is not None:
        return (
            "csv.bad_timestamp",
            f"{shown} does not match the layout's timestamp format {quoted(wall_format)} "
            "(file.csv.timestamp.format)",
        )
    return (
        "csv.bad_timestamp",
        f"{shown} is not an ISO 8601 timestamp (expected e.g. {TIMESTAMP_EXAMPLE}, or "
        f"{TIMESTAMP_EXAMPLE[:19]} for {timezone} time)",
    )
