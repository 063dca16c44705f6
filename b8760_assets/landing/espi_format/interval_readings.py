"""IntervalReadings: an IntervalBlock's readings taken out of the XML as columns of text, then,
a batch of many blocks at a time, as the platform's readings.

Taking a block's readings out is a few compiled XPath queries over it (libxml2 walks the
tree, Python sees one list per column), not a Python step per element; numbers, scaling and
rules run over whole batches in polars, so that a block of 96 readings costs little more
than libxml2's parse of it.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
from lxml import etree

from b8760_assets.landing.espi_format.quality import quality_flags
from b8760_assets.landing.espi_format.reading_types import not_a_whole_number
from b8760_assets.landing.formats import READINGS_SCHEMA, FormatRejected, Rejection
from b8760_assets.landing.reading_rules import (
    EARLIEST,
    LATEST,
    RowRule,
    boundary,
    first_offense,
    known_length,
    lengths_allowed,
    row_rejection,
    unaligned,
)

ESPI = "http://naesb.org/espi"
_NS = {"e": ESPI}
# The queries of a block's readings: of all of them, or of all but the last (a block still
# being parsed, whose last reading may not be complete).
_OF = {False: "e:IntervalReading", True: "e:IntervalReading[position() < last()]"}


def _queries(readings: str) -> tuple[etree.XPath, ...]:
    return tuple(
        etree.XPath(readings + path, namespaces=_NS, smart_strings=False)
        for path in (
            "",
            "/e:timePeriod/e:start/text()",
            "/e:timePeriod/e:duration/text()",
            "/e:value/text()",
            "/e:ReadingQuality/e:quality",
        )
    )


_QUERIES = {keep_last: _queries(readings) for keep_last, readings in _OF.items()}
_NUMBERS = ("start", "duration", "value")
_EARLIEST_S, _LATEST_S = int(EARLIEST.timestamp()), int(LATEST.timestamp())


@dataclass
class RawReadings:
    """Readings as the file writes them (text), with the line of each and the channel (an
    index into the channels of the file) it belongs to, gathered block by block."""

    start: list[str] = field(default_factory=list)
    duration: list[str | None] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    quality: list[str | None] = field(default_factory=list)  # codes, space-separated
    line: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)
    COLUMNS: ClassVar = ("start", "duration", "value", "quality", "line", "channel")
    TAKEN: ClassVar = COLUMNS[:-1]  # as a block gives them, before its channel is known

    def __len__(self) -> int:
        return len(self.line)

    def extend(self, other: "RawReadings", channel: int) -> None:
        self.start += other.start
        self.duration += other.duration
        self.value += other.value
        self.quality += other.quality
        self.line += other.line
        self.channel += [channel] * len(other)

    def write_ipc(self, path: Path) -> None:
        """A block's readings, set aside on disk until its channel is known."""
        pl.DataFrame({name: getattr(self, name) for name in self.TAKEN}).write_ipc(path)

    @classmethod
    def read_ipc(cls, path: Path) -> "RawReadings":
        frame = pl.read_ipc(path)
        return cls(*(frame[name].to_list() for name in cls.TAKEN))

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {name: getattr(self, name) for name in self.COLUMNS},
            schema={
                **dict.fromkeys(("start", "duration", "value", "quality"), pl.String),
                "line": pl.Int64,
                "channel": pl.Int64,
            },
        )


def take_readings(block: etree._Element, keep_last: bool) -> RawReadings:
    """The readings of a complete block, or (keep_last) the complete ones of a block still
    being parsed, removed from it so that the tree holds at most a chunk of a block however
    long; espi.missing_element for a reading without a start or a value."""
    query_readings, query_starts, query_durations, query_values, query_qualities = _QUERIES[
        keep_last
    ]
    readings = query_readings(block)
    lines = [reading.sourceline for reading in readings]
    starts, values = query_starts(block), query_values(block)
    durations = query_durations(block)
    if len(starts) != len(readings) or len(values) != len(readings):
        starts, values = _each(readings, "timePeriod/e:start"), _each(readings, "value")
    if len(durations) != len(readings):
        durations = [
            reading.findtext("e:timePeriod/e:duration", namespaces=_NS) for reading in readings
        ]
    qualities = _qualities(query_qualities(block), readings, lines)
    if keep_last:
        for reading in readings:
            block.remove(reading)
    return RawReadings(starts, durations, values, qualities, lines)


def _each(readings: list[etree._Element], path: str) -> list[str]:
    """One element's text of each reading, in order; espi.missing_element names the first
    reading without it."""
    found = []
    for reading in readings:
        text = reading.findtext(f"e:{path}", namespaces=_NS)
        if text is None:
            name = path.rsplit(":", 1)[-1]
            raise FormatRejected(
                Rejection(
                    "espi.missing_element",
                    reading.sourceline,
                    f"line {reading.sourceline}: the IntervalReading has no {name}; each "
                    "IntervalReading gives its timePeriod's start and its value",
                )
            )
        found.append(text)
    return found


def _qualities(
    codes: list[etree._Element], readings: list[etree._Element], lines: list[int]
) -> list[str | None]:
    """Each reading's ReadingQuality codes (space-separated), or None, from the block's
    quality elements: placed by line when every reading starts on a line of its own, else
    looked up reading by reading."""
    if not codes:
        return [None] * len(readings)
    if len(set(lines)) != len(lines) or lines != sorted(lines):
        return [
            " ".join(
                (q.text or "").strip() for q in reading.iterfind("e:ReadingQuality/e:quality", _NS)
            )
            or None
            for reading in readings
        ]
    found: list[str | None] = [None] * len(readings)
    places = np.searchsorted(lines, [code.sourceline for code in codes], side="right") - 1
    for place, code in zip(places.tolist(), codes, strict=True):
        text = (code.text or "").strip()
        found[place] = text if found[place] is None else f"{found[place]} {text}"
    return found


def as_readings(raw: pl.DataFrame, channels: pl.DataFrame) -> pl.DataFrame:
    """A batch of raw readings as READINGS_SCHEMA, by the `channels` they belong to (meter_id,
    unit, exponent, interval_length, a row per channel index); FormatRejected for the first
    reading that breaks a rule."""
    numbers = whole_numbers(raw)
    of_channel = channels.select(pl.all().gather(numbers["channel"]))
    seconds = numbers["start"]
    duration = numbers["duration"].fill_null(of_channel["interval_length"])
    readings = pl.DataFrame(
        {
            "meter_id": of_channel["meter_id"],
            "interval_start": instants(seconds),
            "interval_end": instants(seconds + duration),
            "value": scaled(numbers["value"], of_channel["exponent"]),
            "unit": of_channel["unit"],
            "quality": quality_flags(raw["quality"], raw["line"]),
            "line": raw["line"],
            "start": raw["start"],
            "duration": duration,
        }
    )
    offense = first_offense(readings, _RULES)
    if offense is not None:
        raise FormatRejected(offense[1])
    return readings.select(READINGS_SCHEMA.names())


def whole_numbers(raw: pl.DataFrame) -> pl.DataFrame:
    """start, duration and value as whole numbers (text trimmed only if it must be);
    espi.bad_number for the first that is not one, espi.bad_time for a start the platform
    cannot store."""
    numbers = raw.select(*(pl.col(name).cast(pl.Int64, strict=False) for name in _NUMBERS))
    if sum(numbers[name].null_count() for name in _NUMBERS) != raw["duration"].null_count():
        numbers = raw.select(
            *(pl.col(name).str.strip_chars().cast(pl.Int64, strict=False) for name in _NUMBERS)
        )
    for name in _NUMBERS:
        bad = (numbers[name].is_null() & raw[name].is_not_null()).arg_true()
        if bad.len():
            row = int(bad[0])
            raise FormatRejected(not_a_whole_number(name, raw[name][row], int(raw["line"][row])))
    outside = (~numbers["start"].is_between(_EARLIEST_S, _LATEST_S)).arg_true()
    if outside.len():
        row = int(outside[0])
        line = int(raw["line"][row])
        raise FormatRejected(
            Rejection(
                "espi.bad_time",
                line,
                f"line {line}: start {raw['start'][row]} (seconds since 1970-01-01 UTC) is not "
                f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}; check the value",
            )
        )
    return numbers.with_columns(raw["channel"])


def instants(seconds: pl.Series) -> pl.Series:
    return pl.from_epoch(seconds, time_unit="s").cast(READINGS_SCHEMA["interval_start"])


def scaled(values: pl.Series, exponents: pl.Series) -> pl.Series:
    """value × 10^exponent, one exact decimal shift: a division by 10^-exponent when it is
    negative (so 37000 × 10^-3 is 37.0, not 36.99999...)."""
    power = pl.lit(10.0) ** exponents.abs().cast(pl.Float64)
    number = pl.lit(values.cast(pl.Float64))
    return pl.select(
        pl.when(pl.lit(exponents) < 0).then(number / power).otherwise(number * power)
    ).to_series()


def _when(row: dict) -> str:
    start: datetime = row["interval_start"]
    return f"starting {start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (start {row['start']})"


_RULES = [
    RowRule(
        pl.col("duration").is_null(),
        lambda row: row_rejection(
            row,
            "espi.missing_duration",
            f"the reading {_when(row)} has no timePeriod duration and its ReadingType no "
            "intervalLength; give one of them",
        ),
    ),
    RowRule(
        ~known_length(),
        lambda row: row_rejection(
            row,
            "espi.bad_interval",
            f"the reading {_when(row)} lasts {row['duration'] / 60:g} minutes (duration "
            f"{row['duration']}); {lengths_allowed()}: the platform takes interval data, "
            "not a bill's monthly or daily totals",
        ),
    ),
    RowRule(
        unaligned(),
        lambda row: row_rejection(
            row,
            "espi.unaligned_interval",
            f"the reading {_when(row)} " + boundary(row["interval_start"], row["interval_end"]),
        ),
    ),
]
