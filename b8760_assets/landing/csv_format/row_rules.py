"""The rules a CSV reading keeps on its own values, and the rejection each gives a row that
breaks it (the machinery and the interval rules every format shares: reading_rules.py).
"""

from functools import partial
from typing import Any

import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.config.meters import METER_ID_PATTERN
from b8760_assets.config.values import KNOWN_UNITS
from b8760_assets.landing.csv_format.timestamps import Clock, timestamp_problem
from b8760_assets.landing.formats import QUALITY_FLAGS, Rejection, quoted
from b8760_assets.landing.reading_rules import (
    RowRule,
    boundary,
    known_length,
    lengths_allowed,
    row_rejection,
    unaligned,
)

METER_ID_REGEX = f"^(?:{METER_ID_PATTERN.pattern})$"
TIMESTAMP_COLUMNS = {"start": "interval_start", "end": "interval_end"}


def row_rules(connector: ConnectorProperties) -> list[RowRule]:
    """The rules on one row's values. A reading that repeats an earlier one, which may be in
    another batch, is found over the whole file (repeated_readings.py)."""
    start, end = pl.col("interval_start"), pl.col("interval_end")
    layout = connector.csv_layout
    decimal = "a dot" if layout.decimal == "." else "a comma"
    example = "12" + layout.decimal + "5"
    return [
        RowRule(
            ~pl.col("meter_id").str.contains(METER_ID_REGEX).fill_null(False),
            lambda row: row_rejection(
                row,
                "csv.bad_meter_id",
                f"meter id {quoted(row['meter_id'])} is not valid; use a letter or digit, then "
                "up to 63 letters, digits, '_', '.' or '-'",
            ),
        ),
        *(
            RowRule(
                pl.col(target).is_null(),
                partial(_timestamp_rejection, column=column, connector=connector),
            )
            for column, target in TIMESTAMP_COLUMNS.items()
        ),
        RowRule(~known_length() & start.is_not_null() & end.is_not_null(), _bad_interval_rejection),
        RowRule(unaligned(), _unaligned_rejection),
        RowRule(
            ~pl.col("value_number").is_finite().fill_null(False),
            lambda row: row_rejection(
                row,
                "csv.bad_value",
                f"value {quoted(row['value'])} is not a finite number; write it like {example} "
                f"({decimal} for decimals, no thousands separators)",
            ),
        ),
        RowRule(
            pl.col("unit").is_not_null() & ~pl.col("unit").is_in(KNOWN_UNITS),
            lambda row: row_rejection(
                row,
                "csv.unknown_unit",
                f"unit {quoted(row['unit'])} is not a known unit; use one of "
                f"{', '.join(sorted(KNOWN_UNITS))} (case matters), or leave it empty for "
                f"connector {connector.name}'s unit ({connector.unit})",
            ),
        ),
        RowRule(
            pl.col("quality").is_not_null() & ~pl.col("quality").is_in(QUALITY_FLAGS),
            lambda row: row_rejection(
                row,
                "csv.unknown_quality",
                f"quality {quoted(row['quality'])} is not a quality flag; use "
                + ", ".join(f"{flag} ({meaning})" for flag, meaning in QUALITY_FLAGS.items())
                + ", or leave it empty",
            ),
        ),
    ]


def _timestamp_rejection(
    row: dict[str, Any], column: str, connector: ConnectorProperties
) -> Rejection:
    """A start or end that is unusable, named as the file's header names it. A layout's end
    is its start moved (wall_times.py): only its format or range can be wrong."""
    layout = connector.csv_layout
    wall_format = layout.timestamp_format
    return row_rejection(
        row,
        *timestamp_problem(
            layout.shown(column) if column in layout.columns else column,
            row[column],
            Clock.of(connector.timezone, layout),
            wall_format,
            in_zone=wall_format is None or column == "start",
        ),
    )


def _bad_interval_rejection(row: dict[str, Any]) -> Rejection:
    minutes = (row["interval_end"] - row["interval_start"]).total_seconds() / 60
    return row_rejection(
        row,
        "csv.bad_interval",
        f"the interval from start {quoted(row['start'])} to end {quoted(row['end'])} lasts "
        f"{minutes:g} minutes; {lengths_allowed()}",
    )


def _unaligned_rejection(row: dict[str, Any]) -> Rejection:
    """Intervals line up in UTC, so that each one falls inside one UTC meter-hour."""
    minutes = int((row["interval_end"] - row["interval_start"]).total_seconds() // 60)
    return row_rejection(
        row,
        "csv.unaligned_interval",
        f"the {minutes}-minute interval from start {quoted(row['start'])} "
        + boundary(row["interval_start"], row["interval_end"]),
    )


def line_break_rules(frame: pl.DataFrame) -> list[RowRule]:
    """A row is a line unless a quoted value holds a line break, which would shift the lines of
    every row after it; such a value is refused (only a file with a quote can have one)."""
    return [
        RowRule(
            pl.col(column).str.contains("\n", literal=True).fill_null(False),
            partial(_line_break_rejection, column=column),
        )
        for column in frame.columns
        if column != "line"
    ]


def _line_break_rejection(row: dict[str, Any], column: str) -> Rejection:
    return row_rejection(
        row,
        "csv.line_break_in_value",
        f"{column} {quoted(row[column])} holds a line break; a reading fits on one line",
    )
