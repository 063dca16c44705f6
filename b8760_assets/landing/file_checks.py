"""The landing check: the verdict on one file an external connector uploaded.

Pure logic (bytes or a local file in, verdict out; no Dagster, no GCS): the landing-zone
connector archives an accepted file with its readings and quarantines a refused one beside its
Rejection. A file in memory (check_file) comes back with its readings; a downloaded file
(check_local_file) is read a batch at a time, so that a large one never has to fit in memory.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.landing.csv_format import CsvFormat
from b8760_assets.landing.espi_format import EspiFormat
from b8760_assets.landing.formats import (
    FormatRejected,
    Notice,
    ReadingsFormat,
    Rejection,
    quoted,
)
from b8760_assets.layout import MAX_NAME_BYTES, PLATFORM_NAMES
from b8760_assets.standardized.normalize import Normalizer

# Every format a connector's properties.xml may name in file.formats.
FORMATS: Mapping[str, ReadingsFormat] = {"csv": CsvFormat(), "espi": EspiFormat()}

# Enough of a file to recognize its format by.
HEAD_BYTES = 4096

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownMeters:
    """A connector's meters as the landing check uses them: by id, for the formats whose files
    name them otherwise (which Green Button UsagePoint each reads), and as a Normalizer, to
    refuse a value that would overflow once stated in its meter's unit."""

    by_id: Mapping[str, Meter]
    normalizer: Normalizer

    @classmethod
    def of(cls, connector: ConnectorProperties, meters: Mapping[str, Meter]) -> "KnownMeters":
        return cls(meters, Normalizer(connector, meters))


@dataclass(frozen=True)
class CheckedFile:
    """The verdict on one uploaded file: its readings when accepted, the reason when refused."""

    name: str  # relative to the connector's landing prefix
    format: str | None
    # Left out of == and repr: a DataFrame compares element-wise, and can be millions of rows.
    # None from check_local_file, which hands the readings over a batch at a time.
    readings: pl.DataFrame | None = field(compare=False, repr=False)
    rejection: Rejection | None
    count: int | None = field(default=None, repr=False)  # readings in an accepted file
    # Readings of an accepted file the platform did not take in, and why.
    notices: tuple[Notice, ...] = ()
    # The register reads of an accepted file that carries them (formats.REGISTER_READS_SCHEMA),
    # from check_file; check_local_file hands them to its on_registers.
    registers: pl.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def accepted(self) -> bool:
        return self.rejection is None


def check_name(name: str) -> Rejection | None:
    """Why an object name cannot be archived as it is, or None.

    The name (relative to the connector's prefix) becomes part of the archive and quarantine
    object names, so it must stay a plain relative path of printable UTF-8.
    """
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return _name_rejection("name.not_utf8", name, "is not valid UTF-8; name the file in UTF-8")
    unprintable = next((char for char in name if not char.isprintable()), None)
    if unprintable is not None:
        return _name_rejection(
            "name.unprintable",
            name,
            f"holds the unprintable character U+{ord(unprintable):04X}; "
            "use printable characters only",
        )
    if size > MAX_NAME_BYTES:
        return _name_rejection(
            "name.too_long",
            name,
            f"is {size} bytes long; a name is at most {MAX_NAME_BYTES} bytes (UTF-8)",
        )
    segments = name.split("/")
    if "" in segments:
        return _name_rejection(
            "name.empty_segment",
            name,
            "has an empty path segment (a leading, trailing or doubled '/'); "
            "separate folders with one '/'",
        )
    if any(segment in (".", "..") for segment in segments):
        return _name_rejection(
            "name.unsafe",
            name,
            "has a '.' or '..' path segment; name the file without relative folders",
        )
    if name in PLATFORM_NAMES:
        return _name_rejection(
            "name.reserved",
            name,
            f"is the platform's ({', '.join(sorted(PLATFORM_NAMES))} at the root); "
            "choose another name",
        )
    return None


def _name_rejection(rule: str, name: str, problem: str) -> Rejection:
    return Rejection(rule, None, f"the file name {quoted(name)} {problem}")


def check_size(size: int, connector: ConnectorProperties) -> Rejection | None:
    """Why a file is too large for its connector, or None; a listed size is enough to refuse
    a file without downloading it."""
    if size > connector.max_file_bytes:
        return Rejection(
            "file.too_large",
            None,
            f"the file is {size:,} bytes; connector {connector.name} takes files of at most "
            f"{connector.max_file_bytes:,} bytes; split it into smaller files",
        )
    return None


def check_file(
    name: str, data: bytes, connector: ConnectorProperties, meters: KnownMeters | None = None
) -> CheckedFile:
    """The verdict on one uploaded file: name, size, format, then every reading in it, and
    with the connector's `meters`, that every value stays a number in its meter's unit (and
    which meter reads each channel of a Green Button file).

    Always a verdict, never an exception: a file that made the check raise would fail the
    intake of its whole arrival hour, on every retry.
    """
    known = meters or KnownMeters.of(connector, {})
    registers: list[pl.DataFrame] = []

    def read(file_format: ReadingsFormat, notice: Callable[[Notice], None]) -> _Read:
        readings = file_format.read(
            data, connector, meters=known.by_id, notice=notice, on_registers=registers.append
        )
        overflow = _overflow(readings, known.normalizer)
        if overflow is not None:
            raise FormatRejected(overflow)
        return readings, readings.height

    verdict = _verdict(name, len(data), data[:HEAD_BYTES], read, connector)
    if verdict.accepted and registers:
        return replace(verdict, registers=pl.concat(registers))
    return verdict


def check_local_file(
    name: str,
    path: Path,
    connector: ConnectorProperties,
    *,
    meters: KnownMeters | None = None,
    on_readings: Callable[[pl.DataFrame], None] | None = None,
    on_registers: Callable[[pl.DataFrame], None] | None = None,
) -> CheckedFile:
    """check_file on a file downloaded to `path`, read a batch at a time: the memory it takes
    does not grow with the file. The verdict holds the count of readings, not the readings:
    each batch goes to `on_readings` as it is read (in file order), before the verdict, which
    a later batch may still make a rejection, so whatever it keeps must wait for the verdict;
    so must what it keeps of the register reads given to `on_registers`. An exception in
    on_readings or on_registers is raised as it is."""

    known = meters or KnownMeters.of(connector, {})

    def read(file_format: ReadingsFormat, notice: Callable[[Notice], None]) -> _Read:
        count, first_overflow = 0, None
        batches = file_format.read_batches(
            path,
            connector,
            partial(_with_overflow, known.normalizer),
            meters=known.by_id,
            notice=notice,
            on_registers=None if on_registers is None else _consumer(on_registers),
        )
        for readings, overflow in batches:
            # The format's own rules come first, as check_file has them: an overflow is the
            # verdict only once the whole file has been read without another problem.
            first_overflow = first_overflow or overflow
            count += readings.height
            if on_readings is not None and first_overflow is None:
                try:
                    on_readings(readings)
                except BaseException as error:
                    raise _ConsumerFailed(error) from None
        if first_overflow is not None:
            raise FormatRejected(first_overflow)
        return None, count

    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    return _verdict(name, path.stat().st_size, head, read, connector)


def _with_overflow(
    normalizer: Normalizer, readings: pl.DataFrame
) -> tuple[pl.DataFrame, Rejection | None]:
    """A batch with its overflow rejection, if any: worked out in the reader's threads."""
    return readings, _overflow(readings, normalizer)


def _overflow(readings: pl.DataFrame, normalizer: Normalizer) -> Rejection | None:
    """Why a reading's value stops being a number in its meter's unit (1.7e308 gal with a
    multiplier of 10), or None: such a value could be stored nowhere downstream."""
    row = normalizer.first_overflow(readings)
    if row is None:
        return None
    return Rejection(
        "value.overflows",
        row["line"],
        f"line {row['line']}: the value {row['value']!r} {row['unit']} of meter "
        f"{quoted(row['meter_id'])} is beyond the largest number (about 1.8e308) once stated "
        f"in the meter's unit {row['meter_unit']} with its multiplier {row['multiplier']!r}; "
        "check the value and its unit",
    )


def _consumer(take: Callable[[pl.DataFrame], None]) -> Callable[[pl.DataFrame], None]:
    """take, its exceptions carried through the check untouched (_ConsumerFailed)."""

    def taking(frame: pl.DataFrame) -> None:
        try:
            take(frame)
        except BaseException as error:
            raise _ConsumerFailed(error) from None

    return taking


class _ConsumerFailed(Exception):
    """An exception of check_local_file's caller, carried through the check untouched."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


# What a read gives the verdict: the readings (None when handed over a batch at a time), and
# their count.
_Read = tuple[pl.DataFrame | None, int]


def _verdict(
    name: str,
    size: int,
    head: bytes,
    read: Callable[[ReadingsFormat, Callable[[Notice], None]], _Read],
    connector: ConnectorProperties,
) -> CheckedFile:
    rejection = check_name(name) or check_size(size, connector)
    if rejection is None and not size:
        rejection = Rejection(
            "file.empty", None, "the file is empty (0 bytes); upload it again with its readings"
        )
    if rejection is not None:
        return CheckedFile(name, None, None, rejection)
    accepted = [FORMATS[format_name] for format_name in connector.formats]
    file_format = next((each for each in accepted if each.detect(head, name)), None)
    if file_format is None:
        return CheckedFile(name, None, None, _unrecognized(name, head, connector))
    notices: list[Notice] = []
    try:
        readings, count = read(file_format, notices.append)
        return CheckedFile(name, file_format.name, readings, None, count, tuple(notices))
    except FormatRejected as refused:
        return CheckedFile(name, file_format.name, None, refused.rejection)
    except _ConsumerFailed as failed:
        raise failed.error from None
    # A reader's own fault, not a rule the file broke: refuse the file, keep the traceback.
    # A polars panic is a BaseException.
    except (Exception, pl.exceptions.PanicException) as error:
        logger.exception("the %s reader failed on %r", file_format.name, name)
        return CheckedFile(name, file_format.name, None, _reader_failed(name, error))


def _reader_failed(name: str, error: BaseException) -> Rejection:
    return Rejection(
        "file.unreadable",
        None,
        f"the file could not be read: the check failed with {type(error).__name__}: "
        f"{quoted(str(error))}; contact Benchmark 8760 support with the file name {quoted(name)}",
    )


def _unrecognized(name: str, head: bytes, connector: ConnectorProperties) -> Rejection:
    """A file in none of the connector's formats: in a format it does not take, or in none."""
    accepted = ", ".join(connector.formats)
    other = next(
        (
            each
            for each in FORMATS.values()
            if each.name not in connector.formats and each.detect(head, name)
        ),
        None,
    )
    if other is not None:
        return Rejection(
            "format.not_accepted",
            None,
            f"{quoted(name)} is a {other.name} file, but connector {connector.name} takes only "
            f"{accepted}",
        )
    hints = "; ".join(FORMATS[format_name].hint for format_name in connector.formats)
    return Rejection(
        "format.unknown",
        None,
        f"{quoted(name)} is in none of the formats connector {connector.name} takes "
        f"({accepted}): {hints}",
    )
