"""The CSV readings format: a header naming the columns, then one reading per line.

    meter_id,start,end,value,unit,quality
    3,2021-11-08T14:00:00-05:00,2021-11-08T15:00:00-05:00,12.5,kWh,A
    3,2021-11-08T15:00:00,2021-11-08T16:00:00,11.75,,

Lines end with LF or CRLF; a lone CR (the line end of classic Mac OS) refuses the file
(csv.line_ends), as it would otherwise run every reading into one line. Whitespace around a
value or a column name is ignored, and an empty value, quoted ("") or not, is no value: the
connector's unit, no quality flag. A line whose values are all empty holds no reading.

A file is checked a column at a time (polars), never a row at a time: a year of 15-minute
readings for a few hundred meters is millions of lines. Every value is read as text first,
so that a bad one becomes a Rejection naming its line instead of a parse error; only the
first offending row is then looked at in Python, to word the message.
"""

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.config.meters import METER_ID_PATTERN
from b8760_assets.config.values import KNOWN_UNITS
from b8760_assets.landing.formats import READINGS_SCHEMA, FormatRejected, Rejection, quoted

REQUIRED_COLUMNS = ("meter_id", "start", "end", "value", "unit")
OPTIONAL_COLUMNS = ("quality",)

QUALITY_FLAGS = {
    "A": "actual, measured by the meter",
    "E": "estimated by the connector or its source system",
    "M": "missing: the meter recorded nothing and the value is a placeholder",
}

INTERVAL_MINUTES = (5, 15, 30, 60)

# ISO 8601 with seconds (a fraction is allowed). With a UTC offset (Z, ±HH:MM, ±HHMM or ±HH)
# a time is absolute; without one it is wall time in the connector's time zone.
WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%#z"
WALL_TIME = "%Y-%m-%dT%H:%M:%S%.f"
TIMESTAMP_EXAMPLE = "2021-11-08T14:00:00-05:00"
# The years Python's datetime has, which the steps after this one use.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)

# A message lists at most this many of the columns a header gets wrong.
SHOWN_COLUMNS = 10

HEADER_HINT = (
    f"the first line must name the columns {', '.join(REQUIRED_COLUMNS)} "
    f"(and optionally {', '.join(OPTIONAL_COLUMNS)}), in any order"
)
UTF8_BOM = b"\xef\xbb\xbf"
UTC_TIME = READINGS_SCHEMA["interval_start"]
TIMESTAMP_COLUMNS = {"start": "interval_start", "end": "interval_end"}
METER_ID_REGEX = f"^(?:{METER_ID_PATTERN.pattern})$"
INTERVAL_MICROSECONDS = [minutes * 60_000_000 for minutes in INTERVAL_MINUTES]


class CsvFormat:
    """Readings as CSV text (UTF-8, with or without a BOM; LF or CRLF line ends)."""

    name = "csv"
    hint = "a CSV file has a name ending in .csv or a first line naming the columns " + ", ".join(
        REQUIRED_COLUMNS
    )

    def detect(self, head: bytes, name: str) -> bool:
        return name.lower().endswith(".csv") or b"meter_id" in head.split(b"\n", 1)[0]

    def read(self, data: bytes, connector: ConnectorProperties) -> pl.DataFrame:
        _check_line_ends(data)
        _check_header(data)
        text = _read_text(data)
        try:
            return _readings(text, connector)
        except FormatRejected:
            # Read as written first: trimming every value would add almost half to the check of
            # a clean file, and few files need it. A value with whitespace around it, or a "",
            # fails as written (polars skips only whitespace before a timestamp, to the same
            # instant), so a file that passes as written reads the same trimmed.
            trimmed = _trimmed(text)
            if trimmed.equals(text):
                raise
            return _readings(trimmed, connector)


def _readings(text: pl.DataFrame, connector: ConnectorProperties) -> pl.DataFrame:
    """The readings in the text columns, or FormatRejected for the first row that breaks a rule."""
    text = _without_blank_lines(text)
    if text.height == 0:
        raise FormatRejected(
            Rejection(
                "csv.no_readings",
                None,
                "the file has no readings; put one reading per line under the header",
            )
        )
    frame = _parsed(text, connector.timezone)
    _reject_first_offending_row(frame, _row_rules(frame, connector))
    return (
        frame.lazy()  # lazy: an eager select would first copy the columns into equal chunks
        .select(
            "meter_id",
            "interval_start",
            "interval_end",
            pl.col("value_number").alias("value"),
            pl.col("unit").fill_null(connector.unit),
            "quality",
            pl.col("line").cast(pl.Int64),
        )
        .match_to_schema(READINGS_SCHEMA)
        .collect()
    )


def _check_line_ends(data: bytes) -> None:
    """Every CR is part of a CRLF line end. csv.line_ends names the line of the first that is
    not: polars would run a file of lone CRs into one line, and Python's csv refuse it."""
    lone_cr = re.search(rb"\r(?!\n)", data) if b"\r" in data else None
    if lone_cr is None:
        return
    line = data.count(b"\n", 0, lone_cr.start()) + 1
    raise FormatRejected(
        Rejection(
            "csv.line_ends",
            line,
            f"line {line}: holds a carriage return (CR) that is not part of a CRLF line end, "
            "as in a file saved with classic Mac OS line ends; end each line with LF or CRLF "
            "(Unix or Windows line ends), and keep CRs out of values",
        )
    )


def _check_header(data: bytes) -> None:
    """The header is line 1 and names each known column once, all required ones included."""
    end = data.find(b"\n")
    header = _utf8(data, len(data) if end < 0 else end).removesuffix("\r")
    try:
        # strict: a quote left open would run into the next lines, where polars reads the header
        columns = [column.strip() for column in next(csv.reader([header], strict=True), [])]
    except csv.Error as bad:  # bad quoting, or a name beyond csv's field size limit
        raise FormatRejected(
            Rejection(
                "csv.bad_header",
                1,
                f"line 1: the header {quoted(header)} is not readable as CSV ({bad}); "
                f"{HEADER_HINT}, separated by commas",
            )
        ) from None
    repeated = sorted(column for column, count in Counter(columns).items() if count > 1)
    unknown = [column for column in columns if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if repeated:
        rule = "csv.duplicate_column"
        problem = f"the header names {_listed(repeated)} more than once; name each column once"
    elif unknown:
        rule = "csv.unknown_column"
        problem = f"the header names unknown column(s) {_listed(unknown)}; {HEADER_HINT}"
    elif missing:
        rule = "csv.missing_column"
        problem = f"the header {quoted(header)} lacks {', '.join(missing)}; {HEADER_HINT}"
    else:
        return
    raise FormatRejected(Rejection(rule, 1, f"line 1: {problem}"))


def _listed(values: list[str]) -> str:
    """The values quoted, up to SHOWN_COLUMNS of them: a header may name thousands."""
    shown = ", ".join(quoted(value) for value in values[:SHOWN_COLUMNS])
    if len(values) > SHOWN_COLUMNS:
        shown += f" and {len(values) - SHOWN_COLUMNS:,} more"
    return shown


def _read_text(data: bytes) -> pl.DataFrame:
    """Every column as text (an empty cell is null), with each row's line in the file.

    A row is a line unless a quoted value holds a line break, which would shift the lines of
    every row after it; such a value is refused (only a file with a quote can have one).
    """
    try:
        frame = pl.read_csv(data, infer_schema=False, row_index_name="line", row_index_offset=2)
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(_unreadable(data, error)) from None
    frame = frame.rename(lambda column: column.strip())
    if b'"' in data:
        _reject_first_offending_row(
            frame,
            [
                _RowRule(
                    pl.col(column).str.contains("\n", literal=True).fill_null(False),
                    lambda row, column=column: _at(
                        row,
                        "csv.line_break_in_value",
                        f"{column} {quoted(row[column])} holds a line break; "
                        "a reading fits on one line",
                    ),
                )
                for column in frame.columns
                if column != "line"
            ],
        )
    if "quality" not in frame.columns:
        frame = frame.with_columns(quality=pl.lit(None, pl.String))
    return frame


def _unreadable(data: bytes, error: Exception) -> Rejection:
    """Why polars could not read the file, found again line by line: this only runs on a file
    already refused, so it may take its time."""
    rows = csv.reader(io.StringIO(_utf8(data, len(data)), newline=""), strict=True)
    width = len(next(rows))
    line = rows.line_num + 1
    try:
        for fields in rows:
            if len(fields) > width:
                return Rejection(
                    "csv.too_many_fields",
                    line,
                    f"line {line}: {quoted(','.join(fields))} has {len(fields)} fields but the "
                    f"header names {width} columns; quote values that hold a comma, or name "
                    "the column in the header",
                )
            line = rows.line_num + 1
    except csv.Error as bad:
        return Rejection(
            "csv.bad_quoting",
            line,
            f'line {line}: {bad}; a quoted value starts and ends with " and doubles any " in it',
        )
    first_line = str(error).strip().splitlines()[0]
    return Rejection(
        "csv.unreadable", None, f"the file is not readable as CSV ({first_line}); save it as CSV"
    )


def _utf8(data: bytes, end: int) -> str:
    """The text of data[:end] without its byte order mark; csv.not_utf8 names the line of the
    first byte that is not UTF-8."""
    skipped = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    try:
        return data[skipped:end].decode("utf-8")
    except UnicodeDecodeError as error:
        position = skipped + error.start
    line = data.count(b"\n", 0, position) + 1
    line_start = data.rfind(b"\n", 0, position) + 1
    line_end = data.find(b"\n", position)
    shown = data[line_start : len(data) if line_end < 0 else line_end].decode("utf-8", "replace")
    raise FormatRejected(
        Rejection(
            "csv.not_utf8",
            line,
            f"line {line}: {quoted(shown)} holds byte 0x{data[position]:02X}, which is not UTF-8 "
            "(the file may have been saved as Windows-1252 or Latin-1); save it as UTF-8",
        )
    )


def _trimmed(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value without the whitespace around it; null where nothing is left, so that a
    quoted empty value ("") is as empty as an unquoted one."""
    return frame.with_columns(
        pl.col(column).str.strip_chars().replace("", None)
        for column in frame.columns
        if column != "line"
    )


def _without_blank_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank lines (such as the extra line end many editors leave), and lines of empty values
    (such as a spreadsheet's trailing ,,,,, rows), hold no reading: skipped."""
    if frame["meter_id"].null_count() == 0:
        return frame
    return frame.filter(~pl.all_horizontal(pl.exclude("line").is_null()))


def _parsed(text: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """The text columns, with start and end as UTC instants and value as a number beside them;
    null where a value is unusable, which a row rule then reports."""
    return text.with_columns(
        *(
            pl.col(column)
            .map_batches(partial(_utc_times, timezone=timezone), return_dtype=UTC_TIME)
            .alias(target)
            for column, target in TIMESTAMP_COLUMNS.items()
        ),
        value_number=pl.col("value").cast(pl.Float64, strict=False),
    )


def _utc_times(text: pl.Series, timezone: str) -> pl.Series:
    """A column of timestamps as UTC instants: offset-bearing ones as they say, others as wall
    time in the connector's zone; null where neither reads or the year is out of range.

    A file keeps to one style, so the style of its first value is tried on the whole column
    first, and the other style only if some values are left.
    """
    readers = [_offset_times_to_utc, partial(_wall_times_to_utc, timezone=timezone)]
    if _offset_times_to_utc(text.head(1)).null_count():
        readers.reverse()
    first, other = readers
    utc = first(text)
    if utc.null_count() > text.null_count():
        utc = utc.fill_null(other(text))
    return pl.select(pl.when(utc.is_between(EARLIEST, LATEST)).then(utc)).to_series()


def _offset_times_to_utc(text: pl.Series) -> pl.Series:
    return text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")


def _wall_times_to_utc(text: pl.Series, timezone: str) -> pl.Series:
    """Wall times in the connector's zone as UTC; null where one happens twice or never.

    Each distinct wall time is placed in the zone once (a file repeats every hour for each of
    its meters): that costs a fraction of placing every row.
    """
    wall = text.str.to_datetime(WALL_TIME, strict=False, time_unit="us")
    walls = wall.unique()
    utc = walls.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null")
    return wall.replace_strict(walls, utc.dt.convert_time_zone("UTC"), default=None)


@dataclass(frozen=True)
class _RowRule:
    """A rule every reading keeps: which rows break it, and the rejection for one of them."""

    offending: pl.Expr
    rejection: Callable[[dict[str, Any]], Rejection]


def _reject_first_offending_row(frame: pl.DataFrame, rules: list[_RowRule]) -> None:
    """Refuse the file for the earliest row that breaks any rule (the first rule, on a tie)."""
    firsts = (
        frame.lazy()
        .select(rule.offending.arg_true().first().alias(str(n)) for n, rule in enumerate(rules))
        .collect()
        .row(0)
    )
    offenders = [(row, number) for number, row in enumerate(firsts) if row is not None]
    if offenders:
        row, number = min(offenders)
        raise FormatRejected(rules[number].rejection(frame.row(row, named=True)))


def _at(row: dict[str, Any], rule: str, problem: str) -> Rejection:
    return Rejection(rule, row["line"], f"line {row['line']}: {problem}")


def _row_rules(frame: pl.DataFrame, connector: ConnectorProperties) -> list[_RowRule]:
    start, end = pl.col("interval_start"), pl.col("interval_end")
    duration = (end - start).dt.total_microseconds()
    known_length = duration.is_in(INTERVAL_MICROSECONDS).fill_null(False)
    rules = [
        _RowRule(
            ~pl.col("meter_id").str.contains(METER_ID_REGEX).fill_null(False),
            lambda row: _at(
                row,
                "csv.bad_meter_id",
                f"meter id {quoted(row['meter_id'])} is not valid; use a letter or digit, then "
                "up to 63 letters, digits, '_', '.' or '-'",
            ),
        ),
        *(
            _RowRule(
                pl.col(target).is_null(),
                lambda row, column=column: _timestamp_rejection(row, column, connector.timezone),
            )
            for column, target in TIMESTAMP_COLUMNS.items()
        ),
        _RowRule(~known_length & start.is_not_null() & end.is_not_null(), _bad_interval_rejection),
        _RowRule(known_length & (start.dt.epoch("us") % duration != 0), _unaligned_rejection),
        _RowRule(
            ~pl.col("value_number").is_finite().fill_null(False),
            lambda row: _at(
                row,
                "csv.bad_value",
                f"value {quoted(row['value'])} is not a finite number; write it like 12.5 "
                "(a dot for decimals, no thousands separators)",
            ),
        ),
        _RowRule(
            pl.col("unit").is_not_null() & ~pl.col("unit").is_in(KNOWN_UNITS),
            lambda row: _at(
                row,
                "csv.unknown_unit",
                f"unit {quoted(row['unit'])} is not a known unit; use one of "
                f"{', '.join(sorted(KNOWN_UNITS))} (case matters), or leave it empty for "
                f"connector {connector.name}'s unit ({connector.unit})",
            ),
        ),
        _RowRule(
            pl.col("quality").is_not_null() & ~pl.col("quality").is_in(QUALITY_FLAGS),
            lambda row: _at(
                row,
                "csv.unknown_quality",
                f"quality {quoted(row['quality'])} is not a quality flag; use "
                + ", ".join(f"{flag} ({meaning})" for flag, meaning in QUALITY_FLAGS.items())
                + ", or leave it empty",
            ),
        ),
    ]
    if _may_repeat_readings(frame):
        rules.append(
            _RowRule(
                start.is_not_null() & ~pl.struct("meter_id", start).is_first_distinct(),
                lambda row: _repeated_reading_rejection(frame, row),
            )
        )
    return rules


def _timestamp_rejection(row: dict[str, Any], column: str, timezone: str) -> Rejection:
    """Why a start or end is unusable: not a timestamp at all, a wall time that the
    connector's time zone has twice (clocks going back) or never (clocks going forward), or a
    time out of range.

    Only text and flags come back to Python: a parsed year may be one datetime cannot hold.
    """
    text = pl.lit(row[column], pl.String)
    wall = text.str.to_datetime(WALL_TIME, strict=False, time_unit="us")
    offset = text.str.to_datetime(WITH_OFFSET, strict=False, time_unit="us")
    shown = f"{column} {quoted(row[column])}"
    parsed, is_time, earliest, latest, only = pl.select(
        wall.is_not_null().alias("parsed"),
        (wall.is_not_null() | offset.is_not_null()).alias("is_time"),
        *(
            wall.dt.replace_time_zone(timezone, ambiguous=choice, non_existent="null")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
            .alias(choice)
            for choice in ("earliest", "latest", "null")
        ),
    ).row(0)
    if parsed and earliest is None:
        return _at(
            row,
            "timestamp.nonexistent_local_time",
            f"{shown} does not exist in {timezone} (clocks go forward over it); correct it, "
            f"or write it with its UTC offset, e.g. {TIMESTAMP_EXAMPLE}",
        )
    if earliest is not None and only is None:
        return _at(
            row,
            "timestamp.ambiguous_local_time",
            f"{shown} happens twice in {timezone} (clocks go back over it); write it with its "
            f"UTC offset: {earliest} or {latest}",
        )
    if is_time:
        return _at(
            row,
            "csv.bad_timestamp",
            f"{shown} is out of range: a reading falls between {EARLIEST.date().isoformat()} "
            f"and {LATEST.date().isoformat()} (UTC); check its year",
        )
    return _at(
        row,
        "csv.bad_timestamp",
        f"{shown} is not an ISO 8601 timestamp (expected e.g. {TIMESTAMP_EXAMPLE}, or "
        f"{TIMESTAMP_EXAMPLE[:19]} for {timezone} time)",
    )


def _bad_interval_rejection(row: dict[str, Any]) -> Rejection:
    minutes = (row["interval_end"] - row["interval_start"]).total_seconds() / 60
    *most, last = INTERVAL_MINUTES
    return _at(
        row,
        "csv.bad_interval",
        f"the interval from start {quoted(row['start'])} to end {quoted(row['end'])} lasts "
        f"{minutes:g} minutes; an interval lasts {', '.join(map(str, most))} or {last} minutes",
    )


def _unaligned_rejection(row: dict[str, Any]) -> Rejection:
    """Intervals line up in UTC, so that each one falls inside one UTC meter-hour."""
    minutes = int((row["interval_end"] - row["interval_start"]).total_seconds() // 60)
    boundary = "on the hour"
    if minutes != 60:
        boundary = f"at a multiple of {minutes} minutes past the hour"
    return _at(
        row,
        "csv.unaligned_interval",
        f"the {minutes}-minute interval from start {quoted(row['start'])} starts at "
        f"{row['interval_start']:%H:%M:%S} UTC; a {minutes}-minute interval starts {boundary} "
        "in UTC",
    )


def _may_repeat_readings(frame: pl.DataFrame) -> bool:
    """Whether two rows might give the same meter and interval start. All-distinct hashes prove
    they do not, several times faster than comparing the pairs themselves."""
    start = pl.col("interval_start")
    keys = (
        frame.lazy()
        .select((pl.col("meter_id").hash() ^ start.hash()).filter(start.is_not_null()))
        .collect()
        .to_series()
    )
    return keys.n_unique() < keys.len()


def _repeated_reading_rejection(frame: pl.DataFrame, row: dict[str, Any]) -> Rejection:
    same_reading = (pl.col("meter_id") == row["meter_id"]) & (
        pl.col("interval_start") == row["interval_start"]
    )
    first = frame.filter(same_reading).item(0, "line")
    return _at(
        row,
        "csv.duplicate_reading",
        f"meter {quoted(row['meter_id'])} already has a reading for the interval starting "
        f"{quoted(row['start'])}, on line {first}; give each meter's interval once per file",
    )
