"""Meter XML files: the meters that readings are linked to in the warehouse.

A meter's id is a segment of its meter-hour object names
(`<connector>/standardized/<meter>/<hour>`); docs/configuration.md describes the format.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from b8760_assets.config import values
from b8760_assets.config.problems import ConfigProblem, checked
from b8760_assets.config.values import InvalidValue
from b8760_assets.config.xml_parsing import read_valid_xml

NAMESPACE = "https://benchmark8760.org/schema/meters/1"
KNOWN_COMMODITIES = frozenset(
    {"electricity", "gas", "water", "steam", "chilled_water", "hot_water"}
)
METER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MULTIPLIER_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)?")
# The flows a meter may read of a Green Button UsagePoint, by name, with their ESPI
# FlowDirectionKind codes (a ReadingType's flowDirection).
FLOW_DIRECTIONS = {"forward": 1, "reverse": 19, "net": 4, "total": 20}


@dataclass(frozen=True)
class Meter:
    """A meter as the warehouse knows it; source and line say where it is defined."""

    id: str
    connector: str
    participant: str
    commodity: str
    unit: str
    multiplier: float
    timezone: str
    site: str
    source: Path
    line: int
    # The Green Button UsagePoint the meter reads, by its self href as the connector's files
    # write it, and the flow of it (FLOW_DIRECTIONS), or any flow when None.
    usage_point: str | None = None
    flow_direction: str | None = None
    # The highest and lowest reading an interval may have, in the meter's unit with its
    # multiplier applied (docs/validation.md); None: no limit.
    high_limit: float | None = None
    low_limit: float | None = None
    # How far its register's rise may be from its intervals' sum, in percent of the rise
    # (docs/validation.md); None: the connector's validation.register.tolerance.percent.
    register_tolerance_percent: float | None = None


def _meter_id(text: str) -> str:
    if not METER_ID_PATTERN.fullmatch(text):
        raise InvalidValue(
            f"{text!r} is not a valid meter id; use a letter or digit, then up to 63 "
            "letters, digits, '_', '.' or '-' (no '/')"
        )
    return text


def _multiplier(text: str) -> float:
    """The factor that turns a register reading into the meter's unit (e.g. a CT ratio)."""
    if not MULTIPLIER_PATTERN.fullmatch(text) or Decimal(text) == 0:
        raise InvalidValue(f"{text!r} is not a positive decimal number such as 1 or 0.5")
    return float(text)


def _site(text: str) -> str:
    if not text:
        raise InvalidValue("the site is empty; name the site the meter is at")
    return text


def _usage_point(text: str) -> str:
    """A UsagePoint's self href, compared as the file writes it: no whitespace inside."""
    if not text or any(char.isspace() for char in text):
        raise InvalidValue(
            f"{text!r} is not a UsagePoint href; write the href of the UsagePoint's self link "
            "as the connector's Green Button files write it, e.g. "
            "/espi/1_1/resource/RetailCustomer/9B6C7066/UsagePoint/5446AF3F"
        )
    return text


RULES = {
    "id": _meter_id,
    "connector": lambda text: values.name(text, "connector"),
    "participant": lambda text: values.name(text, "participant"),
    "commodity": lambda text: values.one_of(text, KNOWN_COMMODITIES, "commodity"),
    "unit": values.unit,
    "multiplier": _multiplier,
    "timezone": values.timezone,
    "site": _site,
    "usage_point": _usage_point,
    "flow_direction": lambda text: values.one_of(text, FLOW_DIRECTIONS, "flow direction"),
    "high_limit": lambda text: values.number(text, "high limit"),
    "low_limit": lambda text: values.number(text, "low limit"),
    "register_tolerance_percent": lambda text: values.positive_number(text, "percentage"),
}


def _text(element: etree._Element) -> str:
    """An element's text, stripped; comments inside it (lxml children) are left out."""
    if len(element):
        return "".join(element.itertext()).strip()
    return (element.text or "").strip()


def _limits_problem(fields: dict[str, Any], path: Path, line: int) -> ConfigProblem | None:
    """A low_limit above the high_limit: no reading could pass both."""
    high, low = fields.get("high_limit"), fields.get("low_limit")
    if high is None or low is None or low <= high:
        return None
    return ConfigProblem(
        path, line, "low_limit", f"{low:g} is above the high_limit {high:g}; swap them"
    )


def _keys_of(meter: etree._Element) -> Iterator[tuple[str, str, int]]:
    """Each key of a meter with its text and line; the XSD has made sure all are present.

    Read with plain string work (a tag's local name by partition, an element's text without
    itertext): at 150,000 meters this walk is most of what loading the platform costs.
    """
    line = meter.sourceline
    for key in ("id", "connector", "participant"):
        yield key, meter.get(key).strip(), line
    for child in meter.iterchildren(tag=etree.Element):
        line = child.sourceline
        yield child.tag.rpartition("}")[2], _text(child), line
        flow = child.get("flow_direction")
        if flow is not None:
            yield "flow_direction", flow.strip(), line


@lru_cache(maxsize=4096)
def _checked(key: str, text: str) -> object:
    """A value as its key's rule makes it, or the InvalidValue it raised: the same few units,
    zones and names repeat across thousands of meters, so each is checked once (ids and
    sites, each seen once, only pass through its bounded cache)."""
    try:
        return RULES[key](text)
    except InvalidValue as error:
        return error


def read_meter_file(path: Path) -> tuple[tuple[Meter, ...], list[ConfigProblem]]:
    """The valid meters in path and the problems with the others."""
    root, problems = read_valid_xml(path, "meters.xsd")
    if root is None:
        return (), problems
    meters = []
    for element in root.iterchildren(tag=f"{{{NAMESPACE}}}meter"):
        fields: dict[str, Any] = {}  # each value as its key's rule made it
        invalid: list[ConfigProblem] = []
        for key, text, line in _keys_of(element):
            value = _checked(key, text)
            if isinstance(value, InvalidValue):
                invalid.append(ConfigProblem(path, line, key, str(value)))
            else:
                fields[key] = value
        limits = _limits_problem(fields, path, element.sourceline)
        if limits is not None:
            invalid.append(limits)
        problems += invalid
        if not invalid:
            meters.append(Meter(**fields, source=path, line=element.sourceline))
    return tuple(meters), problems


def read_meters(path: Path) -> tuple[Meter, ...]:
    """The meters in one meter XML file; ConfigError lists every problem in it.

    Meter ids are unique per connector across all files, which load_platform checks.
    """
    return checked(*read_meter_file(path))
