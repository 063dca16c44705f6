"""One batch checked on its own: its rows parsed, its first row that breaks a rule, its first
value with a line break, the keys of its readings.

The rest of a file's verdict depends on the batches before it (format.py puts them
together). A clean batch is checked the cheapest way first (values read as numbers, as
written); only a batch that fails is read again as text, and trimmed, to word the problem.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.csv_format import repeated_walls
from b8760_assets.landing.csv_format.blocks import RowBatch
from b8760_assets.landing.csv_format.parsed_rows import (
    as_readings,
    parsed_values,
    trimmed_values,
)
from b8760_assets.landing.csv_format.repeated_walls import NOTHING_SEEN, REPEATED_WALL
from b8760_assets.landing.csv_format.row_rules import line_break_rules, row_rules
from b8760_assets.landing.formats import Rejection
from b8760_assets.landing.reading_keys import batch_keys
from b8760_assets.landing.reading_rules import first_offense, offending_row_and_rule


@dataclass(frozen=True)
class BatchVerdict:
    """What one batch holds, checked on its own: the rest of the verdict depends on the
    batches before it (format.py)."""

    line_break: Rejection | None  # the batch's first value with a line break
    offense: tuple[int, Rejection] | None  # its first row that breaks a rule
    keys: np.ndarray  # hashes of its rows' (meter, start)
    rows: int
    readings: Any  # its readings (through the transform), when it breaks no rule
    batch: RowBatch  # to check again with the counts of the batches before (repeated_walls)
    walls: pl.DataFrame  # how many lines each (meter, repeated wall time) has here


def batch_verdict(
    batch: RowBatch,
    connector: ConnectorProperties,
    has_quotes: bool,
    transform: Callable[[pl.DataFrame], Any] | None,
    seen: pl.DataFrame = NOTHING_SEEN,
) -> BatchVerdict:
    """The batch checked on its own, `seen` the counts of repeated wall times before it
    (file.csv.dst.repeated = file_order)."""
    frame, offense, line_break = _read_and_check(batch, connector, has_quotes, seen)
    readings = None
    if offense is None and line_break is None and frame.height:
        readings = as_readings(frame, connector)
        if transform is not None:
            readings = transform(readings)
    walls = repeated_walls.counts(frame) if REPEATED_WALL in frame.columns else NOTHING_SEEN
    return BatchVerdict(
        line_break, offense, batch_keys(frame), frame.height, readings, batch, walls
    )


def _read_and_check(
    batch: RowBatch, connector: ConnectorProperties, has_quotes: bool, seen: pl.DataFrame
) -> tuple[pl.DataFrame, tuple[int, Rejection] | None, Rejection | None]:
    """The batch's rows parsed, its first row that breaks a rule on its values, and its first
    value with a line break."""
    if batch.with_numbers is not None and (numbers := batch.with_numbers()) is not None:
        # Values read as numbers that pass every rule pass as text too, to the same numbers
        # (trimmed if need be); otherwise the batch is read as text, which words the problem
        # from the values as written.
        if (frame := _parsed_if_clean(numbers, connector, seen)) is not None:
            return frame, None, None
    text = batch.as_text()
    line_break = None
    if has_quotes:
        found = first_offense(text, line_break_rules(text))
        line_break = found and found[1]
    # Read as written first: trimming every value would add almost half to the check of a
    # clean file, and few files need it. A value with whitespace around it, or a "", fails as
    # written (polars skips only whitespace before a timestamp, to the same instant), so a
    # batch that passes as written reads the same trimmed.
    frame, offense = _parse_and_find_offense(text, connector, seen)
    if offense is not None:
        trimmed = trimmed_values(text)
        if not trimmed.equals(text):
            frame, offense = _parse_and_find_offense(trimmed, connector, seen)
    return frame, offense, line_break


def _parse_and_find_offense(
    text: pl.DataFrame, connector: ConnectorProperties, seen: pl.DataFrame
) -> tuple[pl.DataFrame, tuple[int, Rejection] | None]:
    """The batch's rows parsed, and its first row that breaks a rule on its values."""
    frame = parsed_values(text, connector, seen)
    if frame.height == 0:
        return frame, None
    return frame, first_offense(frame, row_rules(connector))


def _parsed_if_clean(
    text: pl.DataFrame, connector: ConnectorProperties, seen: pl.DataFrame
) -> pl.DataFrame | None:
    """The batch's rows parsed if none breaks a rule on its values (nothing is worded)."""
    frame = parsed_values(text, connector, seen)
    if frame.height and offending_row_and_rule(frame, row_rules(connector)):
        return None
    return frame
