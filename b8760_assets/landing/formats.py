"""What the landing check asks of a file format: recognize a file, read it into readings, or
refuse it with a reason the uploader can act on.

Every format returns the same normalized readings (READINGS_SCHEMA), so the steps after the
landing check never need to know how a connector wrote its file. A format that finds readings
it does not take in (a Green Button channel no meter claims) says so in a Notice, which the
hour's manifest keeps beside the file: nothing is dropped silently.
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from b8760_assets.config import ConnectorProperties, Meter

READINGS_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String(),
        "interval_start": pl.Datetime("us", "UTC"),
        "interval_end": pl.Datetime("us", "UTC"),
        "value": pl.Float64(),  # as uploaded: the meter's multiplier is applied later
        "unit": pl.String(),  # the connector's unit where the file left it out
        "quality": pl.String(),  # null where the file gave no quality flag
        "line": pl.Int64(),  # where the reading is in the file (1-based), for later error messages
    }
)

# A meter's register (its running total) as read at an instant, beside its interval readings:
# not readings of the platform, the reads a check holds the intervals' sum to.
REGISTER_READS_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String(),
        "read_at": pl.Datetime("us", "UTC"),
        "value": pl.Float64(),  # as uploaded, in `unit`: the meter's multiplier is applied later
        "unit": pl.String(),
        "resolution": pl.Float64(),  # the register's last digit, in `unit`
        "line": pl.Int64(),
    }
)

# The platform's quality flags, whatever flags a format's files use.
QUALITY_FLAGS = {
    "A": "actual, measured by the meter",
    "E": "estimated by the connector or its source system",
    "M": "missing: the meter recorded nothing and the value is a placeholder",
}

# Values quoted in a message are cut here: a message names the value, it does not replay the file.
SHOWN_CHARS = 80


@dataclass(frozen=True)
class Finding:
    """Something the check found in a file, in words an uploader can act on.

    rule is a stable machine name ("csv.bad_timestamp") for dashboards and tests; the message
    says what was found, where, and what to do instead.
    """

    rule: str
    line: int | None
    message: str

    def to_json(self) -> dict[str, object]:
        """As kept for the file (its reason, its manifest entry)."""
        return {"rule": self.rule, "line": self.line, "message": self.message}


class Rejection(Finding):
    """Why a file was refused: kept with it in quarantine (reasons/<hour>/<digest>.json)."""


class Notice(Finding):
    """Readings an accepted file holds that the platform did not take in, and why (a Green
    Button channel no meter claims): kept in the hour's manifest, so that none is dropped
    silently."""


class FormatRejected(Exception):
    """Raised by a format reader for a file it recognizes but will not take in."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class ReadingsFormat(ABC):
    """A file format connectors may upload readings in (named in properties.xml file.formats).

    A format reads a file a batch at a time (read_batches); its read of a file in memory is
    those batches put together."""

    name: str
    # How an uploader makes a file recognizable as this format, for the format.unknown message.
    hint: str
    # The file type the UI shows among the intake asset's kinds.
    kind: str

    @abstractmethod
    def detect(self, head: bytes, name: str) -> bool:
        """Whether a file, judged by its name and first bytes, is in this format."""

    def read(
        self,
        data: bytes,
        connector: ConnectorProperties,
        *,
        meters: Mapping[str, Meter],
        notice: Callable[[Notice], None],
        on_registers: Callable[[pl.DataFrame], None] | None = None,
    ) -> pl.DataFrame:
        """The file's readings as READINGS_SCHEMA, or FormatRejected naming the first problem;
        see read_batches."""
        batches = list(
            self.read_batches(
                data, connector, meters=meters, notice=notice, on_registers=on_registers
            )
        )
        return pl.concat(batches) if batches else READINGS_SCHEMA.to_frame()

    @abstractmethod
    def read_batches(
        self,
        source: bytes | Path,
        connector: ConnectorProperties,
        transform: Callable[[pl.DataFrame], Any] | None = None,
        *,
        meters: Mapping[str, Meter],
        notice: Callable[[Notice], None],
        on_registers: Callable[[pl.DataFrame], None] | None = None,
    ) -> Iterator[Any]:
        """The readings of a file (its bytes, or a local file) a batch at a time, in file
        order and in the memory of a few batches whatever the file's size, each through
        `transform` if given (which may run in other threads); FormatRejected for the file's
        first problem, which may come after some batches: a caller that needs the verdict
        first reads them all.

        `meters` are the connector's meters by id, for a format whose files name their
        meters otherwise (a Green Button file names UsagePoints); `notice` is given, before
        the verdict, each Notice of readings the file holds and the platform does not take;
        `on_registers`, if given, the register reads of the file (REGISTER_READS_SCHEMA), also
        before the verdict, for a format whose files carry them beside the intervals.
        """


def quoted(value: str | None) -> str:
    """A value found in an upload as a message shows it: quoted, escaped, cut to SHOWN_CHARS.

    Escaping keeps line breaks, control characters and undecodable names visible, and keeps
    the message itself valid UTF-8 for the reason's JSON.
    """
    text = value or ""
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "…"
    return json.dumps(text.encode("utf-8", "backslashreplace").decode("utf-8"), ensure_ascii=False)
