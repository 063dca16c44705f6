"""An arrival hour's standardized rows held until every file of the hour is read, so that
the rules see all of a meter's readings of the hour at once, in bounded memory: up to
HELD_ROWS they stay in memory (the usual hour), beyond it they go to local Parquet files,
PARTS of them, each meter's rows all in one, and come back a part at a time."""

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from b8760_assets.readings_schema import ARROW_SCHEMA, POLARS_SCHEMA

HELD_ROWS = 500_000
PARTS = 32
_PART = (pl.col("meter_id").hash(seed=0) % PARTS).alias("_part")


class HourRows:
    """The rows of one arrival hour, as they come; `parts` gives them back, whole meters at
    a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.held: list[pl.DataFrame] = []
        self.height = 0
        self.writers: dict[int, pq.ParquetWriter] = {}

    def add(self, rows: pl.DataFrame) -> None:
        self.held.append(rows)
        self.height += rows.height
        if self.height > HELD_ROWS:
            self._spill()

    def _path(self, part: int) -> Path:
        return self.folder / f"validate-{part}.parquet"

    def _spill(self) -> None:
        if not self.held:
            return
        rows = pl.concat(self.held).with_columns(_PART)
        self.held, self.height = [], 0
        for (part,), each in rows.partition_by("_part", as_dict=True).items():
            assert isinstance(part, int)
            if part not in self.writers:
                self.writers[part] = pq.ParquetWriter(self._path(part), ARROW_SCHEMA)
            self.writers[part].write_table(each.drop("_part").to_arrow().cast(ARROW_SCHEMA))

    def parts(self) -> Iterator[pl.DataFrame]:
        """The hour's rows: all of them if they stayed in memory, else a part at a time."""
        if not self.writers:
            if self.held:
                yield pl.concat(self.held)
            return
        self._spill()
        for part, writer in sorted(self.writers.items()):
            writer.close()
            yield pl.read_parquet(self._path(part)).cast(POLARS_SCHEMA)
            self._path(part).unlink()
        self.writers = {}
