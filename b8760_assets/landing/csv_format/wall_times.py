"""A layout's timestamps (file.csv.timestamp.format): wall times in the connector's zone,
read with the layout's format (a date column joined to each time with a space), and each
interval's end found from its start.

An end is its start moved by the wall times' difference (plus the minute an inclusive end
leaves out, file.csv.end), or by file.csv.interval.minutes: the end of 01:00-01:59 on the
fall day is then the end of whichever 01:00 its start is, and the end of 01:00-01:59 on the
spring day, whose 02:00 never happens, the instant clocks jump to 03:00.
"""

from datetime import timedelta

import polars as pl

from b8760_assets.config.csv_layout import FILE_ORDER, INCLUSIVE_MINUTE, CsvLayout
from b8760_assets.landing.csv_format.repeated_walls import in_file_order
from b8760_assets.landing.csv_format.timestamps import Clock, each_distinct, in_range

INCLUSIVE_END = timedelta(minutes=1)


def wall_starts_and_ends(
    frame: pl.DataFrame, clock: Clock, layout: CsvLayout, seen: pl.DataFrame
) -> dict[str, pl.Series]:
    """interval_start and interval_end as UTC instants, null where one is unusable (and, by
    file_order, the repeated_wall column: repeated_walls.py), for a frame's start and end
    text. `seen`: the counts of repeated wall times of the batches before."""
    assert layout.timestamp_format is not None
    walls = _walls(frame["start"], layout.timestamp_format)
    starts = clock.place(walls)
    columns = {}
    if layout.dst_repeated == FILE_ORDER:
        starts, columns["repeated_wall"] = in_file_order(
            frame["meter_id"], walls, starts, clock, seen
        )
    if layout.interval_minutes is not None:
        ends = starts + timedelta(minutes=layout.interval_minutes)
    else:
        ends = starts + (_walls(frame["end"], layout.timestamp_format) - walls)
        if layout.end == INCLUSIVE_MINUTE:
            ends = ends + INCLUSIVE_END
    return {"interval_start": in_range(starts), "interval_end": in_range(ends), **columns}


def _walls(text: pl.Series, timestamp_format: str) -> pl.Series:
    return each_distinct(
        text, lambda values: values.str.to_datetime(timestamp_format, strict=False, time_unit="us")
    )
