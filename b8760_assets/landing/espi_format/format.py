"""The Green Button format the landing check reads (formats.ReadingsFormat): the feed
streamed once, each IntervalBlock's readings given to the channel and meter its links name,
in batches converted and checked in threads, their verdicts put together in file order.

A block whose channel the feed has not named yet (its ReadingType comes later) is held until
the end of the feed, on disk beyond HELD_READINGS. The reads of a register channel (a running
total, reading_types.REGISTER) are not readings: they are kept apart, in memory (a read a day
or a month, against 24 to 288 intervals), and handed over once the feed is read. The verdict
is the first problem the reader comes to; readings repeated within the file are found over
the whole file at the end, as in the CSV format.
"""

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.landing.espi_format.claims import MeterClaims, Unclaimed
from b8760_assets.landing.espi_format.feed import ATOM, Entry, entries
from b8760_assets.landing.espi_format.interval_readings import RawReadings, as_readings
from b8760_assets.landing.espi_format.links import Channel, FeedLinks
from b8760_assets.landing.espi_format.reading_types import commodity_problem, reading_type
from b8760_assets.landing.espi_format.register_reads import as_register_reads
from b8760_assets.landing.formats import (
    FormatRejected,
    Notice,
    ReadingsFormat,
    Rejection,
    quoted,
)
from b8760_assets.landing.reading_keys import READING_KEY, FileKeys, batch_keys
from b8760_assets.landing.reading_rules import row_rejection
from b8760_assets.ordered_map import ordered_map

# Readings converted and checked at a time, by WORKERS threads at once: each batch in flight
# holds its readings as Python text, about 200 bytes a reading.
BATCH_READINGS = 50_000
WORKERS = min(4, os.cpu_count() or 1)
# Readings of blocks whose channel is not known yet, held in memory (as text, like a batch)
# before they go to disk.
HELD_READINGS = 2 * BATCH_READINGS
CHANNEL_SCHEMA = {
    "meter_id": pl.String,
    "unit": pl.String,
    "exponent": pl.Int64,
    "interval_length": pl.Int64,
    "register": pl.Boolean,
}
T = TypeVar("T")


class EspiFormat(ReadingsFormat):
    """Readings as a Green Button (NAESB ESPI) Atom feed of UsagePoints, MeterReadings,
    ReadingTypes and IntervalBlocks."""

    name = "espi"
    kind = "xml"
    hint = f'a Green Button file is an Atom feed (<feed xmlns="{ATOM}">) of ESPI entries'

    def detect(self, head: bytes, name: str) -> bool:
        return ATOM.encode() in head

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
        """The readings of the channels the connector's meters claim, a batch at a time in
        file order (held blocks last), each through `transform` if given (in WORKERS
        threads); a Notice for each channel no meter claims; the reads of the register
        channels they claim to `on_registers`, once, if any; FormatRejected, possibly after
        some batches, for the file's first problem."""
        reading = _FeedReading(meters)
        keys, count = FileKeys(), 0
        try:
            checked = ordered_map(
                partial(_checked, transform=transform),
                reading.batches(source),
                workers=WORKERS,
                ahead=WORKERS,
            )
            for readings, batch_count, batch_hashes in checked:
                keys.add(batch_hashes)
                count += batch_count
                yield readings
            repeated = keys.repeated()
        finally:
            keys.close()
        repeat = _first_repeat(source, meters, repeated) if len(repeated) else None
        if repeat is not None:
            raise FormatRejected(repeat)
        registers = reading.register_reads()
        if count == 0 and not reading.unclaimed.tallies:
            only = " but register reads" if registers.height else ""
            raise FormatRejected(
                Rejection(
                    "espi.no_readings",
                    None,
                    f"the feed has no IntervalReading{only}; a Green Button file of interval "
                    "data holds IntervalBlocks of IntervalReadings (accumulationBehaviour 4)",
                )
            )
        if on_registers is not None and registers.height:
            on_registers(registers)
        for each in reading.unclaimed.notices(connector):
            notice(each)


@dataclass(frozen=True)
class _Batch:
    raw: pl.DataFrame  # interval_readings.RawReadings.frame()
    channels: pl.DataFrame  # CHANNEL_SCHEMA, a row per channel index the batch uses


def _checked(batch: _Batch, transform: Callable[[pl.DataFrame], Any] | None) -> tuple:
    """A batch as readings (FormatRejected for its first problem), their count and the
    hashes of their (meter, start): worked out in the reader's threads."""
    readings = as_readings(batch.raw, batch.channels)
    hashes = batch_keys(readings)
    return (readings if transform is None else transform(readings)), readings.height, hashes


class _FeedReading:
    """One read of a feed: its links so far, the channels its meters claim (an index each),
    the blocks held for a channel not known yet, and the readings no meter claims."""

    def __init__(self, meters: Mapping[str, Meter]) -> None:
        self.meters = meters
        self.claims = MeterClaims(meters)
        self.links = FeedLinks()
        self.claimed: dict[int, int | None] = {}  # MeterReading entry's id -> channel index
        self.channels: list[dict[str, Any]] = []
        self.unclaimed = Unclaimed()
        self.pending = RawReadings()
        self.registers = RawReadings()

    def batches(self, source: bytes | Path) -> Iterator[_Batch]:
        """The claimed readings in batches of about BATCH_READINGS, in file order, then those
        of the blocks held until the feed named their channel."""
        with _Held() as held:
            for entry, readings in entries(source):
                self.links.add(entry)
                for raw in readings:
                    channel = self.links.channel_of(entry)
                    if channel is None:
                        held.add(entry, raw)
                    else:
                        yield from self._add(channel, raw)
            for entry, raw in held.drained():
                channel = self.links.channel_of(entry)
                if channel is None:
                    raise FormatRejected(self.links.unlinked(entry))
                yield from self._add(channel, raw)
        if len(self.pending):
            yield self._flushed()

    def _add(self, channel: Channel, raw: RawReadings) -> Iterator[_Batch]:
        index = self._index(channel)
        if index is None:
            self.unclaimed.add(channel, len(raw))
            return
        if self.channels[index]["register"]:
            self.registers.extend(raw, index)
            return
        self.pending.extend(raw, index)
        if len(self.pending) >= BATCH_READINGS:
            yield self._flushed()

    def _flushed(self) -> _Batch:
        batch = _Batch(self.pending.frame(), self._channels_frame())
        self.pending = RawReadings()
        return batch

    def register_reads(self) -> pl.DataFrame:
        """The reads of the claimed register channels (REGISTER_READS_SCHEMA), once the feed
        is read; FormatRejected for the first bad one."""
        return as_register_reads(self.registers.frame(), self._channels_frame())

    def _channels_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.channels, schema=CHANNEL_SCHEMA)

    def _index(self, channel: Channel) -> int | None:
        """The channel's index among the claimed ones, or None when no meter claims it; its
        ReadingType and commodity are checked the first time a claimed channel is seen."""
        key = id(channel.meter_reading)
        if key not in self.claimed:
            meter = self.claims.meter_of(channel)
            self.claimed[key] = None if meter is None else self._claimed(channel, meter)
        return self.claimed[key]

    def _claimed(self, channel: Channel, meter: Meter) -> int:
        entry = channel.reading_type
        kind = reading_type(entry.self_href or "", entry.line, entry.fields)
        mismatch = commodity_problem(kind, meter, channel.meter_reading.line)
        if mismatch is not None:
            raise FormatRejected(mismatch)
        self.channels.append(
            {
                "meter_id": meter.id,
                "unit": kind.unit,
                "exponent": kind.exponent,
                "interval_length": kind.interval_length,
                "register": kind.register,
            }
        )
        return len(self.channels) - 1


class _Held:
    """Blocks whose channel is not known yet: in memory up to HELD_READINGS, then in Arrow
    files on disk, so that a feed that puts its ReadingTypes last still reads in flat memory."""

    def __init__(self) -> None:
        self.in_memory: list[tuple[Entry, RawReadings]] = []
        self.count = 0
        self.on_disk: list[tuple[Entry, Path]] = []
        self.folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "_Held":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()

    def add(self, entry: Entry, raw: RawReadings) -> None:
        self.in_memory.append((entry, raw))
        self.count += len(raw)
        if self.count > HELD_READINGS:
            if self.folder is None:
                self.folder = tempfile.TemporaryDirectory(prefix="b8760-espi-")
            for held_entry, held_raw in self.in_memory:
                path = Path(self.folder.name) / str(len(self.on_disk))
                held_raw.write_ipc(path)
                self.on_disk.append((held_entry, path))
            self.in_memory, self.count = [], 0

    def drained(self) -> Iterator[tuple[Entry, RawReadings]]:
        for entry, path in self.on_disk:
            yield entry, RawReadings.read_ipc(path)
        yield from self.in_memory


def _first_repeat(
    source: bytes | Path, meters: Mapping[str, Meter], repeated: np.ndarray
) -> Rejection | None:
    """The first reading that repeats a meter's interval start, among those whose hash
    repeats (None for a 64-bit collision): the feed is read again, which only a file with a
    repeated hash costs."""
    candidates = pl.Series(repeated, dtype=pl.UInt64).implode()
    found = [
        as_readings(batch.raw, batch.channels).filter(READING_KEY.is_in(candidates))
        for batch in _FeedReading(meters).batches(source)
    ]
    rows = pl.concat(found).sort("line")
    repeats = rows.filter(~pl.struct("meter_id", "interval_start").is_first_distinct())
    if repeats.is_empty():
        return None
    row = repeats.row(0, named=True)
    first = rows.filter(
        (pl.col("meter_id") == row["meter_id"])
        & (pl.col("interval_start") == row["interval_start"])
    ).item(0, "line")
    return row_rejection(
        row,
        "espi.duplicate_reading",
        f"meter {quoted(row['meter_id'])} already has a reading for the interval starting "
        f"{row['interval_start']:%Y-%m-%dT%H:%M:%SZ}, on line {first}; give each meter's "
        "interval once per file (a meter without a flow_direction reads every flow of its "
        "UsagePoint)",
    )
