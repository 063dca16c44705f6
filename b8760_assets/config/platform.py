"""A platform folder: every connector's properties.xml and every meter XML file, checked together.

    <platform>/platform.xml                             the platform's settings (optional)
    <platform>/connectors/<connector>/properties.xml   one folder per connector
    <platform>/meters/*.xml                             meter XML files, any number

Problems name files relative to the platform folder, so that they read the same anywhere.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from b8760_assets.config.meters import Meter, read_meter_file
from b8760_assets.config.platform_settings import (
    PLATFORM_FILE,
    PlatformSettings,
    read_platform_settings,
)
from b8760_assets.config.problems import ConfigProblem, checked
from b8760_assets.config.properties import (
    ESPI_FORMAT,
    ConnectorFile,
    ConnectorProperties,
    read_connector_file,
)

CONNECTORS_FOLDER = "connectors"
METERS_FOLDER = "meters"
PROPERTIES_FILE = "properties.xml"


@dataclass(frozen=True)
class Platform:
    """The connectors (by name), meters and settings of a platform whose configuration has
    no problem."""

    root: Path
    connectors: dict[str, ConnectorProperties]
    meters: tuple[Meter, ...]
    settings: PlatformSettings

    @property
    def participants(self) -> dict[str, str]:
        """Each participant's bucket; load_platform has checked that it has only one."""
        return {
            connector.participant: connector.bucket
            for connector in sorted(self.connectors.values(), key=lambda c: c.participant)
        }

    def meters_of(self, connector: str) -> tuple[Meter, ...]:
        return self._meters_by_connector.get(connector, ())

    @cached_property
    def _meters_by_connector(self) -> dict[str, tuple[Meter, ...]]:
        """Grouped once: a platform of 200 connectors and 20,000 meters would otherwise be
        scanned in full for each connector when the definitions load."""
        grouped: dict[str, list[Meter]] = defaultdict(list)
        for meter in self.meters:
            grouped[meter.connector].append(meter)
        return {name: tuple(meters) for name, meters in grouped.items()}


def _entries(folder: Path) -> list[Path]:
    """A folder's entries in name order, leaving out hidden ones such as .gitkeep."""
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))


def _missing_folder(folder: Path) -> ConfigProblem:
    return ConfigProblem(folder, None, None, f"no {folder.name} folder; see docs/configuration.md")


def _read_connectors(
    folder: Path, problems: list[ConfigProblem]
) -> tuple[dict[str, ConnectorFile], set[str]]:
    """The connectors that read without problems, and the names of all connector folders."""
    if not folder.is_dir():
        problems.append(_missing_folder(folder))
        return {}, set()
    connectors, folders = {}, set()
    for entry in _entries(folder):
        if not entry.is_dir():
            expected = f"{CONNECTORS_FOLDER}/<connector>/{PROPERTIES_FILE}"
            problems.append(
                ConfigProblem(entry, None, None, f"not a connector folder; expected {expected}")
            )
            continue
        folders.add(entry.name)
        connector, found = read_connector_file(entry / PROPERTIES_FILE)
        problems.extend(found)
        if connector:
            connectors[entry.name] = connector
    return connectors, folders


def _read_meters(folder: Path, problems: list[ConfigProblem]) -> tuple[Meter, ...]:
    """The meters that read without problems, from every meter XML file in folder."""
    if not folder.is_dir():
        problems.append(_missing_folder(folder))
        return ()
    meters: list[Meter] = []
    for entry in _entries(folder):
        if not entry.is_file() or entry.suffix != ".xml":
            expected = f"{METERS_FOLDER}/*.xml"
            problems.append(
                ConfigProblem(entry, None, None, f"not a meter XML file; expected {expected}")
            )
            continue
        found_meters, found = read_meter_file(entry)
        meters.extend(found_meters)
        problems.extend(found)
    return tuple(meters)


def _where_bucket_is_named(connector: ConnectorFile, root: Path) -> str:
    line = connector.lines["participant.bucket"]
    return f"{connector.properties.source.relative_to(root)}:{line}"


def _bucket_problems(connectors: Iterable[ConnectorFile], root: Path) -> list[ConfigProblem]:
    """A participant has one bucket, and no two participants share one."""
    problems = []
    by_participant: dict[str, ConnectorFile] = {}
    by_bucket: dict[str, ConnectorFile] = {}
    for connector in connectors:
        this = connector.properties
        messages = []
        same_participant = by_participant.setdefault(this.participant, connector)
        if same_participant.properties.bucket != this.bucket:
            messages.append(
                f"{this.participant} has bucket {same_participant.properties.bucket!r} in "
                f"{_where_bucket_is_named(same_participant, root)}; a participant has one bucket"
            )
        same_bucket = by_bucket.setdefault(this.bucket, connector)
        if same_bucket.properties.participant != this.participant:
            messages.append(
                f"bucket {this.bucket!r} belongs to {same_bucket.properties.participant} in "
                f"{_where_bucket_is_named(same_bucket, root)}; participants do not share buckets"
            )
        line = connector.lines["participant.bucket"]
        problems += [ConfigProblem(this.source, line, "participant.bucket", m) for m in messages]
    return problems


def _meter_problems(
    meters: Iterable[Meter],
    connectors: dict[str, ConnectorProperties],
    folders: set[str],
    root: Path,
) -> list[ConfigProblem]:
    """Meter ids are unique per connector; a meter's connector exists and is operated by
    the meter's participant.

    A meter of a connector whose properties.xml has problems is not checked against it:
    those problems are already reported.
    """
    problems = []
    first_by_id: dict[tuple[str, str], Meter] = {}
    for meter in meters:
        first = first_by_id.setdefault((meter.connector, meter.id), meter)
        if first is not meter:
            problems.append(
                ConfigProblem(
                    meter.source,
                    meter.line,
                    "id",
                    f"duplicate meter id {meter.id!r} of connector {meter.connector}; "
                    f"first defined at {first.source.relative_to(root)}:{first.line}",
                )
            )
        connector = connectors.get(meter.connector)
        if connector is not None and meter.participant != connector.participant:
            problems.append(
                ConfigProblem(
                    meter.source,
                    meter.line,
                    "participant",
                    f"{meter.participant!r} does not operate connector {meter.connector}; "
                    f"its participant is {connector.participant!r}",
                )
            )
        elif connector is None and meter.connector not in folders:
            known = ", ".join(sorted(folders)) or "none"
            problems.append(
                ConfigProblem(
                    meter.source,
                    meter.line,
                    "connector",
                    f"unknown connector {meter.connector!r}; the connectors are {known}",
                )
            )
    return problems


def _usage_point_problems(
    meters: Iterable[Meter], connectors: dict[str, ConnectorProperties], root: Path
) -> list[ConfigProblem]:
    """A meter reads a UsagePoint only from a connector that takes Green Button files, and no
    two meters of a connector read the same flow of one UsagePoint (a meter without a flow
    direction reads every flow of it)."""
    problems = []
    claimed: dict[tuple[str, str], list[Meter]] = defaultdict(list)
    for meter in meters:
        if meter.usage_point is None:
            continue
        connector = connectors.get(meter.connector)
        if connector is not None and ESPI_FORMAT not in connector.formats:
            problems.append(
                ConfigProblem(
                    meter.source,
                    meter.line,
                    "usage_point",
                    f"connector {meter.connector} takes {', '.join(connector.formats)} files; "
                    f"a meter reads a UsagePoint from Green Button files: add {ESPI_FORMAT} to "
                    f"its file.formats, or remove the usage_point",
                )
            )
        same = claimed[(meter.connector, meter.usage_point)]
        other = next(
            (
                m
                for m in same
                if None in (m.flow_direction, meter.flow_direction)
                or m.flow_direction == meter.flow_direction
            ),
            None,
        )
        if other is not None:
            flow = meter.flow_direction or other.flow_direction
            problems.append(
                ConfigProblem(
                    meter.source,
                    meter.line,
                    "usage_point",
                    f"meter {other.id!r} at {other.source.relative_to(root)}:{other.line} "
                    f"already reads {'the ' + flow + ' flow of ' if flow else ''}UsagePoint "
                    f"{meter.usage_point!r}; a flow of a UsagePoint is one meter's (give each "
                    "meter its own flow_direction)",
                )
            )
        same.append(meter)
    return problems


def check_platform(root: Path) -> tuple[Platform | None, list[ConfigProblem]]:
    """The platform in root and no problems, or None and every problem found in it."""
    if not root.is_dir():
        return None, [ConfigProblem(root, None, None, "no such platform folder")]
    settings, problems = read_platform_settings(root / PLATFORM_FILE)
    connector_files, folders = _read_connectors(root / CONNECTORS_FOLDER, problems)
    meters = _read_meters(root / METERS_FOLDER, problems)
    connectors = {name: connector_files[name].properties for name in sorted(connector_files)}
    problems += _bucket_problems(connector_files.values(), root)
    problems += _meter_problems(meters, connectors, folders, root)
    problems += _usage_point_problems(meters, connectors, root)
    if settings is None or problems:
        located = [replace(problem, file=problem.file.relative_to(root)) for problem in problems]
        return None, sorted(located, key=lambda problem: (str(problem.file), problem.line or 0))
    return Platform(root, connectors, meters, settings), []


def load_platform(root: Path) -> Platform:
    """The platform in root; ConfigError lists every problem in it."""
    return checked(*check_platform(root))
