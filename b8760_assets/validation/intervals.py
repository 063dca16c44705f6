"""The readings as every rule reads them: ordered by meter and start, with the columns the
rules share worked out once (epoch microseconds, the local day and a number for each meter
and for each of its days, the meter's interval length and limits).

Worked out for a year of a thousand meters in a second or two: rows already in order (a
file's usual order, meter by meter in time) are not sorted again, and a meter's attributes
reach its readings by its number, not by a join of every reading.
"""

import polars as pl

from b8760_assets.validation.thresholds import LIMITS_SCHEMA

MINUTE_US, HOUR_US = 60_000_000, 3_600_000_000
ROW = "_row"
START, END, LENGTH = "_start", "_end", "_length"
LOCAL_DAY = "local_day"
METER, DAY = "_meter", "_day"  # a number per meter, and per meter and local day, in order
METER_LENGTH = "_meter_length"
SAME_METER = "_same_meter"  # the row before is of the same meter
ORDER = ("meter_id", "interval_start")


def _in_order(rows: pl.DataFrame) -> bool:
    meter, start = pl.col("meter_id"), pl.col("interval_start")
    after = (meter > meter.shift(1)) | ((meter == meter.shift(1)) & (start >= start.shift(1)))
    return bool(rows.select(after.fill_null(True).all()).item())


def _per_meter(frame: pl.DataFrame, limits: pl.DataFrame, default_zone: str) -> pl.DataFrame:
    """Each meter's interval length, zone and limits, one row per meter number.

    A meter's interval length is the most common of its readings' (the shortest on a tie):
    meter XML does not give one, and a meter's readings normally all share it."""
    lengths = frame.group_by(METER).agg(
        pl.col("meter_id").first(),
        pl.col(LENGTH).min().alias("_shortest"),
        pl.col(LENGTH).max().alias("_longest"),
    )
    mixed = lengths.filter(pl.col("_shortest") != pl.col("_longest"))[METER]
    modes = (
        frame.filter(pl.col(METER).is_in(mixed.implode()))
        .group_by(METER)
        .agg(pl.col(LENGTH).mode().min().alias("_mode"))
    )
    return (
        lengths.join(modes, on=METER, how="left")
        .join(limits.select(LIMITS_SCHEMA.names()), on="meter_id", how="left")
        .sort(METER)
        .select(
            pl.coalesce("_mode", "_shortest").alias(METER_LENGTH),
            pl.col("timezone").fill_null(default_zone),
            "high_limit",
            "low_limit",
            pl.col("negative_allowed").fill_null(False),
        )
    )


def prepared(rows: pl.DataFrame, limits: pl.DataFrame, default_zone: str) -> pl.DataFrame:
    """rows (readings_schema) in ORDER with the shared columns; a meter without limits
    (no meter XML) has the connector's zone, none, and reads a forward flow."""
    ordered = rows if _in_order(rows) else rows.sort(*ORDER, maintain_order=True)
    day = pl.col("local_start").str.slice(0, 10).str.to_date("%Y-%m-%d")
    new_meter = (pl.col("meter_id") != pl.col("meter_id").shift(1)).fill_null(True)
    frame = ordered.with_row_index(ROW).with_columns(
        pl.col("interval_start").dt.epoch("us").alias(START),
        pl.col("interval_end").dt.epoch("us").alias(END),
        day.alias(LOCAL_DAY),
        (new_meter.cum_sum() - 1).alias(METER),
        (~new_meter).alias(SAME_METER),
    )
    frame = frame.with_columns(
        (pl.col(END) - pl.col(START)).alias(LENGTH),
        (new_meter | (pl.col(LOCAL_DAY) != pl.col(LOCAL_DAY).shift(1)).fill_null(True))
        .cum_sum()
        .alias(DAY),
    )
    meters = _per_meter(frame, limits, default_zone)
    return frame.with_columns(
        pl.lit(meters[name]).gather(pl.col(METER)).alias(name) for name in meters.columns
    )


def previous(column: str) -> pl.Expr:
    """The row before's value of column, null where it is of another meter."""
    return pl.when(pl.col(SAME_METER)).then(pl.col(column).shift(1))


def following(column: str) -> pl.Expr:
    """The row after's value of column, null where it is of another meter."""
    return pl.when(pl.col(SAME_METER).shift(-1)).then(pl.col(column).shift(-1))
