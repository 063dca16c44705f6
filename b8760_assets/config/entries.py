"""The entries of a java.util.Properties XML file, each checked by its key's rule.

A connector's properties.xml and the platform's platform.xml are both such files; one reader
reports, for either, every unknown, duplicate, missing or invalid key at its line.
"""

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from b8760_assets.config.problems import ConfigProblem
from b8760_assets.config.values import InvalidValue
from b8760_assets.config.xml_parsing import read_valid_xml

PROPERTIES_SCHEMA = "properties.xsd"


# The default of a key that has none: the file must set it.
REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """How one key maps onto a field of what the file describes."""

    field: str
    rule: Callable[[str], object]
    default: object = REQUIRED


@dataclass(frozen=True)
class Entries:
    """The fields the keys gave (defaults filled in), and the line of each key written."""

    fields: dict[str, Any]
    lines: dict[str, int]


def _unknown_key_hint(key: str, keys: Mapping[str, Key]) -> str:
    close = difflib.get_close_matches(key, keys, n=1)
    if close:
        return f"unknown key; did you mean {close[0]}?"
    return f"unknown key; the keys are {', '.join(keys)}"


def read_entries(path: Path, keys: Mapping[str, Key]) -> tuple[Entries | None, list[ConfigProblem]]:
    """The file's fields by its keys' rules and every problem in it (a missing key at the
    line of `<properties>`); the fields are those that passed, None if the file did not
    parse or match the schema."""
    root, problems = read_valid_xml(path, PROPERTIES_SCHEMA)
    if root is None:
        return None, problems
    lines: dict[str, int] = {}
    fields: dict[str, Any] = {}  # each value as its key's rule made it
    for entry in root.iter("entry"):
        key, line = entry.get("key"), entry.sourceline
        if key in lines:
            message = f"duplicate key; first set on line {lines[key]}"
            problems.append(ConfigProblem(path, line, key, message))
            continue
        lines[key] = line
        if key not in keys:
            problems.append(ConfigProblem(path, line, key, _unknown_key_hint(key, keys)))
            continue
        try:
            fields[keys[key].field] = keys[key].rule("".join(entry.itertext()).strip())
        except InvalidValue as error:
            problems.append(ConfigProblem(path, line, key, str(error)))
    for key, spec in keys.items():
        if key in lines:
            continue
        if spec.default is REQUIRED:
            problems.append(ConfigProblem(path, root.sourceline, key, "missing required key"))
        else:
            fields[spec.field] = spec.default
    return Entries(fields, lines), problems
