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
from b8760_assets.landing.csv_format.blocks import RowBatch
from b8760_assets.landing.csv_format.parsed_rows import (
    as_readings,
    parsed_values,
    trimmed_values,
)
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


def batch_verdict(
    batch: RowBatch,
    connector: ConnectorProperties,
    has_quotes: bool,
    transform: Callable[[pl.DataFrame], Any] | None,
) -> BatchVerdict:
    frame, offense, line_break = _read_and_check(batch, connector, has_quotes)
    readings = None
    if offense is None and line_break is None and frame.height:
        readings = as_readings(frame, connector)
        if transform is not None:
            readings = transform(readings)
    return BatchVerdict(line_break, offense, batch_keys(frame), frame.height, readings)


def _read_and_check(
    batch: RowBatch, connector: ConnectorProperties, has_quotes: bool
) -> tuple[pl.DataFrame, tuple[int, Rejection] | None, Rejection | None]:
    """The batch's rows parsed, its first row that breaks a rule on its values, and its first
    value with a line break."""
    if batch.with_numbers is not None and (numbers := batch.with_numbers()) is not None:
        # Values read as numbers that pass every rule pass as text too, to the same numbers
        # (trimmed if need be); otherwise the batch is read as text, which words the problem
        # from the values as written.
        if (frame := _parsed_if_clean(numbers, connector)) is not None:
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
    frame, offense = _parse_and_find_offense(text, connector)
    if offense is not None:
        trimmed = trimmed_values(text)
        if not trimmed.equals(text):
            frame, offense = _parse_and_find_offense(trimmed, connector)
    return frame, offense, line_break


def _parse_and_find_offense(
    text: pl.DataFrame, connector: ConnectorProperties
) -> tuple[pl.DataFrame, tuple[int, Rejection] | None]:
    """The batch's rows parsed, and its first row that breaks a rule on its values."""
    frame = parsed_values(text, connector.timezone)
    if frame.height == 0:
        return frame, None
    return frame, first_offense(frame, row_rules(connector))


def _parsed_if_clean(text: pl.DataFrame, connector: ConnectorProperties) -> pl.DataFrame | None:
    """The batch's rows parsed if none breaks a rule on its values (nothing is worded)."""
    frame = parsed_values(text, connector.timezone)
    if frame.height and offending_row_and_rule(frame, row_rules(connector)):
        return None
    return frame
