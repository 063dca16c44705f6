"""A reading that repeats an earlier one (same meter, same start), which may be batches apart.

Each row's (meter, start) is kept as an 8-byte hash, on disk beyond KEYS_IN_MEMORY, so that
memory stays flat as files grow; only a file with a repeated hash is read a second time, to
find the exact lines.
"""

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.csv_format.blocks import row_batches
from b8760_assets.landing.csv_format.parsed_rows import (
    parsed_values,
    trimmed_values,
)
from b8760_assets.landing.csv_format.row_rules import row_rejection
from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.formats import Rejection, quoted

# A reading is known by its meter and interval start, hashed together.
READING_KEY = pl.col("meter_id").hash() ^ pl.col("interval_start").hash()
# Reading keys held in memory before they go to disk (8 bytes each), and the parts they are
# spread over there by their first bits.
KEYS_IN_MEMORY = 2_000_000
KEY_PART_BITS = 4
KEY_PARTS = 2**KEY_PART_BITS


def batch_keys(frame: pl.DataFrame) -> np.ndarray:
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


class FileKeys:
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
    found = [
        parsed_values(trimmed_values(text), connector.timezone)
        .filter(known & READING_KEY.is_in(candidates))
        .select("meter_id", "interval_start", "interval_end", "start", "end", "line")
        for text in (batch.as_text() for batch in row_batches(file, has_quotes))
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
    return row_rejection(
        row,
        "csv.duplicate_reading",
        f"meter {quoted(row['meter_id'])} already has a reading for the interval starting "
        f"{quoted(row['start'])}, on line {first}; give each meter's interval once per file",
    )
