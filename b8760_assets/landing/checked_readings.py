"""The hand-off from the landing check to standardization: an accepted file's readings as the
check read them (READINGS_SCHEMA), kept as Parquet beside the archived file.

It is standardization's only input, so a file is parsed and checked once per arrival, and
nothing of a file can reach a meter-hour object or a batch before its verdict: the intake
uploads the readings only once the file is accepted. Written and read a batch at a time, so
that memory does not grow with the file.
"""

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import cast

import polars as pl
import pyarrow.parquet as pq

from b8760_assets.landing.formats import READINGS_SCHEMA

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
ARROW_SCHEMA = READINGS_SCHEMA.to_frame().to_arrow().schema
# Readings handed to standardization at a time.
BATCH_ROWS = 200_000


class CheckedReadings:
    """A local Parquet file the landing check's batches of readings are written to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = pq.ParquetWriter(path, ARROW_SCHEMA, compression="zstd")

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


def read_checked_readings(path: Path) -> Iterator[pl.DataFrame]:
    """The readings of a checked-readings file, BATCH_ROWS at a time, in file order."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        # A record batch becomes a DataFrame; pyarrow has no types to tell from_arrow's
        # overloads so.
        yield cast(pl.DataFrame, pl.from_arrow(batch, schema=READINGS_SCHEMA))
