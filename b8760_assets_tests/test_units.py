"""Unit conversions: the published factors, exact inverses, and no conversion across
dimensions (energy is not power)."""

from fractions import Fraction
from itertools import product

import pytest

from b8760_assets.config.values import KNOWN_UNITS
from b8760_assets.units import conversion, conversion_factor, dimension


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "factor"),
    [
        ("kWh", "Wh", 1000.0),
        ("Wh", "kWh", 0.001),
        ("MWh", "kWh", 1000.0),
        ("MW", "kW", 1000.0),
        ("W", "MW", 1e-6),
        ("MMBtu", "therm", 10.0),
        ("ccf", "m3", 2.8316846592),  # 100 ft3, international foot
        ("gal", "m3", 0.003785411784),  # US gallon, 231 in3
        ("klb", "klb", 1.0),
    ],
)
def test_published_factors(from_unit: str, to_unit: str, factor: float) -> None:
    assert conversion_factor(from_unit, to_unit) == factor


def test_therm_is_100000_international_table_btu() -> None:
    # 1 Btu(IT) = 1055.05585262 J exactly; 1 therm = 105.505585262 MJ (105.5056 MJ rounded).
    assert conversion("therm", "Wh") * 3600 == Fraction("105505585.262")
    assert conversion_factor("therm", "kWh") * 3.6 == pytest.approx(105.5056, abs=5e-5)
    assert conversion_factor("MMBtu", "MWh") == pytest.approx(0.29307107, rel=1e-8)


def test_ccf_is_about_748_us_gallons() -> None:
    assert conversion_factor("ccf", "gal") == pytest.approx(748.0519480519, rel=1e-12)


def test_every_known_unit_converts_to_itself_and_back_exactly() -> None:
    for from_unit, to_unit in product(sorted(KNOWN_UNITS), repeat=2):
        there = conversion(from_unit, to_unit)
        if from_unit == to_unit:
            assert there == 1
        if there is not None:
            assert there * conversion(to_unit, from_unit) == 1


@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [("kWh", "kW"), ("kW", "kWh"), ("gal", "therm"), ("klb", "m3"), ("MMBtu", "MW")],
)
def test_no_conversion_across_dimensions(from_unit: str, to_unit: str) -> None:
    assert dimension(from_unit) != dimension(to_unit)
    assert conversion(from_unit, to_unit) is None
    assert conversion_factor(from_unit, to_unit) is None


def test_dimensions_group_the_known_units() -> None:
    by_dimension: dict[str, set[str]] = {}
    for unit in KNOWN_UNITS:
        by_dimension.setdefault(dimension(unit), set()).add(unit)
    assert by_dimension == {
        "energy": {"Wh", "kWh", "MWh", "therm", "MMBtu"},
        "power": {"W", "kW", "MW"},
        "volume": {"m3", "ccf", "gal"},
        "mass": {"klb"},
    }
