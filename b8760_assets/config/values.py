"""Value rules shared by properties.xml and meter XML: names, units and time zones.

Each rule takes the text of a value and returns it parsed, or raises InvalidValue with a
message that says what is expected, so that a reader can turn it into a ConfigProblem.
"""

import re
import zoneinfo
from collections.abc import Iterable
from functools import cache

# Connector and participant names become GCS object-name prefixes and literals inside IAM
# conditions (`startsWith("projects/_/buckets/landing_zone/objects/<connector>/")`), so they
# hold nothing that needs quoting or could end a path segment.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")

# Energy (Wh..MWh, therm, MMBtu), demand (W..MW), volume (m3, ccf = 100 ft3, gal) and
# steam mass (klb = 1000 lb): the units utilities bill in.
KNOWN_UNITS = frozenset(
    {"Wh", "kWh", "MWh", "W", "kW", "MW", "therm", "MMBtu", "m3", "ccf", "gal", "klb"}
)


class InvalidValue(Exception):
    """A value that breaks its key's rule; the message says what is expected."""


def name(text: str, what: str) -> str:
    """A connector or participant name, safe as a GCS prefix segment and IAM literal."""
    if not NAME_PATTERN.fullmatch(text):
        raise InvalidValue(
            f"{text!r} is not a valid {what} name; use a lowercase letter, then up to 62 "
            "lowercase letters, digits or underscores"
        )
    return text


def number(text: str, what: str) -> float:
    """A decimal number such as 12.5 or -3 (no exponent, no inf or nan)."""
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise InvalidValue(f"{text!r} is not a {what}; write a decimal number such as 12.5")
    return float(text)


def positive_number(text: str, what: str) -> float:
    """A decimal number above zero, such as 10 or 0.5."""
    value = number(text, what)
    if value <= 0:
        raise InvalidValue(f"{text!r} is not a positive {what}; write a number above 0")
    return value


def one_of(text: str, known: Iterable[str], what: str) -> str:
    """A value from a closed vocabulary (units, commodities, file formats)."""
    if text not in known:
        raise InvalidValue(f"unknown {what} {text!r}; expected one of {', '.join(sorted(known))}")
    return text


def unit(text: str) -> str:
    """A unit of measure from KNOWN_UNITS (case matters: MWh is not mWh)."""
    return one_of(text, KNOWN_UNITS, "unit")


# Files in the zoneinfo folder that are not zones to name in a configuration: "localtime"
# is whatever the machine is set to, "Factory" is a placeholder.
NOT_TIME_ZONES = frozenset({"localtime", "Factory"})


@cache
def _iana_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_TIME_ZONES


def timezone(text: str) -> str:
    """An IANA time zone name such as America/New_York (not an offset such as UTC-05:00)."""
    if text not in _iana_time_zones():
        raise InvalidValue(
            f"{text!r} is not an IANA time zone name; use a name such as America/New_York"
        )
    return text
