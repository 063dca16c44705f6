"""A ReadingType: what a MeterReading's values are, as the platform stores them.

A value in the platform's unit is `value × 10^exponent`: the ReadingType's
powerOfTenMultiplier plus its uom's own power of ten (ft³ are stated in ccf, 100 ft³; Btu
in MMBtu), so that scaling stays one exact decimal shift. A register (accumulationBehaviour
1 or 9: the meter's running total) is read too, not as interval data: its reads go to the
register-versus-interval check. A code ESPI does not define, or a quantity the platform does
not store (reactive energy, voltage, a demand register), is a rejection naming the code: the
file is kept in quarantine, never half read.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from b8760_assets.config import Meter
from b8760_assets.config.meters import FLOW_DIRECTIONS
from b8760_assets.landing.formats import FormatRejected, Rejection, quoted

# uom (UnitSymbolKind) codes the platform stores: (symbol, platform unit, power of ten).
STORED_UNITS = {
    "38": ("W", "W", 0),
    "42": ("m³", "m3", 0),
    "72": ("Wh", "Wh", 0),
    "119": ("ft³", "ccf", -2),
    "128": ("US gal", "gal", 0),
    "132": ("Btu", "MMBtu", -6),
    "134": ("L", "m3", -3),
    "169": ("therm", "therm", 0),
}
# uom codes ESPI defines for quantities the platform does not store, named in the message.
OTHER_UNITS = {
    "0": "not applicable", "5": "A", "6": "K", "23": "°C", "29": "V", "31": "J", "33": "Hz",
    "61": "VA", "63": "var", "65": "cos θ", "67": "V²", "69": "A²", "71": "VAh", "73": "varh",
    "106": "Ah", "122": "ft³/h", "125": "m³/h", "129": "US gal/h", "130": "imperial gal",
    "131": "imperial gal/h", "133": "Btu/h", "137": "L/h", "140": "Pa (gauge)",
    "155": "Pa (absolute)",
}  # fmt: skip
# powerOfTenMultiplier (UnitMultiplierKind) codes: pico to tera.
POWERS_OF_TEN = frozenset({-12, -9, -6, -3, -2, -1, 0, 1, 2, 3, 6, 9, 12})
# accumulationBehaviour (AccumulationKind) codes, and those whose readings are per interval:
# delta data always; a demand (W) reading may also be indicating or instantaneous.
ACCUMULATIONS = {
    "0": "none", "1": "bulkQuantity", "2": "continuousCumulative", "3": "cumulative",
    "4": "deltaData", "6": "indicating", "9": "summation", "10": "timeDelta",
    "12": "instantaneous", "13": "latchingQuantity", "14": "boundedQuantity",
}  # fmt: skip
PER_INTERVAL = {"4"}
PER_INTERVAL_DEMAND = {"4", "6", "12"}
# A register's running total: bulkQuantity (the register as read) and summation (its sum
# since a reset). Of a quantity that adds up over time: energy or volume, not demand (W).
REGISTER = {"1", "9"}
# commodity (CommodityKind) codes that say what a meter of each platform commodity measures;
# other codes, or none, are not checked against the meter.
COMMODITIES = {
    "electricity": {"1": "electricity secondary metered", "2": "electricity primary metered"},
    "gas": {"7": "natural gas", "8": "propane"},
    "water": {"9": "potable water", "14": "non-potable water"},
    "steam": {"10": "steam"},
    "hot_water": {"12": "heating fluid"},
    "chilled_water": {"13": "cooling fluid"},
}
FLOW_NAMES = {code: name for name, code in FLOW_DIRECTIONS.items()}

# A ReadingType's fields as the feed gives them: element name -> (text, line).
Fields = Mapping[str, tuple[str | None, int]]


@dataclass(frozen=True)
class ReadingType:
    href: str
    line: int
    unit: str  # the platform's unit
    exponent: int  # a value times 10**exponent is in `unit`
    interval_length: int | None  # seconds; a reading without its own duration lasts this long
    flow_direction: int | None
    commodity: str | None
    register: bool = False  # a running total (REGISTER), not readings per interval

    def describe(self) -> str:
        """'Wh, flow forward (1)': what a person needs to tell two channels apart."""
        if self.flow_direction is None:
            return self.unit
        name = FLOW_NAMES.get(self.flow_direction, "code")
        return f"{self.unit}, flow {name} ({self.flow_direction})"


def reading_type(href: str, line: int, fields: Fields) -> ReadingType:
    """The ReadingType of an entry, or FormatRejected for a code the platform cannot store."""
    uom, uom_line = fields.get("uom", (None, line))
    if uom not in STORED_UNITS:
        raise FormatRejected(_unsupported_uom(uom, uom_line))
    _, unit, own_power = STORED_UNITS[uom]
    power = _whole_number(fields, "powerOfTenMultiplier", line, 0)
    if power not in POWERS_OF_TEN:
        where = fields["powerOfTenMultiplier"][1]
        raise FormatRejected(
            Rejection(
                "espi.unknown_code",
                where,
                f"line {where}: powerOfTenMultiplier {power} is not an ESPI multiplier; the "
                f"multipliers are {', '.join(map(str, sorted(POWERS_OF_TEN)))}",
            )
        )
    accumulation, where = fields.get("accumulationBehaviour", ("4", line))
    readable = PER_INTERVAL_DEMAND if unit == "W" else PER_INTERVAL | REGISTER
    if accumulation not in readable:
        raise FormatRejected(_not_per_interval(accumulation, where))
    return ReadingType(
        href=href,
        line=line,
        unit=unit,
        exponent=power + own_power,
        interval_length=_whole_number(fields, "intervalLength", line, None),
        flow_direction=_whole_number(fields, "flowDirection", line, None),
        commodity=fields.get("commodity", (None, line))[0],
        register=accumulation in REGISTER,
    )


def commodity_problem(kind: ReadingType, meter: Meter, line: int) -> Rejection | None:
    """A channel whose ReadingType says it measures another commodity than its meter."""
    expected = COMMODITIES[meter.commodity]
    if kind.commodity is None or kind.commodity in expected or not _names(kind.commodity):
        return None
    return Rejection(
        "espi.commodity_mismatch",
        line,
        f"line {line}: the MeterReading's ReadingType (line {kind.line}) measures commodity "
        f"{kind.commodity} ({_names(kind.commodity)}), but meter {quoted(meter.id)}, which reads "
        f"it, is {meter.commodity} ({', '.join(f'{c} {n}' for c, n in expected.items())}); "
        "check the meter's usage_point in the meter XML",
    )


def _names(code: str) -> str | None:
    return next((names[code] for names in COMMODITIES.values() if code in names), None)


def _whole_number(fields: Fields, name: str, line: int, default: int | None) -> int | None:
    text, where = fields.get(name, (None, line))
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise FormatRejected(not_a_whole_number(name, text, where)) from None


def not_a_whole_number(name: str, text: str | None, line: int) -> Rejection:
    return Rejection(
        "espi.bad_number",
        line,
        f"line {line}: <{name}> {quoted(text)} is not a whole number; ESPI writes {name} as "
        "digits with an optional sign, e.g. 1330578000",
    )


def _unsupported_uom(uom: str | None, line: int) -> Rejection:
    stored = ", ".join(f"{code} ({symbol})" for code, (symbol, _, _) in STORED_UNITS.items())
    if uom is None:
        found = "the ReadingType has no uom"
    elif uom in OTHER_UNITS:
        found = f"uom {uom} ({OTHER_UNITS[uom]}) is not a quantity the platform stores"
    else:
        found = f"uom {quoted(uom)} is not an ESPI unit code"
    return Rejection(
        "espi.unsupported_uom", line, f"line {line}: {found}; the platform stores uom {stored}"
    )


def _not_per_interval(code: str | None, line: int) -> Rejection:
    name = ACCUMULATIONS.get(code or "")
    found = f"{code} ({name})" if name else f"{quoted(code)}, not an ESPI code,"
    return Rejection(
        "espi.not_interval_data",
        line,
        f"line {line}: accumulationBehaviour {found} is not data the platform reads; it "
        "takes the readings of each interval, accumulationBehaviour 4 (deltaData), for demand "
        "(W) also 6 (indicating) or 12 (instantaneous), and the reads of an energy or volume "
        "register, 1 (bulkQuantity) or 9 (summation), to check the intervals against",
    )
