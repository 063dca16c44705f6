"""Writers of configuration files for the config tests: valid by default, broken on request."""

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from b8760_assets.settings import SAMPLE_PLATFORM_DIR

JAVA_DOCTYPE = '<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">'
METERS_NAMESPACE = "https://benchmark8760.org/schema/meters/1"

CONED = {
    "connector.name": "coned",
    "connector.external": "false",
    "participant.name": "participant_1",
    "participant.bucket": "participant_1",
    "file.formats": "csv",
    "file.max.bytes": "1048576",
    "data.timezone": "America/New_York",
    "data.unit": "kWh",
    "data.start.hour": "2021-11-01T00:00:00Z",
}

METER = {
    "id": "3",
    "connector": "coned",
    "participant": "participant_1",
    "commodity": "electricity",
    "unit": "kWh",
    "multiplier": "1",
    "timezone": "America/New_York",
    "site": "Brooklyn warehouse",
}
METER_ATTRIBUTES = ("id", "connector", "participant")


def properties_xml(entries: Iterable[tuple[str, str]], doctype: str = JAVA_DOCTYPE) -> str:
    """A properties.xml with these entries, one a line, in this order."""
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            doctype,
            "<properties>",
            "  <comment>written by a test</comment>",
            *(f'  <entry key="{key}">{value}</entry>' for key, value in entries),
            "</properties>",
            "",
        ]
    )


def write_properties(
    folder: Path, entries: Iterable[tuple[str, str]] | Mapping[str, str] = CONED
) -> Path:
    """folder/properties.xml with these entries (pairs may repeat a key)."""
    pairs = entries.items() if isinstance(entries, Mapping) else entries
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "properties.xml"
    path.write_text(properties_xml(pairs))
    return path


def meter_xml(**changes: str | None) -> str:
    """One <meter> element: METER with these changes; a key changed to None is left out."""
    meter = {key: value for key, value in {**METER, **changes}.items() if value is not None}
    attributes = " ".join(f'{key}="{meter[key]}"' for key in METER_ATTRIBUTES if key in meter)
    children = [
        f"    <{key}>{value}</{key}>" for key, value in meter.items() if key not in METER_ATTRIBUTES
    ]
    return "\n".join([f"  <meter {attributes}>", *children, "  </meter>"])


def write_meters(path: Path, *meters: str) -> Path:
    """A meter XML file holding these <meter> elements (see meter_xml)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ['<?xml version="1.0" encoding="UTF-8"?>', f'<meters xmlns="{METERS_NAMESPACE}">']
    path.write_text("\n".join([*header, *meters, "</meters>", ""]))
    return path


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """The number of the n-th line of path that contains text."""
    lines = path.read_text().splitlines()
    return [number for number, line in enumerate(lines, 1) if text in line][occurrence - 1]


def declared_entity_problem(path: Path, name: str) -> str:
    """The problem of a file whose DOCTYPE declares entity `name` (%name for a parameter
    entity), at the declaration's line."""
    declaration = "<!ENTITY " + name.replace("%", "% ", 1)
    return (
        f"{path}:{line_of(path, declaration)}: the DOCTYPE declares entity {name}; "
        "entities are refused (they could pull in other files or expand without end): remove "
        "the declarations and write each value itself"
    )


def copy_sample_platform(tmp_path: Path) -> Path:
    """A copy of the sample platform that a test may break."""
    return Path(shutil.copytree(SAMPLE_PLATFORM_DIR, tmp_path / "platform"))


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a file; fails if old is not in it, so that a test cannot break nothing."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
