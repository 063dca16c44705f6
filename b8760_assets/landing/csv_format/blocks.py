"""A file's rows as text, a batch at a time, each read by the thread that checks it.

A file without a double quote has one row per line, so it is cut into blocks of whole lines,
each read with the header in front of it: the memory is a block's, and the rows are those of
a read of the whole file. A file with quotes (where a value may hold a line break) goes
through polars' streaming reader, which takes more memory.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from b8760_assets.config.csv_layout import CsvLayout
from b8760_assets.landing.csv_format.parts import date_apart, named_parts
from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.csv_format.structure import unreadable
from b8760_assets.landing.formats import FormatRejected

# Rows per batch of polars' streaming reader (files with quotes); a file without quotes is
# read in blocks of CHUNK_BYTES. The memory a check takes is a few batches' worth.
BATCH_ROWS = 200_000


@dataclass(frozen=True)
class RowBatch:
    """A batch of a file's rows, as the functions that read it, so that the thread that
    checks it reads it."""

    # Every part as text (an empty cell is null), with each row's line in the file.
    as_text: Callable[[], pl.DataFrame]
    # Value as a number and the rest as text, None if a value is not a number (or, with a
    # decimal comma, if the block holds a dot): polars parses them as it reads, so the
    # costliest text column of a clean file is never made. Only the blocks of a file without
    # quotes have it.
    with_numbers: Callable[[], pl.DataFrame | None] | None = None


def row_batches(file: Source, has_quotes: bool, layout: CsvLayout) -> Iterator[RowBatch]:
    """The file's rows after its header a batch at a time (blocks of lines, or the streaming
    reader's batches for a file with quotes), their columns named by the parts of a reading
    the layout says they hold; FormatRejected as soon as polars cannot read the file as CSV."""
    if not has_quotes:
        yield from _blocks(file, layout)
        return
    try:
        batches = pl.scan_csv(
            file.for_polars(),
            infer_schema=False,
            skip_lines=file.skip_lines,
            separator=layout.separator,
            row_index_name="line",
            row_index_offset=file.header_line + 1,
        ).collect_batches(chunk_size=BATCH_ROWS)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            yield RowBatch(partial(named_parts, batch, layout))
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(unreadable(file, error, layout.separator)) from None


def _blocks(file: Source, layout: CsvLayout) -> Iterator[RowBatch]:
    """The file's lines after its header, in blocks of about CHUNK_BYTES that end with a
    line."""
    header = file.header() + b"\n"
    schema = _numbers_schema(header, layout)
    carry, line = b"", file.header_line + 1
    for chunk in file.chunks(start=file.header_start + len(header)):
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:  # a line longer than a chunk
            carry += chunk
            continue
        yield _block(file, (header, carry, memoryview(chunk)[:cut]), line, schema, layout)
        line += _line_ends(carry) + _line_ends(memoryview(chunk)[:cut])
        carry = chunk[cut:]
    if carry:
        yield _block(file, (header, carry), line, schema, layout)


def _block(
    file: Source,
    parts: tuple[bytes | memoryview, ...],
    line: int,
    schema: dict[str, type[pl.DataType]] | None,
    layout: CsvLayout,
) -> RowBatch:
    """A block of lines read as a CSV file with the header in front (`parts`, joined by the
    thread that reads it); `line` is the number of the block's first line in the file."""
    with_numbers = (
        None if schema is None else partial(_block_with_numbers, parts, line, schema, layout)
    )
    return RowBatch(partial(_block_as_text, file, parts, line, layout), with_numbers)


def _line_ends(data: bytes | memoryview) -> int:
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == ord("\n")))


def _typed_schema(header: bytes, separator: str) -> dict[str, type[pl.DataType]] | None:
    """The header's columns as polars names them, all text; None if polars cannot read it."""
    try:
        names = pl.read_csv(header, infer_schema=False, separator=separator).columns
    except pl.exceptions.PolarsError:
        return None  # the text read words the problem
    return dict.fromkeys(names, pl.String)


def _numbers_schema(header: bytes, layout: CsvLayout) -> dict[str, type[pl.DataType]] | None:
    """The header's columns, the layout's value column a number and the others text; None
    where polars cannot tell a decimal comma from the separator."""
    schema = _typed_schema(header, layout.separator)
    if schema is None or layout.decimal == layout.separator:
        return None
    value = layout.value_column
    return {name: pl.Float64 if name.strip() == value else kind for name, kind in schema.items()}


def _block_as_text(
    file: Source, parts: tuple[bytes | memoryview, ...], line: int, layout: CsvLayout
) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            b"".join(parts),
            infer_schema=False,
            separator=layout.separator,
            row_index_name="line",
            row_index_offset=line,
        )
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(unreadable(file, error, layout.separator)) from None
    return named_parts(frame, layout)


def _block_with_numbers(
    parts: tuple[bytes | memoryview, ...],
    line: int,
    schema: dict[str, type[pl.DataType]],
    layout: CsvLayout,
) -> pl.DataFrame | None:
    data = b"".join(parts)
    decimal_comma = layout.decimal == ","
    if decimal_comma and data.find(b".", len(parts[0])) >= 0:
        # polars would read 1.234 as a number; beside a decimal comma it is refused (a
        # thousands separator?), which the text read words.
        return None
    # The ignored columns are never made (polars still checks their fields and bytes).
    read = [name for name in schema if name.strip() not in layout.ignored_columns]
    try:
        frame = pl.read_csv(
            data,
            schema=schema,
            columns=read,
            separator=layout.separator,
            decimal_comma=decimal_comma,
        )
        return date_apart(frame.with_row_index("line", offset=line), layout)
    except pl.exceptions.PolarsError:
        return None  # as text, like the rest
