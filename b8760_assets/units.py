"""Conversions between the platform's units (KNOWN_UNITS), so a reading can be stated in its
meter's unit whatever unit its file used.

Each unit is an exact rational multiple of its dimension's base unit; a conversion is the
ratio of the two multiples, exact until it is turned into a float. Sources:

- energy, base Wh (= 3600 J): kWh and MWh by SI prefix. therm = 100,000 Btu and
  MMBtu = 1,000,000 Btu = 10 therm (EIA's definitions, the units US gas utilities bill in),
  with the International Table Btu, exactly 1055.05585262 J (NIST SP 811 (2008), appendix B:
  4.1868 J/(g·°C) × 453.59237 g/lb × 5/9 °C/°F). So 1 therm = 105.505585262 MJ
  (105.5056 MJ to seven digits) = 29,307.107… Wh. NIST's "therm (U.S.)", 105.4804 MJ, is
  another unit.
- power, base W: kW and MW by SI prefix.
- volume, base m3: ccf = 100 ft3 with the international foot, 0.3048 m exactly, so
  1 ft3 = 0.028316846592 m3 and 1 ccf = 2.8316846592 m3; gal is the US liquid gallon,
  231 in3 = 0.003785411784 m3 exactly (NIST Handbook 44, Appendix C).
- mass: klb = 1000 lb (avoirdupois), the only mass unit, so it converts only to itself.
"""

from fractions import Fraction

_BTU = Fraction("1055.05585262") / 3600  # in Wh
_FOOT = Fraction("0.3048")  # in m
_INCH = _FOOT / 12

# unit -> (dimension, size in the dimension's base unit)
_UNITS: dict[str, tuple[str, Fraction]] = {
    "Wh": ("energy", Fraction(1)),
    "kWh": ("energy", Fraction(1_000)),
    "MWh": ("energy", Fraction(1_000_000)),
    "therm": ("energy", 100_000 * _BTU),
    "MMBtu": ("energy", 1_000_000 * _BTU),
    "W": ("power", Fraction(1)),
    "kW": ("power", Fraction(1_000)),
    "MW": ("power", Fraction(1_000_000)),
    "m3": ("volume", Fraction(1)),
    "ccf": ("volume", 100 * _FOOT**3),
    "gal": ("volume", 231 * _INCH**3),
    "klb": ("mass", Fraction(1)),
}


def dimension(unit: str) -> str:
    """What a unit measures: energy, power, volume or mass."""
    return _UNITS[unit][0]


def conversion(from_unit: str, to_unit: str) -> Fraction | None:
    """The exact number of to_units in one from_unit; None across dimensions (kWh to kW)."""
    from_dimension, from_size = _UNITS[from_unit]
    to_dimension, to_size = _UNITS[to_unit]
    if from_dimension != to_dimension:
        return None
    return from_size / to_size


def conversion_factor(from_unit: str, to_unit: str) -> float | None:
    """What to multiply a value in from_unit by to state it in to_unit; None across dimensions."""
    exact = conversion(from_unit, to_unit)
    return None if exact is None else float(exact)
