"""The CSV readings format: a header naming the columns, then one reading per line.

    meter_id,start,end,value,unit,quality
    3,2021-11-08T14:00:00-05:00,2021-11-08T15:00:00-05:00,12.5,kWh,A
    3,2021-11-08T15:00:00,2021-11-08T16:00:00,11.75,,

Lines end with LF or CRLF; a lone CR (the line end of classic Mac OS) refuses the file
(csv.line_ends), as it would otherwise run every reading into one line. Whitespace around a
value or a column name is ignored, and an empty value, quoted ("") or not, is no value: the
connector's unit, no quality flag. A line whose values are all empty holds no reading; a
line with fewer fields than the header leaves the columns it stops before empty, which only
unit and quality may be (csv.too_few_fields).

A file is checked a column at a time (polars), never a row at a time: a year of 15-minute
readings for a few hundred meters is millions of lines. Every value is read as text first,
so that a bad one becomes a Rejection naming its line instead of a parse error; only the
first offending row is then looked at in Python, to word the message.

A file is read a batch of rows at a time, so that checking a 1 GB file takes the memory of
a few batches, not of the file, and the verdict is the one a read of the whole file would
give (test_landing_checks_batched.py holds them to it). A file without a double quote has a
row per line: it is cut into blocks of whole lines, each read with the header in front; a
file with quotes goes through polars' streaming reader. Batches are checked (and
transformed, by a caller that normalizes them) in threads, and their verdicts put together in
file order: whatever breaks the file's structure (a lone CR, the header, bytes polars cannot
read as CSV, a line break in a value) refuses it wherever it is, before any rule on a
reading's values; of those rules, the earliest offending line wins. A reading that repeats
an earlier one may be batches apart: each row's (meter, start) is kept as an 8-byte hash (on
disk beyond KEYS_IN_MEMORY), and only a file with a repeated hash is read a second time, to
find the exact lines.
"""

import codecs
import csv
import io
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.config.meters import METER_ID_PATTERN
from b8760_assets.config.values import KNOWN_UNITS
from b8760_assets.landing.formats import READINGS_SCHEMA, FormatRejected, Rejection, quoted
from b8760_assets.ordered_map import ordered_map

REQUIRED_COLUMNS = ("meter_id", "start", "end", "value", "unit")
OPTIONAL_COLUMNS = ("quality",)
# The columns a reading cannot leave empty (an empty unit is the connector's, an empty
# quality none), so a line whose fields stop before one of them is short, not a bad value.
NEVER_EMPTY = ("meter_id", "start", "end", "value")

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
# The first and last instants a reading may start or end at, both included: a day inside the
# years Python's datetime has (which the steps after this one use), for its local time.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)

# A message lists at most this many of the columns a header gets wrong.
SHOWN_COLUMNS = 10

HEADER_HINT = (
    f"the first line must name the columns {', '.join(REQUIRED_COLUMNS)} "
    f"(and optionally {', '.join(OPTIONAL_COLUMNS)}), in any order"
)
UTF8_BOM = b"\xef\xbb\xbf"
TIMESTAMP_COLUMNS = {"start": "interval_start", "end": "interval_end"}
METER_ID_REGEX = f"^(?:{METER_ID_PATTERN.pattern})$"
INTERVAL_MICROSECONDS = [minutes * 60_000_000 for minutes in INTERVAL_MINUTES]
# Rows per batch of polars' streaming reader (files with quotes); a file without quotes is
# read in blocks of CHUNK_BYTES. The memory a check takes is a few batches' worth.
BATCH_ROWS = 200_000
# Reading keys held in memory before they go to disk (8 bytes each), and the parts they are
# spread over there by their first bits.
KEYS_IN_MEMORY = 2_000_000
KEY_PART_BITS = 4
KEY_PARTS = 2**KEY_PART_BITS
# Threads that read, check and transform batches at once.
WORKERS = min(4, os.cpu_count() or 1)
T = TypeVar("T")
# Bytes read at a time: the blocks of lines, and the scans for line ends, quotes and UTF-8.
CHUNK_BYTES = 16 * 1024 * 1024
# A column is parsed value by value only when most of its values are distinct; otherwise
# each distinct value is parsed once (a file repeats every timestamp for each of its meters).
DISTINCT_SHARE = 0.25


class CsvFormat:
    """Readings as CSV text (UTF-8, with or without a BOM; LF or CRLF line ends)."""

    name = "csv"
    hint = "a CSV file has a name ending in .csv or a first line naming the columns " + ", ".join(
        REQUIRED_COLUMNS
    )

    def detect(self, head: bytes, name: str) -> bool:
        return name.lower().endswith(".csv") or b"meter_id" in head.split(b"\n", 1)[0]

    def read(self, data: bytes, connector: ConnectorProperties) -> pl.DataFrame:
        return pl.concat(list(self.read_batches(data, connector)))

    def read_batches(
        self,
        source: bytes | Path,
        connector: ConnectorProperties,
        transform: Callable[[pl.DataFrame], T] | None = None,
    ) -> Iterator[pl.DataFrame | T]:
        """The readings of a file (its bytes, or a local file) a batch at a time, in file
        order, each through `transform` if given; FormatRejected, possibly after some batches,
        for the file's first problem.

        Batches are read, checked and transformed by WORKERS threads at once (polars lets go
        of the GIL), a few batches ahead, so `transform` must be safe to run in threads; only
        their verdicts are put together in order, here.
        """
        file = _Source(source)
        has_quotes = _check_line_ends(file)
        _check_header(file.first_line())
        verdict = _FileVerdict(connector, has_quotes)
        with verdict:
            checked = ordered_map(
                partial(
                    _batch_verdict, connector=connector, has_quotes=has_quotes, transform=transform
                ),
                _text_batches(file, has_quotes),
                workers=WORKERS,
                ahead=WORKERS,
            )
            for batch in checked:
                if (readings := verdict.add(batch)) is not None:
                    yield readings
            verdict.raise_rejection(file)


@dataclass(frozen=True)
class _Source:
    """A file's bytes, in memory or in a local file, read a chunk at a time."""

    content: bytes | Path

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        if isinstance(self.content, bytes):
            if start == 0 and len(self.content) <= CHUNK_BYTES:
                yield self.content
                return
            for offset in range(start, len(self.content), CHUNK_BYTES):
                yield self.content[offset : offset + CHUNK_BYTES]
            return
        with open(self.content, "rb") as file:
            file.seek(start)
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    def first_line(self) -> bytes:
        """The bytes before the first LF (all of them if there is none)."""
        return self._line_from(0)

    def line_holding(self, position: int) -> tuple[int, bytes]:
        """The number of the line that holds the byte at `position`, and its bytes."""
        line, start, offset = 1, 0, 0
        for chunk in self.chunks():
            before = chunk[: position - offset]
            line += before.count(b"\n")
            newline = before.rfind(b"\n")
            if newline >= 0:
                start = offset + newline + 1
            offset += len(chunk)
            if offset > position:
                break
        return line, self._line_from(start)

    def line_numbered(self, number: int) -> bytes:
        """The bytes of line `number` (a reading's: 2 or later), without its line end."""
        ends_before, offset = number - 1, 0
        for chunk in self.chunks():
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
            if ends_before <= len(ends):
                start = offset + int(ends[ends_before - 1]) + 1
                return self._line_from(start).removesuffix(b"\r")
            ends_before -= len(ends)
            offset += len(chunk)
        return b""

    def _line_from(self, start: int) -> bytes:
        found = b""
        for chunk in self.chunks(start):
            end = chunk.find(b"\n")
            if end >= 0:
                return found + chunk[:end]
            found += chunk
        return found

    def text(self) -> io.TextIOBase:
        """The file as text without its byte order mark, lines untranslated (for csv)."""
        raw: io.BufferedIOBase
        if isinstance(self.content, bytes):
            raw = io.BytesIO(self.content)
        else:
            raw = open(self.content, "rb")  # noqa: SIM115 (closed with the wrapper)
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def for_polars(self) -> bytes | str:
        return self.content if isinstance(self.content, bytes) else str(self.content)


@dataclass(frozen=True)
class _BatchVerdict:
    """What one batch holds, checked on its own: the rest of the verdict depends on the
    batches before it (_FileVerdict)."""

    line_break: Rejection | None  # the batch's first value with a line break
    offense: tuple[int, Rejection] | None  # its first row that breaks a rule
    keys: np.ndarray  # hashes of its rows' (meter, start)
    rows: int
    readings: Any  # its readings (through the transform), when it breaks no rule


def _batch_verdict(
    batch: "_RowBatch",
    connector: ConnectorProperties,
    has_quotes: bool,
    transform: Callable[[pl.DataFrame], Any] | None,
) -> _BatchVerdict:
    frame, offense, line_break = _read_and_check(batch, connector, has_quotes)
    readings = None
    if offense is None and line_break is None and frame.height:
        readings = _readings(frame, connector)
        if transform is not None:
            readings = transform(readings)
    return _BatchVerdict(line_break, offense, _batch_keys(frame), frame.height, readings)


def _read_and_check(
    batch: "_RowBatch", connector: ConnectorProperties, has_quotes: bool
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
        found = _first_offense(text, _line_break_rules(text))
        line_break = found and found[1]
    # Read as written first: trimming every value would add almost half to the check of a
    # clean file, and few files need it. A value with whitespace around it, or a "", fails as
    # written (polars skips only whitespace before a timestamp, to the same instant), so a
    # batch that passes as written reads the same trimmed.
    frame, offense = _parse_and_find_offense(text, connector)
    if offense is not None:
        trimmed = _trimmed(text)
        if not trimmed.equals(text):
            frame, offense = _parse_and_find_offense(trimmed, connector)
    return frame, offense, line_break


class _FileVerdict:
    """The batches' verdicts put together in file order: the verdict a read of the whole
    file would give."""

    def __init__(self, connector: ConnectorProperties, has_quotes: bool) -> None:
        self.connector = connector
        self.has_quotes = has_quotes
        self.line_break: Rejection | None = None  # refuses the file, whatever the rows say
        self.offense: tuple[int, Rejection] | None = None  # the first row that breaks a rule
        self.keys = _FileKeys()  # hashes of the (meter, start) of the rows so far
        self.readings = 0

    def __enter__(self) -> "_FileVerdict":
        return self

    def __exit__(self, *exc: object) -> None:
        self.keys.close()

    def add(self, batch: _BatchVerdict) -> Any:
        """The next batch's readings, or None once the file is refused (reading goes on: a
        later batch may still break the file's structure, which refuses it first)."""
        if self.line_break is None:
            self.line_break = batch.line_break
        if self.line_break is not None or self.offense is not None:
            return None
        self.keys.add(batch.keys)
        if batch.offense is not None:
            self.offense = batch.offense
            return None
        self.readings += batch.rows
        return batch.readings

    def raise_rejection(self, file: _Source) -> None:
        """FormatRejected for the file's first problem, if it has one."""
        if self.line_break is not None:
            raise FormatRejected(self.line_break)
        repeated = self.keys.repeated()
        candidates = [self.offense]
        if len(repeated):
            candidates.append(
                _first_repeated_reading(file, self.connector, repeated, self.has_quotes)
            )
        found = [each for each in candidates if each is not None]
        if found:
            # On one line, a rule on its values comes before the repeated-reading rule.
            line, refused = min(found, key=lambda each: each[0])
            raise FormatRejected(_too_few_fields(file, line) or refused)
        if self.readings == 0:
            raise FormatRejected(
                Rejection(
                    "csv.no_readings",
                    None,
                    "the file has no readings; put one reading per line under the header",
                )
            )


def _parse_and_find_offense(
    text: pl.DataFrame, connector: ConnectorProperties
) -> tuple[pl.DataFrame, tuple[int, Rejection] | None]:
    """The batch's rows parsed, and its first row that breaks a rule on its values."""
    frame = _parsed(_without_blank_lines(text), connector.timezone)
    if frame.height == 0:
        return frame, None
    return frame, _first_offense(frame, _row_rules(frame, connector))


def _parsed_if_clean(text: pl.DataFrame, connector: ConnectorProperties) -> pl.DataFrame | None:
    """The batch's rows parsed if none breaks a rule on its values (nothing is worded)."""
    frame = _parsed(_without_blank_lines(text), connector.timezone)
    if frame.height and _offending_row_and_rule(frame, _row_rules(frame, connector)):
        return None
    return frame


def _readings(frame: pl.DataFrame, connector: ConnectorProperties) -> pl.DataFrame:
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


def _check_line_ends(file: _Source) -> bool:
    """Every CR is part of a CRLF line end. csv.line_ends names the line of the first that is
    not: polars would run a file of lone CRs into one line, and Python's csv refuse it.

    Returns whether the file holds a double quote: only then may a value hold a line break.
    """
    has_quotes, offset, cr_at_end, lone_cr = False, 0, False, None
    for chunk in file.chunks():
        if cr_at_end and not chunk.startswith(b"\n"):
            lone_cr = offset - 1
            break
        has_quotes = has_quotes or b'"' in chunk
        match = re.search(rb"\r(?!\n)", chunk) if b"\r" in chunk else None
        cr_at_end = match is not None and match.start() == len(chunk) - 1
        if match is not None and not cr_at_end:
            lone_cr = offset + match.start()
            break
        offset += len(chunk)
    else:
        if cr_at_end:
            lone_cr = offset - 1
    if lone_cr is None:
        return has_quotes
    line, _ = file.line_holding(lone_cr)
    raise FormatRejected(
        Rejection(
            "csv.line_ends",
            line,
            f"line {line}: holds a carriage return (CR) that is not part of a CRLF line end, "
            "as in a file saved with classic Mac OS line ends; end each line with LF or CRLF "
            "(Unix or Windows line ends), and keep CRs out of values",
        )
    )


def _check_header(first_line: bytes) -> None:
    """The header is line 1 and names each known column once, all required ones included."""
    header = _header_text(first_line)
    try:
        columns = _columns(header)
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


def _columns(header: str) -> list[str]:
    """The column names of the header line; csv.Error if it is not a line of CSV."""
    # strict: a quote left open would run into the next lines, where polars reads the header
    return [column.strip() for column in next(csv.reader([header], strict=True), [])]


def _too_few_fields(file: _Source, line: int) -> Rejection | None:
    """csv.too_few_fields when the offending line's fields stop before a column a reading
    cannot leave empty: the row then breaks that column's rule, which would name the value
    it lacks as if it were an empty one. Only read for a file already refused."""
    columns = _columns(_header_text(file.first_line()))
    text = file.line_numbered(line).decode("utf-8", "replace")
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:  # a value beyond csv's field size limit: the line's own rule words it
        return None
    lacking = [column for column in columns[len(fields) :] if column in NEVER_EMPTY]
    if not lacking:
        return None
    return Rejection(
        "csv.too_few_fields",
        line,
        f"line {line}: {quoted(text)} has {len(fields)} field(s) but the header names "
        f"{len(columns)} columns, so it has no {', '.join(lacking)}; write a field for every "
        "column, separated by commas",
    )


def _listed(values: list[str]) -> str:
    """The values quoted, up to SHOWN_COLUMNS of them: a header may name thousands."""
    shown = ", ".join(quoted(value) for value in values[:SHOWN_COLUMNS])
    if len(values) > SHOWN_COLUMNS:
        shown += f" and {len(values) - SHOWN_COLUMNS:,} more"
    return shown


@dataclass(frozen=True)
class _RowBatch:
    """A batch of a file's rows, as the functions that read it, so that the thread that
    checks it reads it."""

    # Every column as text (an empty cell is null), with each row's line in the file.
    as_text: Callable[[], pl.DataFrame]
    # Value as a number and the rest as text, None if a value is not a number: polars parses
    # them as it reads, so the costliest text column of a clean file is never made. Only the
    # blocks of a file without quotes have it.
    with_numbers: Callable[[], pl.DataFrame | None] | None = None


def _text_batches(file: _Source, has_quotes: bool) -> Iterator[_RowBatch]:
    """The file's rows a batch at a time; FormatRejected as soon as polars cannot read the
    file as CSV.

    A file without a double quote has one row per line, so it is cut into blocks of whole
    lines, each read with the header in front of it: the memory is a block's, and the rows
    are those of a read of the whole file. A file with quotes (where a value may hold a line
    break) goes through polars' streaming reader, which takes more memory.
    """
    if not has_quotes:
        yield from _blocks(file)
        return
    try:
        batches = pl.scan_csv(
            file.for_polars(), infer_schema=False, row_index_name="line", row_index_offset=2
        ).collect_batches(chunk_size=BATCH_ROWS)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            yield _RowBatch(partial(_named, batch))
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(_unreadable(file, error)) from None


def _blocks(file: _Source) -> Iterator[_RowBatch]:
    """The file's lines after its header, in blocks of about CHUNK_BYTES that end with a
    line."""
    header = file.first_line() + b"\n"
    schema = _typed_schema(header)
    carry, line = b"", 2
    for chunk in file.chunks(start=len(header)):
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:  # a line longer than a chunk
            carry += chunk
            continue
        yield _block(file, (header, carry, memoryview(chunk)[:cut]), line, schema)
        line += _line_ends(carry) + _line_ends(memoryview(chunk)[:cut])
        carry = chunk[cut:]
    if carry:
        yield _block(file, (header, carry), line, schema)


def _block(
    file: _Source,
    parts: tuple[bytes | memoryview, ...],
    line: int,
    schema: dict[str, type[pl.DataType]] | None,
) -> _RowBatch:
    """A block of lines read as a CSV file with the header in front (`parts`, joined by the
    thread that reads it); `line` is the number of the block's first line in the file."""
    with_numbers = None if schema is None else partial(_block_with_numbers, parts, line, schema)
    return _RowBatch(partial(_block_as_text, file, parts, line), with_numbers)


def _line_ends(data: bytes | memoryview) -> int:
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == ord("\n")))


def _typed_schema(header: bytes) -> dict[str, type[pl.DataType]] | None:
    """The header's columns as polars names them, value a number and the others text."""
    try:
        names = pl.read_csv(header, infer_schema=False).columns
    except pl.exceptions.PolarsError:
        return None  # the text read words the problem
    return {name: pl.Float64 if name.strip() == "value" else pl.String for name in names}


def _block_as_text(file: _Source, parts: tuple[bytes | memoryview, ...], line: int) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            b"".join(parts), infer_schema=False, row_index_name="line", row_index_offset=line
        )
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(_unreadable(file, error)) from None
    return _named(frame)


def _block_with_numbers(
    parts: tuple[bytes | memoryview, ...], line: int, schema: dict[str, type[pl.DataType]]
) -> pl.DataFrame | None:
    try:
        frame = pl.read_csv(b"".join(parts), schema=schema)
        return _named(frame.with_row_index("line", offset=line))
    except pl.exceptions.PolarsError:
        return None  # as text, like the rest


def _named(batch: pl.DataFrame) -> pl.DataFrame:
    """Column names without the whitespace around them, and quality, even if left out."""
    batch = batch.rename(lambda column: column.strip())
    if "quality" not in batch.columns:
        batch = batch.with_columns(quality=pl.lit(None, pl.String))
    return batch


def _line_break_rejection(row: dict[str, Any], column: str) -> Rejection:
    return _row_rejection(
        row,
        "csv.line_break_in_value",
        f"{column} {quoted(row[column])} holds a line break; a reading fits on one line",
    )


def _line_break_rules(frame: pl.DataFrame) -> list["_RowRule"]:
    """A row is a line unless a quoted value holds a line break, which would shift the lines of
    every row after it; such a value is refused (only a file with a quote can have one)."""
    return [
        _RowRule(
            pl.col(column).str.contains("\n", literal=True).fill_null(False),
            partial(_line_break_rejection, column=column),
        )
        for column in frame.columns
        if column != "line"
    ]


def _unreadable(file: _Source, error: Exception) -> Rejection:
    """Why polars could not read the file, found again line by line: this only runs on a file
    already refused, so it may take its time."""
    _check_utf8(file)
    with file.text() as text:
        return _csv_problem(text, error)


def _csv_problem(text: io.TextIOBase, error: Exception) -> Rejection:
    rows = csv.reader(text, strict=True)
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


def _header_text(first_line: bytes) -> str:
    """The text of the file's first line without its byte order mark and line end;
    csv.not_utf8 names the first byte that is not UTF-8."""
    skipped = len(UTF8_BOM) if first_line.startswith(UTF8_BOM) else 0
    try:
        return first_line[skipped:].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as error:
        position = skipped + error.start
    raise FormatRejected(_not_utf8(1, first_line, first_line[position]))


def _check_utf8(file: _Source) -> None:
    """csv.not_utf8 for the file's first byte that is not UTF-8, read a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    chunks = file.chunks()
    chunk = next(chunks, b"")
    while True:
        following = next(chunks, None)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=following is None)
        except UnicodeDecodeError as error:
            position = offset - pending + error.start
            line, shown = file.line_holding(position)
            raise FormatRejected(_not_utf8(line, shown, error.object[error.start])) from None
        if following is None:
            return
        offset += len(chunk)
        chunk = following


def _not_utf8(line: int, shown: bytes, byte: int) -> Rejection:
    return Rejection(
        "csv.not_utf8",
        line,
        f"line {line}: {quoted(shown.decode('utf-8', 'replace'))} holds byte 0x{byte:02X}, "
        "which is not UTF-8 (the file may have been saved as Windows-1252 or Latin-1); "
        "save it as UTF-8",
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
    start, end = _utc_starts_and_ends(text["start"], text["end"], timezone)
    return text.with_columns(
        interval_start=start,
        interval_end=end,
        value_number=pl.col("value").cast(pl.Float64, strict=False),  # as is, if a number
    )


def _utc_starts_and_ends(
    start: pl.Series, end: pl.Series, timezone: str
) -> tuple[pl.Series, pl.Series]:
    """Both timestamp columns as UTC instants (_utc_times). An interval's end is most often
    the next one's start: ends are looked up among the starts, and only the others parsed."""
    distinct = start.unique().drop_nulls()
    if distinct.len() > DISTINCT_SHARE * start.len():
        return _utc_times(start, timezone), _utc_times(end, timezone)
    utc = _times_to_utc(distinct, timezone)
    # Each value's position among the distinct ones, as an enum's: a lookup, not a join.
    starts = pl.Enum(distinct)
    end_codes = end.cast(starts, strict=False).to_physical()
    ends = utc.gather(end_codes)
    others = (end_codes.is_null() & end.is_not_null()).arg_true()
    if others.len():
        ends = ends.scatter(others, _utc_times(end.gather(others), timezone))
    return utc.gather(start.cast(starts).to_physical()), ends


def _utc_times(text: pl.Series, timezone: str) -> pl.Series:
    """A column of timestamps as UTC instants: offset-bearing ones as they say, others as wall
    time in the connector's zone; null where neither reads or the year is out of range.

    A file repeats each timestamp for every meter in it: each distinct one is parsed once.
    """
    distinct = text.unique().drop_nulls()
    if distinct.len() > DISTINCT_SHARE * text.len():
        return _times_to_utc(text, timezone)
    utc = _times_to_utc(distinct, timezone)
    return utc.gather(text.cast(pl.Enum(distinct)).to_physical())


def _times_to_utc(text: pl.Series, timezone: str) -> pl.Series:
    """_utc_times, value by value. A file keeps to one style, so the style of its first value
    is tried on the whole column first, and the other style only if some values are left."""
    readers: list[Callable[[pl.Series], pl.Series]] = [
        _offset_times_to_utc,
        partial(_wall_times_to_utc, timezone=timezone),
    ]
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


def _first_offense(frame: pl.DataFrame, rules: list[_RowRule]) -> tuple[int, Rejection] | None:
    """The line of the earliest row that breaks any rule (the first rule, on a tie), and the
    rejection it earns."""
    found = _offending_row_and_rule(frame, rules)
    if found is None:
        return None
    row, number = found
    offending = frame.row(row, named=True)
    return offending["line"], rules[number].rejection(offending)


def _offending_row_and_rule(frame: pl.DataFrame, rules: list[_RowRule]) -> tuple[int, int] | None:
    """The earliest row that breaks any rule, and the first rule it breaks."""
    firsts = (
        frame.lazy()
        .select(rule.offending.arg_true().first().alias(str(n)) for n, rule in enumerate(rules))
        .collect()
        .row(0)
    )
    offenders = [(row, number) for number, row in enumerate(firsts) if row is not None]
    return min(offenders) if offenders else None


def _row_rejection(row: dict[str, Any], rule: str, problem: str) -> Rejection:
    return Rejection(rule, row["line"], f"line {row['line']}: {problem}")


def _row_rules(frame: pl.DataFrame, connector: ConnectorProperties) -> list[_RowRule]:
    """The rules on one row's values. A reading that repeats an earlier one, which may be in
    another batch, is found over the whole file (_FileVerdict)."""
    start, end = pl.col("interval_start"), pl.col("interval_end")
    duration = (end - start).dt.total_microseconds()
    known_length = duration.is_in(INTERVAL_MICROSECONDS).fill_null(False)
    rules = [
        _RowRule(
            ~pl.col("meter_id").str.contains(METER_ID_REGEX).fill_null(False),
            lambda row: _row_rejection(
                row,
                "csv.bad_meter_id",
                f"meter id {quoted(row['meter_id'])} is not valid; use a letter or digit, then "
                "up to 63 letters, digits, '_', '.' or '-'",
            ),
        ),
        *(
            _RowRule(
                pl.col(target).is_null(),
                partial(_timestamp_rejection, column=column, timezone=connector.timezone),
            )
            for column, target in TIMESTAMP_COLUMNS.items()
        ),
        _RowRule(~known_length & start.is_not_null() & end.is_not_null(), _bad_interval_rejection),
        _RowRule(known_length & (start.dt.epoch("us") % duration != 0), _unaligned_rejection),
        _RowRule(
            ~pl.col("value_number").is_finite().fill_null(False),
            lambda row: _row_rejection(
                row,
                "csv.bad_value",
                f"value {quoted(row['value'])} is not a finite number; write it like 12.5 "
                "(a dot for decimals, no thousands separators)",
            ),
        ),
        _RowRule(
            pl.col("unit").is_not_null() & ~pl.col("unit").is_in(KNOWN_UNITS),
            lambda row: _row_rejection(
                row,
                "csv.unknown_unit",
                f"unit {quoted(row['unit'])} is not a known unit; use one of "
                f"{', '.join(sorted(KNOWN_UNITS))} (case matters), or leave it empty for "
                f"connector {connector.name}'s unit ({connector.unit})",
            ),
        ),
        _RowRule(
            pl.col("quality").is_not_null() & ~pl.col("quality").is_in(QUALITY_FLAGS),
            lambda row: _row_rejection(
                row,
                "csv.unknown_quality",
                f"quality {quoted(row['quality'])} is not a quality flag; use "
                + ", ".join(f"{flag} ({meaning})" for flag, meaning in QUALITY_FLAGS.items())
                + ", or leave it empty",
            ),
        ),
    ]
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
        return _row_rejection(
            row,
            "timestamp.nonexistent_local_time",
            f"{shown} does not exist in {timezone} (clocks go forward over it); correct it, "
            f"or write it with its UTC offset, e.g. {TIMESTAMP_EXAMPLE}",
        )
    if earliest is not None and only is None:
        return _row_rejection(
            row,
            "timestamp.ambiguous_local_time",
            f"{shown} happens twice in {timezone} (clocks go back over it); write it with its "
            f"UTC offset: {earliest} or {latest}",
        )
    if is_time:
        return _row_rejection(
            row,
            "csv.bad_timestamp",
            f"{shown} is out of range: a reading's start and end lie between "
            f"{EARLIEST.isoformat()} and {LATEST.isoformat()}, both included; check its year",
        )
    return _row_rejection(
        row,
        "csv.bad_timestamp",
        f"{shown} is not an ISO 8601 timestamp (expected e.g. {TIMESTAMP_EXAMPLE}, or "
        f"{TIMESTAMP_EXAMPLE[:19]} for {timezone} time)",
    )


def _bad_interval_rejection(row: dict[str, Any]) -> Rejection:
    minutes = (row["interval_end"] - row["interval_start"]).total_seconds() / 60
    *most, last = INTERVAL_MINUTES
    return _row_rejection(
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
    return _row_rejection(
        row,
        "csv.unaligned_interval",
        f"the {minutes}-minute interval from start {quoted(row['start'])} starts at "
        f"{row['interval_start'].time().isoformat()} UTC; a {minutes}-minute interval starts "
        f"{boundary} in UTC",
    )


READING_KEY = pl.col("meter_id").hash() ^ pl.col("interval_start").hash()


def _batch_keys(frame: pl.DataFrame) -> np.ndarray:
    """A hash of each row's meter and interval start (rows with a start only)."""
    start = pl.col("interval_start")
    keys = frame.lazy().select(READING_KEY.filter(start.is_not_null())).collect()
    return keys.to_series().to_numpy()


def _repeated_keys(chunks: list[np.ndarray]) -> np.ndarray:
    """The hashes that occur more than once in the chunks (emptied on the way). All-distinct
    hashes prove that no reading repeats another; sorting them in place takes a fraction of
    comparing the pairs themselves, and no memory beyond them."""
    keys = np.empty(sum(len(chunk) for chunk in chunks), dtype=np.uint64)
    offset = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        keys[offset : offset + len(chunk)] = chunk
        offset += len(chunk)
    keys.sort()
    return np.unique(keys[1:][keys[1:] == keys[:-1]])


class _FileKeys:
    """The (meter, start) hashes of a file's rows so far, to find a reading that repeats an
    earlier one. Up to KEYS_IN_MEMORY are held in memory; beyond, they are spread by their
    first bits over KEY_PARTS files on disk, so that a file of any size takes the memory of
    one part when they are compared, at the end: memory stays flat as files grow."""

    def __init__(self) -> None:
        self.held: list[np.ndarray] = []
        self.count = 0
        self.folder: tempfile.TemporaryDirectory | None = None

    def add(self, keys: np.ndarray) -> None:
        self.held.append(keys)
        self.count += len(keys)
        if self.count > KEYS_IN_MEMORY:
            self._spill()

    def _spill(self) -> None:
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="b8760-keys-")
        keys = np.concatenate(self.held) if self.held else np.empty(0, np.uint64)
        self.held, self.count = [], 0
        parts = (keys >> np.uint64(64 - KEY_PART_BITS)).astype(np.uint8)
        order = np.argsort(parts, kind="stable")  # a radix sort, on bytes
        keys, parts = keys[order], parts[order]
        bounds = np.searchsorted(parts, np.arange(KEY_PARTS + 1))
        for part in range(KEY_PARTS):
            with open(Path(self.folder.name) / str(part), "ab") as file:
                file.write(keys[bounds[part] : bounds[part + 1]].tobytes())

    def repeated(self) -> np.ndarray:
        """The hashes that occur more than once."""
        if self.folder is None:
            return _repeated_keys(self.held)
        self._spill()
        return np.concatenate(
            [
                _repeated_keys([np.fromfile(Path(self.folder.name) / str(part), np.uint64)])
                for part in range(KEY_PARTS)
                if (Path(self.folder.name) / str(part)).exists()
            ]
        )

    def close(self) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def _first_repeated_reading(
    file: _Source, connector: ConnectorProperties, repeated: np.ndarray, has_quotes: bool
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
    found = [
        _parsed(_without_blank_lines(_trimmed(text)), connector.timezone)
        .filter(known & READING_KEY.is_in(candidates))
        .select("meter_id", "interval_start", "interval_end", "start", "end", "line")
        for text in (batch.as_text() for batch in _text_batches(file, has_quotes))
    ]
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
    return _row_rejection(
        row,
        "csv.duplicate_reading",
        f"meter {quoted(row['meter_id'])} already has a reading for the interval starting "
        f"{quoted(row['start'])}, on line {first}; give each meter's interval once per file",
    )
