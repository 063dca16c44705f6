"""What a rule found in the prepared readings: which readings it flags, and its cases for
the check (rules.CASES_SCHEMA)."""

from dataclasses import dataclass

import polars as pl

from b8760_assets.validation.intervals import LOCAL_DAY, ROW
from b8760_assets.validation.rules import CASES_SCHEMA


@dataclass(frozen=True)
class Found:
    """flags: one boolean per prepared reading (True: it breaks the rule); cases: one row per
    meter and local day (CASES_SCHEMA)."""

    flags: pl.Series
    cases: pl.DataFrame


def flagged(rule: str, frame: pl.DataFrame, flags: pl.Expr, detail: pl.Expr) -> Found:
    """A rule that flags readings: its cases are the flagged readings per meter and local
    day, with `detail` of the day's first."""
    marked = frame.select(flags.fill_null(False)).to_series()
    return Found(marked, cases_of(rule, frame.filter(marked), detail))


def cases_of(rule: str, readings: pl.DataFrame, detail: pl.Expr) -> pl.DataFrame:
    """The cases of a rule's flagged readings: per meter and local day, how many, and
    `detail` of the day's first."""
    cases = (
        readings.group_by("meter_id", LOCAL_DAY, maintain_order=True)
        .agg(intervals=pl.len().cast(pl.Int64), detail=detail.first())
        .select(pl.lit(rule).alias("rule"), "meter_id", LOCAL_DAY, "intervals", "detail")
    )
    return cases.cast(CASES_SCHEMA)


def of_rows(rows: pl.Series) -> pl.Expr:
    """Flags for the prepared readings at these row numbers (intervals.ROW)."""
    return pl.col(ROW).is_in(rows.implode())


def local_time() -> pl.Expr:
    """A reading's start as its detail shows it: local, to the minute, with its offset."""
    return pl.col("local_start").str.slice(11, 5) + pl.col("local_start").str.slice(19)
