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

    # Every column as text (an empty cell is null), with each row's line in the file.
    as_text: Callable[[], pl.DataFrame]
    # Value as a number and the rest as text, None if a value is not a number: polars parses
    # them as it reads, so the costliest text column of a clean file is never made. Only the
    # blocks of a file without quotes have it.
    with_numbers: Callable[[], pl.DataFrame | None] | None = None


def row_batches(file: Source, has_quotes: bool) -> Iterator[RowBatch]:
    """The file's rows a batch at a time (blocks of lines, or the streaming reader's batches
    for a file with quotes); FormatRejected as soon as polars cannot read the file as CSV."""
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
            yield RowBatch(partial(_named, batch))
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(unreadable(file, error)) from None


def _blocks(file: Source) -> Iterator[RowBatch]:
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
    file: Source,
    parts: tuple[bytes | memoryview, ...],
    line: int,
    schema: dict[str, type[pl.DataType]] | None,
) -> RowBatch:
    """A block of lines read as a CSV file with the header in front (`parts`, joined by the
    thread that reads it); `line` is the number of the block's first line in the file."""
    with_numbers = None if schema is None else partial(_block_with_numbers, parts, line, schema)
    return RowBatch(partial(_block_as_text, file, parts, line), with_numbers)


def _line_ends(data: bytes | memoryview) -> int:
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == ord("\n")))


def _typed_schema(header: bytes) -> dict[str, type[pl.DataType]] | None:
    """The header's columns as polars names them, value a number and the others text."""
    try:
        names = pl.read_csv(header, infer_schema=False).columns
    except pl.exceptions.PolarsError:
        return None  # the text read words the problem
    return {name: pl.Float64 if name.strip() == "value" else pl.String for name in names}


def _block_as_text(file: Source, parts: tuple[bytes | memoryview, ...], line: int) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            b"".join(parts), infer_schema=False, row_index_name="line", row_index_offset=line
        )
    except pl.exceptions.PolarsError as error:
        raise FormatRejected(unreadable(file, error)) from None
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
