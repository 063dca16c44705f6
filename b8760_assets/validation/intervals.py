"""The readings as every rule reads them: ordered by meter and start, with the columns the
rules share worked out once (epoch microseconds, the local day, the meter's interval length
and limits)."""

import polars as pl

from b8760_assets.validation.thresholds import LIMITS_SCHEMA

ROW = "_row"
START, END, LENGTH = "_start", "_end", "_length"
LOCAL_DAY = "local_day"
METER_LENGTH = "_meter_length"
SAME_METER = "_same_meter"  # the row before is of the same meter
ORDER = ("meter_id", "interval_start", "interval_end", "uploaded_at", "source_file", "source_line")


def prepared(rows: pl.DataFrame, limits: pl.DataFrame, default_zone: str) -> pl.DataFrame:
    """rows (readings_schema) in ORDER with the shared columns; a meter without limits
    (no meter XML) has the connector's zone, none, and reads a forward flow.

    A meter's interval length is the most common of its readings' (the shortest on a tie):
    meter XML does not give one, and a meter's readings normally all share it."""
    frame = (
        rows.sort(*ORDER)
        .with_row_index(ROW)
        .with_columns(
            pl.col("interval_start").dt.epoch("us").alias(START),
            pl.col("interval_end").dt.epoch("us").alias(END),
            pl.col("local_start").str.slice(0, 10).str.to_date("%Y-%m-%d").alias(LOCAL_DAY),
        )
        .with_columns((pl.col(END) - pl.col(START)).alias(LENGTH))
    )
    lengths = frame.group_by("meter_id").agg(pl.col(LENGTH).mode().min().alias(METER_LENGTH))
    known = frame.join(lengths, on="meter_id", how="left", maintain_order="left").join(
        limits.select(LIMITS_SCHEMA.names()), on="meter_id", how="left", maintain_order="left"
    )
    return known.with_columns(
        pl.col("timezone").fill_null(default_zone),
        pl.col("negative_allowed").fill_null(False),
        (pl.col("meter_id") == pl.col("meter_id").shift(1)).fill_null(False).alias(SAME_METER),
    )


def previous(column: str) -> pl.Expr:
    """The row before's value of column, null where it is of another meter."""
    return pl.when(pl.col(SAME_METER)).then(pl.col(column).shift(1))


def following(column: str) -> pl.Expr:
    """The row after's value of column, null where it is of another meter."""
    return pl.when(pl.col(SAME_METER).shift(-1)).then(pl.col(column).shift(-1))
