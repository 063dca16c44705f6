"""A layout's timestamps (file.csv.timestamp.format): wall times in the connector's zone,
read with the layout's format (a date column joined to each time with a space), and each
interval's end found from its start.

An end is its start moved by the wall times' difference (plus the minute an inclusive end
leaves out, file.csv.end), or by file.csv.interval.minutes: the end of 01:00-01:59 on the
fall day is then the end of whichever 01:00 its start is, and the end of 01:00-01:59 on the
spring day, whose 02:00 never happens, the instant clocks jump to 03:00.
"""

from collections.abc import Callable
from datetime import timedelta

import polars as pl

from b8760_assets.config.csv_layout import FILE_ORDER, INCLUSIVE_MINUTE, CsvLayout
from b8760_assets.landing.csv_format.parts import joined_time
from b8760_assets.landing.csv_format.repeated_walls import in_file_order
from b8760_assets.landing.csv_format.timestamps import (
    DISTINCT_SHARE,
    Clock,
    each_distinct,
    in_range,
)

INCLUSIVE_END = timedelta(minutes=1)


def wall_starts_and_ends(
    frame: pl.DataFrame, clock: Clock, layout: CsvLayout, seen: pl.DataFrame
) -> dict[str, pl.Series]:
    """interval_start and interval_end as UTC instants, null where one is unusable (and, by
    file_order, the repeated_wall column: repeated_walls.py), for a frame's start and end
    text. `seen`: the counts of repeated wall times of the batches before."""
    assert layout.timestamp_format is not None
    walls = _walls(frame, "start", layout.timestamp_format)
    starts = clock.place(walls)
    columns = {}
    if layout.dst_repeated == FILE_ORDER:
        starts, columns["repeated_wall"] = in_file_order(
            frame["meter_id"], walls, starts, clock, seen
        )
    if layout.interval_minutes is not None:
        ends = starts + timedelta(minutes=layout.interval_minutes)
    else:
        ends = starts + (_walls(frame, "end", layout.timestamp_format) - walls)
        if layout.end == INCLUSIVE_MINUTE:
            ends = ends + INCLUSIVE_END
    return {"interval_start": in_range(starts), "interval_end": in_range(ends), **columns}


def _walls(frame: pl.DataFrame, part: str, timestamp_format: str) -> pl.Series:
    """A start's or end's wall times, each distinct value parsed once; a date column still
    apart (parts.date_apart) is joined to them here."""

    def parse(values: pl.Series) -> pl.Series:
        return values.str.to_datetime(timestamp_format, strict=False, time_unit="us")

    if "date" not in frame.columns:
        return each_distinct(frame[part], parse)
    return _joined_walls(frame["date"], frame[part], parse)


def _joined_walls(
    dates: pl.Series, times: pl.Series, parse: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """parse of each row's date and time joined (parts.joined_time), each pair of a
    distinct date and a distinct time joined and parsed once: a row's pair is found by the
    positions of its date and time among them, not by its joined text."""
    dates_seen, times_seen = dates.unique().drop_nulls(), times.unique().drop_nulls()
    pairs = len(dates_seen) * len(times_seen)
    if pairs > DISTINCT_SHARE * len(dates):
        return each_distinct(
            pl.select(joined_time(pl.lit(dates), pl.lit(times))).to_series(), parse
        )
    each_pair = pl.int_range(pairs, eager=True)
    table = pl.select(
        joined_time(
            pl.lit(dates_seen).gather(each_pair // len(times_seen)),
            pl.lit(times_seen).gather(each_pair % len(times_seen)),
        )
    ).to_series()
    date_codes = dates.cast(pl.Enum(dates_seen)).to_physical().cast(pl.Int64)
    time_codes = times.cast(pl.Enum(times_seen)).to_physical().cast(pl.Int64)
    return parse(table).gather(date_codes * len(times_seen) + time_codes)
