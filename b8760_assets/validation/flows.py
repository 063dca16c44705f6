"""Negative readings and long runs of zeros: a forward flow (what a meter delivers) is never
below zero, and a meter that reads nothing for a day is more often stuck or disconnected than
idle. A meter reads a forward flow unless its meter XML says net (flow_direction="net")."""

import polars as pl

from b8760_assets.validation.found import Found, flagged, local_time, of_rows
from b8760_assets.validation.intervals import END, HOUR_US, ROW, SAME_METER, START, previous
from b8760_assets.validation.rules import NEGATIVES, ZERO_RUNS
from b8760_assets.validation.thresholds import Thresholds


def find_negatives(frame: pl.DataFrame) -> Found:
    """Negative readings of meters that may not read negative."""
    detail = pl.format("{} at {}", "value", local_time())
    return flagged(NEGATIVES, frame, (pl.col("value") < 0) & ~pl.col("negative_allowed"), detail)


def find_zero_runs(frame: pl.DataFrame, thresholds: Thresholds) -> Found:
    """The readings of each run of zeros, one after another without a gap, that lasts
    validation.zero.run.hours or longer."""
    zero = pl.col("value") == 0
    continues = (
        pl.col(SAME_METER) & previous("value").eq(0) & (previous(END) == pl.col(START))
    ).fill_null(False)
    runs = frame.select(ROW, START, END, zero=zero, run=(~continues).cum_sum()).filter("zero")
    long_runs = (
        runs.group_by("run")
        .agg(pl.col(ROW), hours=(pl.col(END).max() - pl.col(START).min()) / HOUR_US)
        .filter(pl.col("hours") >= thresholds.zero_run_hours)
        .explode(ROW)
    )
    detail = pl.format("zeros from {}", local_time())
    return flagged(ZERO_RUNS, frame, of_rows(long_runs[ROW]), detail)
