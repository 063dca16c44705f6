"""A CSV reading that repeats an earlier one (same meter, same start), which may be batches
apart: the file is read again for the rows whose hash repeats (reading_keys.py), to name
their lines.
"""

from typing import Any

import numpy as np
import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.csv_format import repeated_walls
from b8760_assets.landing.csv_format.blocks import row_batches
from b8760_assets.landing.csv_format.parsed_rows import (
    parsed_values,
    trimmed_values,
)
from b8760_assets.landing.csv_format.repeated_walls import NOTHING_SEEN, REPEATED_WALL
from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.formats import Rejection, quoted
from b8760_assets.landing.reading_keys import READING_KEY
from b8760_assets.landing.reading_rules import row_rejection


def first_repeated_reading(
    file: Source, connector: ConnectorProperties, repeated: np.ndarray, has_quotes: bool
) -> tuple[int, Rejection] | None:
    """The first row that repeats the meter and interval start of an earlier row, among the
    rows whose hash repeats: the file is read again, which only a file with a repeated hash
    (a repeated reading, or a 64-bit collision) costs.

    Trimmed values throughout: a row's meter and start read the same trimmed or as written
    when it passes as written, and a refused file's messages show values trimmed.
    """
    candidates = pl.Series(repeated, dtype=pl.UInt64).implode()
    start = pl.col("interval_start")
    # A row without a meter id breaks a rule on its own line, before any repeat of it.
    known = start.is_not_null() & pl.col("meter_id").is_not_null()
    found, seen = [], NOTHING_SEEN
    for batch in row_batches(file, has_quotes, connector.csv_layout):
        parsed = parsed_values(trimmed_values(batch.as_text()), connector, seen)
        if REPEATED_WALL in parsed.columns:
            seen = repeated_walls.added(seen, repeated_walls.counts(parsed))
        found.append(
            parsed.filter(known & READING_KEY.is_in(candidates)).select(
                "meter_id", "interval_start", "interval_end", "start", "end", "line"
            )
        )
    rows = pl.concat(found)
    repeats = rows.filter(~pl.struct("meter_id", start).is_first_distinct())
    if repeats.is_empty():
        return None
    row = repeats.row(0, named=True)
    return row["line"], _repeated_reading_rejection(rows, row)


def _repeated_reading_rejection(frame: pl.DataFrame, row: dict[str, Any]) -> Rejection:
    same_reading = (pl.col("meter_id") == row["meter_id"]) & (
        pl.col("interval_start") == row["interval_start"]
    )
    first = frame.filter(same_reading).item(0, "line")
    return row_rejection(
        row,
        "csv.duplicate_reading",
        f"meter {quoted(row['meter_id'])} already has a reading for the interval starting "
        f"{quoted(row['start'])}, on line {first}; give each meter's interval once per file",
    )
