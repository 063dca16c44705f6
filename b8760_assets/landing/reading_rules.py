"""The rules every format's readings keep, whatever the file said, checked a rule at a time
over whole columns (polars), never a row at a time: only the first row that breaks a rule
comes back to Python, to word its message.

An interval lasts 5, 15, 30 or 60 minutes, aligned in UTC, between the first and last
instants the platform stores. A meter-hour object holds the intervals that start in its UTC
hour, so an interval that crossed an hour boundary in UTC would belong to two objects:
alignment keeps it in one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from b8760_assets.landing.formats import Rejection

INTERVAL_MINUTES = (5, 15, 30, 60)
INTERVAL_MICROSECONDS = [minutes * 60_000_000 for minutes in INTERVAL_MINUTES]
# The first and last instants a reading may start or end at, both included: a day inside the
# years Python's datetime has (which the steps after the landing check use), for its local time.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
START, END = pl.col("interval_start"), pl.col("interval_end")


def known_length() -> pl.Expr:
    """Whether a reading's interval lasts one of INTERVAL_MINUTES (false where either end is
    missing)."""
    return (END - START).dt.total_microseconds().is_in(INTERVAL_MICROSECONDS).fill_null(False)


def unaligned() -> pl.Expr:
    """Whether an interval of a known length does not start on its boundary in UTC."""
    return known_length() & (START.dt.epoch("us") % (END - START).dt.total_microseconds() != 0)


def lengths_allowed() -> str:
    *most, last = INTERVAL_MINUTES
    return f"an interval lasts {', '.join(map(str, most))} or {last} minutes"


def boundary(start: datetime, end: datetime) -> str:
    """Where an interval from start to end should start, in words: 'starts at 14:10:00 UTC;
    a 15-minute interval starts at a multiple of 15 minutes past the hour in UTC'."""
    minutes = int((end - start).total_seconds() // 60)
    where = "on the hour" if minutes == 60 else f"at a multiple of {minutes} minutes past the hour"
    return (
        f"starts at {start.time().isoformat()} UTC; a {minutes}-minute interval starts {where} "
        "in UTC"
    )


@dataclass(frozen=True)
class RowRule:
    """A rule every reading keeps: which rows break it, and the rejection for one of them."""

    offending: pl.Expr
    rejection: Callable[[dict[str, Any]], Rejection]


def first_offense(frame: pl.DataFrame, rules: list[RowRule]) -> tuple[int, Rejection] | None:
    """The line of the earliest row that breaks any rule (the first rule, on a tie), and the
    rejection it earns."""
    found = offending_row_and_rule(frame, rules)
    if found is None:
        return None
    row, number = found
    offending = frame.row(row, named=True)
    return offending["line"], rules[number].rejection(offending)


def offending_row_and_rule(frame: pl.DataFrame, rules: list[RowRule]) -> tuple[int, int] | None:
    """The earliest row that breaks any rule, and the first rule it breaks."""
    firsts = (
        frame.lazy()
        .select(rule.offending.arg_true().first().alias(str(n)) for n, rule in enumerate(rules))
        .collect()
        .row(0)
    )
    offenders = [(row, number) for number, row in enumerate(firsts) if row is not None]
    return min(offenders) if offenders else None


def row_rejection(row: dict[str, Any], rule: str, problem: str) -> Rejection:
    return Rejection(rule, row["line"], f"line {row['line']}: {problem}")
