"""A wall time the connector's zone has twice, read in file order (file.csv.dst.repeated =
file_order): a meter's first line of it takes the UTC offset before the clocks go back, its
next line the offset after, as files of the fall day write the repeated hour twice.

Which one a line is depends on the lines before it, which may be batches back: a batch
counts its own lines from the counts of the batches before it (`seen`), and says how many it
holds (counts), so that its verdict is the one a read of the whole file would give
(format.py checks a batch again, in order, in the rare case that its guess without the
counts was wrong).
"""

import polars as pl

from b8760_assets.landing.csv_format.timestamps import Clock

# The column that names, for a line whose start is a wall time the zone has twice, that wall
# time (null on every other line): the key, with the meter, of the lines counted.
REPEATED_WALL = "repeated_wall"
KEY = ["meter_id", REPEATED_WALL]
NOTHING_SEEN = pl.DataFrame(
    schema={"meter_id": pl.String, REPEATED_WALL: pl.Datetime("us"), "seen": pl.UInt32}
)


def in_file_order(
    meters: pl.Series, walls: pl.Series, utc: pl.Series, clock: Clock, seen: pl.DataFrame
) -> tuple[pl.Series, pl.Series]:
    """The starts (`utc`, as the clock placed `walls`) with each wall time the zone has
    twice placed by its line's order among the meter's lines of it, after those `seen`; and
    the REPEATED_WALL column."""
    distinct = walls.unique().drop_nulls()
    first, second = (
        distinct.dt.replace_time_zone(clock.timezone, ambiguous=choice, non_existent="null")
        for choice in ("earliest", "latest")
    )
    differ = (first != second).fill_null(False)
    twice, first, second = distinct.filter(differ), first.filter(differ), second.filter(differ)
    repeated = pl.select(pl.when(walls.is_in(twice.implode())).then(walls)).to_series()
    if twice.is_empty():
        return utc, repeated.alias(REPEATED_WALL)
    rows = repeated.is_not_null().arg_true()
    lines = pl.DataFrame({"meter_id": meters.gather(rows), REPEATED_WALL: walls.gather(rows)})
    order = (
        lines.with_columns(nth=pl.int_range(pl.len(), dtype=pl.UInt32).over(KEY))
        .join(seen, on=KEY, how="left", maintain_order="left")
        .select(pl.col("nth") + pl.col("seen").fill_null(0))
        .to_series()
    )
    firsts = lines[REPEATED_WALL].replace_strict(twice, first)
    seconds = lines[REPEATED_WALL].replace_strict(twice, second)
    placed = pl.select(pl.when(order == 0).then(firsts).otherwise(seconds)).to_series()
    return utc.scatter(rows, placed.dt.convert_time_zone("UTC")), repeated.alias(REPEATED_WALL)


def counts(frame: pl.DataFrame) -> pl.DataFrame:
    """How many of a batch's lines each (meter, repeated wall time) has."""
    return (
        frame.lazy()
        .filter(pl.col(REPEATED_WALL).is_not_null())
        .group_by(KEY)
        .agg(seen=pl.len().cast(pl.UInt32))
        .collect()
    )


def added(seen: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    """The counts of the batches so far, with one more batch's."""
    if more.is_empty():
        return seen
    return pl.concat([seen, more]).group_by(KEY).agg(pl.col("seen").sum())


def overlap(seen: pl.DataFrame, more: pl.DataFrame) -> bool:
    """Whether a batch holds a (meter, repeated wall time) that earlier batches hold too."""
    return not more.is_empty() and not more.join(seen, on=KEY, how="semi").is_empty()
