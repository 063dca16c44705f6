"""A connector's properties.xml: who operates it, what it accepts, and from which hour.

The file is in the java.util.Properties XML format; docs/configuration.md lists every key.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from b8760_assets.config import values
from b8760_assets.config.csv_layout import LAYOUT_KEYS, CsvLayout, read_layout
from b8760_assets.config.entries import Key, read_entries
from b8760_assets.config.problems import ConfigProblem, checked
from b8760_assets.config.values import InvalidValue
from b8760_assets.validation.thresholds import (
    DEFAULT_REGISTER_TOLERANCE_PERCENT,
    DEFAULT_SPIKE_RATIO,
    DEFAULT_ZERO_RUN_HOURS,
    MOST_ESTIMATE_MINUTES,
)

# csv: docs/uploading.md section 2; espi: Green Button ESPI XML (section 2b).
KNOWN_FORMATS = frozenset({"csv", "espi"})
CSV_FORMAT = "csv"
ESPI_FORMAT = "espi"
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
# How often a connector is expected to deliver a file, as the arrival hours between files
# (landing/deliveries.py); "none", the default, is never late: a connector that delivers when
# it has something (the sample's) is quiet, not late.
CADENCE_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}
NO_CADENCE = "none"
DEFAULT_GRACE_HOURS = 1
# At most a week's grace: a late connector's quiet hours are looked for in a bounded window.
MAX_GRACE_HOURS = 168

# GCS bucket naming, restricted to names without the dotted (domain) form's longer limit.
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
IP_ADDRESS_PATTERN = re.compile(r"\d+\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class ConnectorProperties:
    """What the platform knows about a connector, from its properties.xml."""

    name: str
    participant: str
    bucket: str
    external: bool
    formats: tuple[str, ...]
    timezone: str
    unit: str
    start_hour: datetime
    max_file_bytes: int
    source: Path
    csv_layout: CsvLayout = CsvLayout()  # file.csv.* keys: how its CSV files lay out readings
    # Validation thresholds (docs/validation.md): the defaults unless properties.xml sets them.
    spike_ratio: float = DEFAULT_SPIKE_RATIO
    zero_run_hours: float = DEFAULT_ZERO_RUN_HOURS
    estimate_max_minutes: float | None = None  # None: no gap is estimated
    register_tolerance_percent: float = DEFAULT_REGISTER_TOLERANCE_PERCENT
    delivery_cadence: str = NO_CADENCE
    delivery_grace_hours: int = DEFAULT_GRACE_HOURS

    @property
    def cadence_hours(self) -> int | None:
        """Arrival hours between the files expected, None if no cadence is expected."""
        return CADENCE_HOURS.get(self.delivery_cadence)


@dataclass(frozen=True)
class ConnectorFile:
    """A connector's properties with the line of each key, for problems found across files."""

    properties: ConnectorProperties
    lines: Mapping[str, int]


def _estimate_minutes(text: str) -> float:
    minutes = values.positive_number(text, "number of minutes")
    if minutes > MOST_ESTIMATE_MINUTES:
        raise InvalidValue(
            f"{text!r} minutes is more than a day; estimation fills gaps of at most "
            f"{MOST_ESTIMATE_MINUTES} minutes (docs/validation.md)"
        )
    return minutes


def _bucket(text: str) -> str:
    if (
        not BUCKET_PATTERN.fullmatch(text)
        or IP_ADDRESS_PATTERN.fullmatch(text)
        or text.startswith("goog")
        or "google" in text
    ):
        raise InvalidValue(
            f"{text!r} is not a valid GCS bucket name; use 3 to 63 lowercase letters, digits, "
            "'_', '-' or '.', starting and ending with a letter or digit"
        )
    return text


def _boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise InvalidValue(f"{text!r} is not a boolean; write true or false")
    return text == "true"


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(item.strip() for item in text.split(","))
    for item in formats:
        values.one_of(item, KNOWN_FORMATS, "file format")
    if len(set(formats)) != len(formats):
        raise InvalidValue(f"{text!r} names a file format twice")
    return formats


def _utc_hour(text: str) -> datetime:
    """The first hour of data, which is also the first partition: a UTC hour."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() != timedelta(0):
        raise InvalidValue(f"{text!r} is not a UTC time; write it like 2021-11-01T00:00:00Z")
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise InvalidValue(f"{text!r} is not on the hour; write it like 2021-11-01T00:00:00Z")
    return moment.astimezone(UTC)


def _byte_count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) == 0:
        raise InvalidValue(f"{text!r} is not a positive whole number of bytes")
    return int(text)


def _grace_hours(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_GRACE_HOURS:
        raise InvalidValue(f"{text!r} is not a whole number of hours from 0 to {MAX_GRACE_HOURS}")
    return int(text)


KEYS: Mapping[str, Key] = {
    "connector.name": Key("name", lambda text: values.name(text, "connector")),
    "connector.external": Key("external", _boolean),
    "participant.name": Key("participant", lambda text: values.name(text, "participant")),
    "participant.bucket": Key("bucket", _bucket),
    "file.formats": Key("formats", _formats),
    "file.max.bytes": Key("max_file_bytes", _byte_count, default=DEFAULT_MAX_FILE_BYTES),
    "data.timezone": Key("timezone", values.timezone),
    "data.unit": Key("unit", values.unit),
    "data.start.hour": Key("start_hour", _utc_hour),
    "delivery.cadence": Key(
        "delivery_cadence",
        lambda text: values.one_of(text, {*CADENCE_HOURS, NO_CADENCE}, "delivery cadence"),
        default=NO_CADENCE,
    ),
    "delivery.grace.hours": Key("delivery_grace_hours", _grace_hours, default=DEFAULT_GRACE_HOURS),
    **LAYOUT_KEYS,
    "validation.spike.ratio": Key(
        "spike_ratio",
        lambda text: values.positive_number(text, "spike ratio"),
        default=DEFAULT_SPIKE_RATIO,
    ),
    "validation.zero.run.hours": Key(
        "zero_run_hours",
        lambda text: values.positive_number(text, "number of hours"),
        default=DEFAULT_ZERO_RUN_HOURS,
    ),
    "validation.estimate.max.minutes": Key("estimate_max_minutes", _estimate_minutes, default=None),
    "validation.register.tolerance.percent": Key(
        "register_tolerance_percent",
        lambda text: values.positive_number(text, "percentage"),
        default=DEFAULT_REGISTER_TOLERANCE_PERCENT,
    ),
}


def read_connector_file(path: Path) -> tuple[ConnectorFile | None, list[ConfigProblem]]:
    """The connector in path, or every problem in it (unknown, missing, duplicate, bad keys)."""
    entries, problems = read_entries(path, KEYS)
    if entries is None:
        return None, problems
    folder = path.parent.name
    if entries.fields.get("name", folder) != folder:
        problems.append(
            ConfigProblem(
                path,
                entries.lines["connector.name"],
                "connector.name",
                f"{entries.fields['name']!r} differs from its folder {folder!r}; "
                "a connector's properties.xml lives in connectors/<connector.name>/",
            )
        )
    given = {key.field: entries.fields.pop(key.field, None) for key in LAYOUT_KEYS.values()}
    if problems:
        return None, problems
    layout, problems = read_layout(
        given, entries.lines, path, CSV_FORMAT in entries.fields["formats"]
    )
    if layout is None:
        return None, problems
    connector = ConnectorProperties(**entries.fields, source=path, csv_layout=layout)
    return ConnectorFile(connector, entries.lines), []


def read_properties(path: Path) -> ConnectorProperties:
    """The connector described by a properties.xml; ConfigError lists every problem in it."""
    connector, problems = read_connector_file(path)
    return checked(connector, problems).properties
