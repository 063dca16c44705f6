"""The hand-off from the landing check to standardization: an accepted file's readings as the
check read them (READINGS_SCHEMA), kept as Parquet beside the archived file.

It is standardization's only input, so a file is parsed and checked once per arrival, and
nothing of a file can reach a meter-hour object or a batch before its verdict: the intake
uploads the readings only once the file is accepted. Written and read a batch at a time, so
that memory does not grow with the file. A file that carries register reads (a Green Button
register channel) hands them over beside, in a Parquet file of their own: they are few, and
not readings.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar, cast

import polars as pl
import pyarrow.parquet as pq

from b8760_assets.landing.formats import READINGS_SCHEMA, REGISTER_READS_SCHEMA
from b8760_assets.ordered_map import ordered_map

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
ARROW_SCHEMA = READINGS_SCHEMA.to_frame().to_arrow().schema
# How each column is written, for a file read back whole and once: the text columns (a few
# meters, one unit) as dictionaries; the instants and lines, which step by about the same
# amount row to row, as deltas; no statistics, which nothing filters by. A third of the CPU
# of dictionaries and statistics on every column, in half the bytes.
TEXT_COLUMNS = [name for name, kind in READINGS_SCHEMA.items() if kind == pl.String]
DELTA_COLUMNS = {
    name: "DELTA_BINARY_PACKED"
    for name, kind in READINGS_SCHEMA.items()
    if kind.is_temporal() or kind.is_integer()
}
# Readings handed to standardization at a time, and the threads that transform them at once
# (polars lets go of the GIL), as the landing check reads a file.
BATCH_ROWS = 200_000
WORKERS = 4
T = TypeVar("T")


class CheckedReadings:
    """A local Parquet file the landing check's batches of readings are written to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # lz4: a tenth of zstd's CPU here, for a file read back once.
        self._writer = pq.ParquetWriter(
            path,
            ARROW_SCHEMA,
            compression="lz4",
            use_dictionary=TEXT_COLUMNS,
            column_encoding=DELTA_COLUMNS,
            write_statistics=False,
        )

    def write(self, readings: pl.DataFrame) -> None:
        self._writer.write_table(readings.to_arrow().cast(ARROW_SCHEMA))

    def __enter__(self) -> "CheckedReadings":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._writer.close()


def read_checked_readings(path: Path, transform: Callable[[pl.DataFrame], T]) -> Iterator[T]:
    """transform(readings) of a checked-readings file's readings, BATCH_ROWS at a time, in
    file order: transformed by WORKERS threads at once, a few batches ahead, so that memory
    holds a few batches whatever the file's size."""
    # pre_buffer off: pyarrow's read-ahead cache keeps what it read until the iteration ends,
    # so that memory would grow with the file (it helps only high-latency filesystems).
    batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS)
    readings = (cast(pl.DataFrame, pl.from_arrow(batch)) for batch in batches)
    return ordered_map(transform, readings, workers=WORKERS, ahead=WORKERS)


def write_register_reads(path: Path, registers: pl.DataFrame) -> None:
    """An accepted file's register reads (REGISTER_READS_SCHEMA), kept beside its readings."""
    registers.select(REGISTER_READS_SCHEMA.names()).write_parquet(path, compression="zstd")


def read_register_reads(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path).cast(REGISTER_READS_SCHEMA)
