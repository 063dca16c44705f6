"""A reading that repeats an earlier one of its file (same meter, same start), which may be
batches apart, found by hashes of (meter, start).

Each reading's (meter, start) is kept as an 8-byte hash, on disk beyond KEYS_IN_MEMORY, so
that memory stays flat as files grow; only a file with a repeated hash is read a second
time, by its format, to find the exact lines.
"""

import tempfile
from pathlib import Path

import numpy as np
import polars as pl

# A reading is known by its meter and interval start, hashed together.
READING_KEY = pl.col("meter_id").hash() ^ pl.col("interval_start").hash()
# Reading keys held in memory before they go to disk (8 bytes each; spilling them sorts a
# copy, so a spill peaks at about 4 times their bytes), and the parts they are spread over
# there by their first bits. 250,000 keys keep that peak near 8 MB: a file's check takes the
# same memory from a quarter of a million readings on, whatever its size.
KEYS_IN_MEMORY = 250_000
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
