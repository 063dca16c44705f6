"""Duplicates and overlaps: two readings of one meter's interval that differ in value (in one
file or two of the hour's), and readings whose intervals overlap without sharing a start
(a 15-minute reading inside an hourly one). Repeats of the same value are no conflict."""

import polars as pl

from b8760_assets.validation.found import Found, flagged, local_time, of_rows
from b8760_assets.validation.intervals import END, METER, ROW, SAME_METER, START, previous
from b8760_assets.validation.rules import DUPLICATES, OVERLAPS


def find_duplicates(frame: pl.DataFrame) -> Found:
    """Every reading of an interval whose readings differ in value."""
    repeat = (previous(START) == pl.col(START)).fill_null(False)
    candidates = frame.filter(repeat | repeat.shift(-1).fill_null(False))
    conflicting = (
        candidates.group_by("meter_id", START)
        .agg(pl.col(ROW), values=pl.col("value").n_unique())
        .filter(pl.col("values") > 1)
        .explode(ROW)
    )
    detail = pl.format("{} files, e.g. at {}", pl.col("source_file").n_unique(), local_time())
    return flagged(DUPLICATES, frame, of_rows(conflicting[ROW]), detail)


def find_overlaps(frame: pl.DataFrame) -> Found:
    """Readings that start inside an earlier reading of their meter (with another start),
    and the reading just before each.

    Where no reading starts before the one before it ends, none starts inside any earlier
    one: only the meters with such a reading need their latest end so far, the costly part.
    """
    after_previous = pl.col(START) != pl.col(START).shift(1)
    suspects = frame.filter(
        pl.col(SAME_METER) & (pl.col(START) < pl.col(END).shift(1)) & after_previous
    )[METER]
    meters = frame.filter(pl.col(METER).is_in(suspects.unique().implode()))
    latest_end = pl.col(END).cum_max().over(METER)
    inside = pl.col(SAME_METER) & (pl.col(START) < latest_end.shift(1)) & after_previous
    overlapping = meters.filter(inside | inside.shift(-1).fill_null(False))[ROW]
    detail = pl.format("from {}", local_time())
    return flagged(OVERLAPS, frame, of_rows(overlapping), detail)
