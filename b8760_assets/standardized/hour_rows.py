"""An arrival hour's standardized rows held until every file of the hour is read, so that
the rules see all of a meter's readings of the hour at once, in bounded memory: up to
HELD_ROWS they stay in memory (the usual hour), beyond it they go to local Parquet files in
PARTS, each meter's rows all in one part, and come back a part (or, for a part of more than
HELD_ROWS, a piece of whole meters of it) at a time.

The spill is temporary and read back once: lz4 and no statistics, which write a year of a
thousand meters about three times faster than pyarrow's defaults."""

from collections.abc import Iterator
from pathlib import Path

import polars as pl

HELD_ROWS = 500_000
PARTS = 32
_PART = (pl.col("meter_id").hash(seed=0) % PARTS).alias("_part")


def _split(part: pl.LazyFrame) -> Iterator[pl.DataFrame]:
    """A part's rows in pieces of whole meters of about HELD_ROWS at most, so that what is
    validated at once stays the same size however large the hour."""
    pieces = -(-part.select(pl.len()).collect().item() // HELD_ROWS)
    piece = pl.col("meter_id").hash(seed=1) % pieces
    for number in range(pieces):
        yield part.filter(piece == number).collect()


class HourRows:
    """The rows of one arrival hour, as they come; `parts` gives them back, whole meters at
    a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.held: list[pl.DataFrame] = []
        self.height = 0
        self.spills = 0

    def add(self, rows: pl.DataFrame) -> None:
        self.held.append(rows)
        self.height += rows.height
        if self.height > HELD_ROWS:
            self._spill()

    def _files(self, part: int) -> list[Path]:
        return [self.folder / f"validate-{part}-{spill}.parquet" for spill in range(self.spills)]

    def _spill(self) -> None:
        if not self.held:
            return
        rows = pl.concat(self.held).with_columns(_PART)
        self.held, self.height = [], 0
        for (part,), each in rows.partition_by("_part", as_dict=True, include_key=False).items():
            each.write_parquet(
                self.folder / f"validate-{part}-{self.spills}.parquet",
                compression="lz4",
                statistics=False,
            )
        self.spills += 1

    def parts(self) -> Iterator[pl.DataFrame]:
        """The hour's rows: all of them if they stayed in memory, else a part at a time."""
        if not self.spills:
            if self.held:
                yield pl.concat(self.held)
            return
        self._spill()
        for part in range(PARTS):
            files = [each for each in self._files(part) if each.exists()]
            if not files:
                continue
            yield from _split(pl.scan_parquet(files))
            for each in files:
                each.unlink()
        self.spills = 0
