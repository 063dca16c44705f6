"""The CSV format the landing check reads (formats.ReadingsFormat): batches checked in
threads, their verdicts put together in file order.

Whatever breaks the file's structure (a lone CR, the header, bytes polars cannot read as CSV,
a line break in a value) refuses it wherever it is, before any rule on a reading's values; of
those rules, the earliest offending line wins, on a tie before the repeated-reading rule.
"""

import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.config.csv_layout import CsvLayout
from b8760_assets.landing.csv_format import repeated_walls
from b8760_assets.landing.csv_format.batch_check import BatchVerdict, batch_verdict
from b8760_assets.landing.csv_format.blocks import row_batches
from b8760_assets.landing.csv_format.header import check_header, too_few_fields
from b8760_assets.landing.csv_format.repeated_readings import first_repeated_reading
from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.csv_format.structure import check_line_ends
from b8760_assets.landing.formats import FormatRejected, Notice, ReadingsFormat, Rejection
from b8760_assets.landing.reading_keys import FileKeys
from b8760_assets.ordered_map import ordered_map

# Threads that read, check and transform batches at once.
WORKERS = min(4, os.cpu_count() or 1)
T = TypeVar("T")


class CsvFormat(ReadingsFormat):
    """Readings as CSV text (UTF-8, with or without a BOM; LF or CRLF line ends)."""

    name = "csv"
    kind = "csv"
    hint = "a CSV file has a name ending in .csv or a first line naming the columns " + ", ".join(
        CsvLayout().required_columns
    )

    def detect(self, head: bytes, name: str) -> bool:
        return name.lower().endswith(".csv") or b"meter_id" in head.split(b"\n", 1)[0]

    def read_batches(
        self,
        source: bytes | Path,
        connector: ConnectorProperties,
        transform: Callable[[pl.DataFrame], T] | None = None,
        *,
        meters: Mapping[str, Meter],
        notice: Callable[[Notice], None],
        on_registers: Callable[[pl.DataFrame], None] | None = None,
    ) -> Iterator[pl.DataFrame | T]:
        """The readings of a file (its bytes, or a local file) a batch at a time, in file
        order, each through `transform` if given; FormatRejected, possibly after some batches,
        for the file's first problem. A CSV file names each reading's meter and takes in
        every reading it holds, and no register reads: `meters`, `notice` and `on_registers` are
        the protocol's, not needed here.

        Batches are read, checked and transformed by WORKERS threads at once (polars lets go
        of the GIL), a few batches ahead, so `transform` must be safe to run in threads; only
        their verdicts are put together in order, here.
        """
        layout = connector.csv_layout
        file = Source(source, layout.skip_rows)
        has_quotes = check_line_ends(file)
        check_header(file, layout)
        verdict = _FileVerdict(connector, has_quotes)
        check = partial(
            batch_verdict, connector=connector, has_quotes=has_quotes, transform=transform
        )
        with verdict:
            checked = ordered_map(
                check, row_batches(file, has_quotes, layout), workers=WORKERS, ahead=WORKERS
            )
            for batch in checked:
                if repeated_walls.overlap(verdict.walls, batch.walls):
                    # Its guess of which of a meter's lines of a repeated wall time comes
                    # first was made without the batches before it: checked again with them.
                    batch = check(batch.batch, seen=verdict.walls)
                if (readings := verdict.add(batch)) is not None:
                    yield readings
            verdict.raise_rejection(file)


class _FileVerdict:
    """The batches' verdicts put together in file order: the verdict a read of the whole
    file would give."""

    def __init__(self, connector: ConnectorProperties, has_quotes: bool) -> None:
        self.connector = connector
        self.has_quotes = has_quotes
        self.line_break: Rejection | None = None  # refuses the file, whatever the rows say
        self.offense: tuple[int, Rejection] | None = None  # the first row that breaks a rule
        self.keys = FileKeys()  # hashes of the (meter, start) of the rows so far
        self.walls = repeated_walls.NOTHING_SEEN  # lines of repeated wall times so far
        self.readings = 0

    def __enter__(self) -> "_FileVerdict":
        return self

    def __exit__(self, *exc: object) -> None:
        self.keys.close()

    def add(self, batch: BatchVerdict) -> Any:
        """The next batch's readings, or None once the file is refused (reading goes on: a
        later batch may still break the file's structure, which refuses it first)."""
        self.walls = repeated_walls.added(self.walls, batch.walls)
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

    def raise_rejection(self, file: Source) -> None:
        """FormatRejected for the file's first problem, if it has one."""
        if self.line_break is not None:
            raise FormatRejected(self.line_break)
        repeated = self.keys.repeated()
        candidates = [self.offense]
        if len(repeated):
            candidates.append(
                first_repeated_reading(file, self.connector, repeated, self.has_quotes)
            )
        found = [each for each in candidates if each is not None]
        if found:
            # On one line, a rule on its values comes before the repeated-reading rule.
            line, refused = min(found, key=lambda each: each[0])
            raise FormatRejected(too_few_fields(file, self.connector.csv_layout, line) or refused)
        if self.readings == 0:
            raise FormatRejected(
                Rejection(
                    "csv.no_readings",
                    None,
                    "the file has no readings; put one reading per line under the header",
                )
            )
