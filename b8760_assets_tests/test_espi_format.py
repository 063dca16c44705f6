"""The Green Button (ESPI XML) format through the landing check: the public samples read to
the values another parser read from them, units and quality codes as documented, channels
given to the meters that claim them (and the others reported), and every rule that refuses
a feed, with its line."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.landing import file_checks
from b8760_assets.landing.espi_format import feed as feed_module
from b8760_assets.landing.espi_format import format as format_module
from b8760_assets.landing.espi_format.quality import QUALITY_OF_READING
from b8760_assets.landing.espi_format.reading_types import STORED_UNITS
from b8760_assets.landing.file_checks import CheckedFile, KnownMeters, check_file, check_local_file
from b8760_assets.landing.formats import (
    QUALITY_FLAGS,
    READINGS_SCHEMA,
    REGISTER_READS_SCHEMA,
    Notice,
)
from b8760_assets.landing.manifest import ManifestEntry
from b8760_assets.storage import StoredObject
from b8760_assets_tests.espi_files import (
    ESPI,
    SAMPLES,
    channel,
    entry,
    expected_intervals,
    feed,
    line_of,
    reading,
    usage_point_href,
    usage_points,
)

GB = ConnectorProperties(
    name="gb_conn",
    participant="participant_1",
    bucket="participant_1",
    external=True,
    formats=("espi",),
    timezone="America/New_York",
    unit="Wh",
    start_hour=datetime(2011, 1, 1, tzinfo=UTC),
    max_file_bytes=10_485_760,
    source=Path("connectors/gb_conn/properties.xml"),
)
MARCH_1 = datetime(2022, 3, 1, tzinfo=UTC)


def meter(
    meter_id: str = "GB-1",
    usage_point: str | None = None,
    flow: str | None = None,
    commodity: str = "electricity",
    unit: str = "Wh",
) -> Meter:
    return Meter(
        meter_id, "gb_conn", "participant_1", commodity, unit, 1.0, "America/New_York",
        "a site", Path("meters/gb.xml"), 3, usage_point or usage_point_href(), flow,
    )  # fmt: skip


def checked(data: bytes, *meters: Meter, connector: ConnectorProperties = GB) -> CheckedFile:
    known = KnownMeters.of(connector, {m.id: m for m in meters or (meter(),)})
    return check_file("feed.xml", data, connector, known)


def accepted(data: bytes, *meters: Meter) -> pl.DataFrame:
    verdict = checked(data, *meters)
    assert verdict.rejection is None, verdict.rejection
    return verdict.readings


def refused(data: bytes, *meters: Meter):
    verdict = checked(data, *meters)
    assert verdict.rejection is not None, "accepted"
    return verdict.rejection


def sample(name: str) -> tuple[bytes, Meter]:
    """A sample file, and a meter that reads its (one) UsagePoint."""
    path = SAMPLES / "data" / f"{name}.xml"
    [point] = usage_points(path)
    return path.read_bytes(), meter(
        usage_point=point, commodity="gas" if "gas" in name else "electricity"
    )


def assert_as_expected(readings: pl.DataFrame, name: str, *, same_durations: bool = True) -> None:
    """The readings are the intervals another parser read: as many, the same sum per reading
    type (the samples hold one), and every 97th interval, the first and the last the same."""
    expected = expected_intervals(name)
    assert readings.height == len(expected)
    assert readings["value"].sum() == pytest.approx(sum(e.value for e in expected), abs=1e-9)
    assert set(readings["unit"]) == {e.unit for e in expected}
    rows = readings.sort("interval_start").to_dicts()
    picked = sorted({0, len(expected) - 1, *range(0, len(expected), 97)})
    for index in picked:
        row, want = rows[index], expected[index]
        assert (row["interval_start"], row["value"], row["unit"]) == (
            want.start,
            want.value,
            want.unit,
        )
        if same_durations:
            assert row["interval_end"] - row["interval_start"] == want.duration


# The samples, held to what another parser read from them


@pytest.mark.parametrize(
    "name",
    [
        "Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5",
        "TestGBDataHourlyNineDaysBinnedDaily",
        "electric_containerized",
    ],
)
def test_interval_samples_read_the_values_another_parser_read(name: str) -> None:
    data, reader = sample(name)

    readings = accepted(data, reader)

    assert_as_expected(readings, name)
    assert set(readings["meter_id"]) == {reader.id}
    assert readings["quality"].null_count() == readings.height  # no ReadingQuality in them
    assert readings.schema == READINGS_SCHEMA


@pytest.mark.parametrize(
    "name, first_reading",
    [
        ("gas_direct", "<IntervalReading>"),
        ("TestGBDataOneYearDailyBinnedMonthly", "<IntervalReading>"),
    ],
)
def test_bills_are_refused_as_intervals_and_read_the_same_values_once_hourly(
    name: str, first_reading: str
) -> None:
    """A bill's monthly (or daily) totals are not interval data: refused at the first
    reading. The same file with hour-long timePeriods is taken, to the same values: 37000 at
    powerOfTenMultiplier -3 is 37 therm."""
    data, reader = sample(name)

    rule = refused(data, reader)
    hourly = accepted(
        re.sub(rb"<duration>\d+</duration>", b"<duration>3600</duration>", data), reader
    )

    assert (rule.rule, rule.line) == ("espi.bad_interval", line_of(data, first_reading))
    assert "the platform takes interval data" in rule.message
    assert_as_expected(hourly, name, same_durations=False)


@pytest.mark.parametrize("name", ["gas_containerized", "ngma_gas_provider_2024-07-16"])
def test_feeds_whose_reading_type_has_no_unit_are_refused_for_it(name: str) -> None:
    """Their ReadingType is empty: the other parser assumed therm, the platform does not
    guess a unit."""
    data, reader = sample(name)

    rule = refused(data, reader)

    # at the ReadingType's entry
    assert (rule.rule, rule.line) == (
        "espi.unsupported_uom",
        line_of(data, "<ns:ReadingType/>") - 2,
    )
    assert "has no uom" in rule.message and "169 (therm)" in rule.message


def test_openespi_sample_reads_its_reading_quality_codes() -> None:
    path = SAMPLES.parent / "openespi" / "test_usage_data_01.xml"
    [point] = usage_points(path)

    readings = accepted(path.read_bytes(), meter(usage_point=point))

    assert readings.height == 96
    assert readings["quality"].head(3).to_list() == ["E", "E", None]  # codes 8 and 7, then none
    assert readings["interval_start"][0] == datetime(2012, 3, 1, 5, tzinfo=UTC)


# Units, scale and quality


@pytest.mark.parametrize(
    "uom, power, value, unit, expected",
    [
        ("72", "0", "1250", "Wh", 1250.0),
        ("72", "3", "1250", "Wh", 1_250_000.0),
        ("72", "-3", "1250", "Wh", 1.25),
        ("38", "3", "7", "W", 7000.0),
        ("169", "-3", "37000", "therm", 37.0),
        ("42", "-2", "4200", "m3", 42.0),
        ("119", "0", "250", "ccf", 2.5),
        ("128", "0", "12", "gal", 12.0),
        ("132", "3", "5", "MMBtu", 0.005),
        ("134", "0", "1500", "m3", 1.5),
    ],
)
def test_values_are_in_the_platforms_unit(
    uom: str, power: str, value: str, unit: str, expected: float
) -> None:
    kind = f"<uom>{uom}</uom><powerOfTenMultiplier>{power}</powerOfTenMultiplier>"
    data = feed(*channel(readings=[reading(1646092800, value)], reading_type=kind))

    readings = accepted(data, meter(unit="kWh" if unit == "Wh" else unit))

    assert readings.select("value", "unit").row(0) == (expected, unit)


def test_every_stored_uom_is_a_platform_unit() -> None:
    from b8760_assets.config.values import KNOWN_UNITS

    assert {unit for _, unit, _ in STORED_UNITS.values()} <= KNOWN_UNITS


@pytest.mark.parametrize("code, name_flag", list(QUALITY_OF_READING.items()))
def test_each_quality_code_has_its_documented_flag(code: str, name_flag: tuple) -> None:
    data = feed(*channel(readings=[reading(1646092800, 5, 900, code)]))

    assert accepted(data)["quality"].to_list() == [name_flag[1]]
    assert name_flag[1] is None or name_flag[1] in QUALITY_FLAGS
    documented = (Path(__file__).parents[1] / "docs" / "uploading.md").read_text()
    assert f"| {code} | {name_flag[0]} | {name_flag[1] or '(none)'} |" in documented


def test_the_least_trusted_of_a_readings_quality_codes_wins() -> None:
    readings = [
        reading(1646092800, 1, 900, "0", "8"),
        reading(1646093700, 1, 900, "17", "10"),
        reading(1646094600, 1, 900, "19", "14"),
    ]

    assert accepted(feed(*channel(readings=readings)))["quality"].to_list() == ["E", None, "A"]


def test_a_reading_without_duration_lasts_its_reading_types_interval_length() -> None:
    kind = "<intervalLength>3600</intervalLength><uom>72</uom>"
    data = feed(*channel(readings=[reading(1646092800, 3, None)], reading_type=kind))

    row = accepted(data).row(0, named=True)

    assert row["interval_end"] - row["interval_start"] == timedelta(hours=1)


# Which meter reads which channel


def test_two_meters_read_the_two_flows_of_one_usage_point() -> None:
    delivered = channel("UP1", "01", reading_type="<uom>72</uom><flowDirection>1</flowDirection>")
    received = channel("UP1", "02", reading_type="<uom>72</uom><flowDirection>19</flowDirection>")
    data = feed(*delivered, *received[1:])

    readings = accepted(data, meter("IN", flow="forward"), meter("OUT", flow="reverse"))

    assert readings.group_by("meter_id").len().sort("meter_id").rows() == [("IN", 4), ("OUT", 4)]


def test_channels_no_meter_claims_are_reported_not_dropped() -> None:
    data = feed(*channel("UP1"), *channel("UP2"))

    verdict = checked(data, meter(usage_point=usage_point_href("UP1")))

    assert verdict.rejection is None
    assert set(verdict.readings["meter_id"]) == {"GB-1"} and verdict.count == 4
    [notice] = verdict.notices
    assert (notice.rule, notice.line) == (
        "espi.unclaimed_readings",
        line_of(data, "<entry>", 6),  # UP2's MeterReading entry
    )
    assert "4 readings" in notice.message and "UsagePoint/UP2" in notice.message
    assert '<usage_point flow_direction="forward">' in notice.message


def test_a_feed_no_meter_reads_is_kept_with_its_notices() -> None:
    verdict = checked(feed(*channel("UP9")))

    assert (verdict.accepted, verdict.count, len(verdict.notices)) == (True, 0, 1)


def test_a_meter_of_any_flow_reading_two_flows_repeats_its_intervals() -> None:
    data = feed(*channel("UP1", "01"), *channel("UP1", "02")[1:])

    rule = refused(data)

    assert rule.rule == "espi.duplicate_reading"
    assert rule.line == line_of(data, "<IntervalReading>", 5)
    assert f"on line {line_of(data, '<IntervalReading>', 1)}" in rule.message
    assert "flow_direction" in rule.message


def test_a_channel_of_another_commodity_than_its_meter_is_refused() -> None:
    data = feed(*channel(reading_type="<uom>72</uom><commodity>7</commodity>"))

    rule = refused(data)

    assert (rule.rule, rule.line) == ("espi.commodity_mismatch", line_of(data, "<entry>", 2))
    assert "7 (natural gas)" in rule.message and "electricity" in rule.message


# Order of entries, and size


def test_entries_in_any_order_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    usage_point, meter_reading, reading_type, block = channel()
    in_order = accepted(feed(usage_point, meter_reading, reading_type, block))
    monkeypatch.setattr(format_module, "HELD_READINGS", 1)  # held blocks go to disk

    reversed_feed = feed(block, reading_type, meter_reading, usage_point)
    backwards = accepted(reversed_feed)

    assert backwards.drop("line").equals(in_order.drop("line"))


def test_a_long_block_is_taken_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = [reading(1646092800 + 900 * n, n) for n in range(50)]
    data = feed(*channel(readings=readings))
    whole = accepted(data)
    monkeypatch.setattr(feed_module, "CHUNK_READINGS", 3)
    monkeypatch.setattr(feed_module, "READ_BYTES", 200)

    chunked = accepted(data)

    assert chunked.equals(whole)
    assert chunked["value"].to_list() == [float(n) for n in range(50)]
    assert chunked["line"][49] == line_of(data, "<IntervalReading>", 50)


def test_a_local_file_reads_as_its_bytes(tmp_path: Path) -> None:
    data, reader = sample("TestGBDataHourlyNineDaysBinnedDaily")
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    batches: list[pl.DataFrame] = []
    known = KnownMeters.of(GB, {reader.id: reader})

    verdict = check_local_file("feed.xml", path, GB, meters=known, on_readings=batches.append)

    assert verdict.accepted and verdict.count == 216
    assert pl.concat(batches).equals(accepted(data, reader))


# Rules that refuse a feed


BAD_READINGS = [
    pytest.param(reading(1646092800, "12.5"), "espi.bad_number", '<value> "12.5"', id="decimal"),
    pytest.param(reading("1721154384.66136", 1), "espi.bad_number", "<start>", id="fraction"),
    pytest.param(reading(1646092800, 1, 900, "5"), "espi.unknown_quality", '"5"', id="quality"),
    pytest.param(reading(1646092800, 1, 7200), "espi.bad_interval", "120 minutes", id="2h"),
    pytest.param(reading(1646093000, 1), "espi.unaligned_interval", "00:03:20", id="unaligned"),
    pytest.param(reading(99999999999999, 1), "espi.bad_time", "99999999999999", id="year"),
    pytest.param(
        "<IntervalReading><timePeriod><start>1646092800</start></timePeriod></IntervalReading>",
        "espi.missing_element",
        "no value",
        id="no value",
    ),
]


@pytest.mark.parametrize("bad, rule, shown", BAD_READINGS)
def test_a_bad_reading_names_its_line(bad: str, rule: str, shown: str) -> None:
    data = feed(*channel(readings=[reading(1646092800 - 900, 1), bad]))

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == (rule, line_of(data, "<IntervalReading>", 2))
    assert shown in refusal.message
    assert refusal.message.startswith(f"line {refusal.line}: ")


@pytest.mark.parametrize(
    "kind, rule, shown",
    [
        ("<uom>73</uom>", "espi.unsupported_uom", "uom 73 (varh)"),
        ("<uom>999</uom>", "espi.unsupported_uom", '"999" is not an ESPI unit code'),
        ("<flowDirection>1</flowDirection>", "espi.unsupported_uom", "has no uom"),  # at <entry>
        ("<uom>72</uom><powerOfTenMultiplier>5</powerOfTenMultiplier>", "espi.unknown_code", "5"),
        ("<uom>72</uom><powerOfTenMultiplier>k</powerOfTenMultiplier>", "espi.bad_number", '"k"'),
        (
            "<uom>72</uom><accumulationBehaviour>3</accumulationBehaviour>",
            "espi.not_interval_data",
            "3 (cumulative)",
        ),
        (  # a demand register (the month's peak) adds up to nothing
            "<uom>38</uom><accumulationBehaviour>1</accumulationBehaviour>",
            "espi.not_interval_data",
            "1 (bulkQuantity)",
        ),
        (
            "<uom>72</uom><accumulationBehaviour>99</accumulationBehaviour>",
            "espi.not_interval_data",
            '"99", not an ESPI code',
        ),
        (
            "<uom>72</uom><accumulationBehaviour>6</accumulationBehaviour>",
            "espi.not_interval_data",
            "6 (indicating)",
        ),
    ],
)
def test_a_reading_type_the_platform_cannot_store_is_refused_naming_the_code(
    kind: str, rule: str, shown: str
) -> None:
    data = feed(*channel(reading_type=kind))

    refusal = refused(data)

    assert refusal.rule == rule and shown in refusal.message
    assert (
        data.decode()
        .splitlines()[refusal.line - 1]
        .startswith(("<uom", "<power", "<acc", "<entry"))
    )


def test_demand_may_be_indicating() -> None:
    kind = "<uom>38</uom><accumulationBehaviour>6</accumulationBehaviour>"

    assert accepted(feed(*channel(reading_type=kind)), meter(unit="kW"))["unit"][0] == "W"


# Register reads: a running total beside the intervals, carried to the check

DERIVED = SAMPLES.parent / "derived"
REGISTER = (
    "<accumulationBehaviour>1</accumulationBehaviour><flowDirection>1</flowDirection>"
    "<powerOfTenMultiplier>{power}</powerOfTenMultiplier><uom>{uom}</uom>"
)


def register_channel(*reads: str, power: int = 0, uom: int = 72, behaviour: int = 1) -> list[str]:
    """UP1's MeterReading 02: a register channel, beside channel()'s interval channel 01."""
    kind = REGISTER.format(power=power, uom=uom).replace(">1</acc", f">{behaviour}</acc")
    return channel("UP1", "02", list(reads), reading_type=kind)[1:]  # UP1 given by channel()


def with_registers(data: bytes, *meters: Meter) -> tuple[CheckedFile, pl.DataFrame | None]:
    verdict = checked(data, *meters)
    assert verdict.rejection is None, verdict.rejection
    return verdict, verdict.registers


@pytest.mark.parametrize("behaviour", [1, 9])
def test_a_register_channel_is_read_as_register_reads_not_intervals(behaviour: int) -> None:
    data = feed(
        *channel("UP1", "01"),
        *register_channel(reading(1646092800, 5000, 0), reading(1646092800, 5046, 3600),
                          power=-3, uom=169, behaviour=behaviour),
    )  # fmt: skip

    verdict, registers = with_registers(data, meter(commodity="gas", unit="therm"))

    assert verdict.count == 4 and set(verdict.readings["unit"]) == {"Wh"}
    assert registers is not None
    assert registers.schema == REGISTER_READS_SCHEMA
    assert registers.rows() == [
        ("GB-1", MARCH_1, 5.0, "therm", 0.001, line_of(data, "<IntervalReading>", 5)),
        ("GB-1", MARCH_1 + timedelta(hours=1), 5.046, "therm", 0.001,
         line_of(data, "<IntervalReading>", 6)),
    ]  # fmt: skip


def test_a_meter_of_any_flow_reads_its_intervals_and_its_register_without_a_repeat() -> None:
    data = feed(*channel("UP1", "01"), *register_channel(reading(1646092800, 7, 0)))

    verdict, registers = with_registers(data, meter(flow=None))

    assert verdict.count == 4 and registers is not None and registers.height == 1


def test_a_feed_of_register_reads_only_is_refused_for_its_missing_intervals() -> None:
    data = feed(*channel("UP1", "02", [reading(1646092800, 7, 0)], reading_type=REGISTER.format(
        power=0, uom=72)))  # fmt: skip

    refusal = refused(data)

    assert refusal.rule == "espi.no_readings" and "but register reads" in refusal.message


def test_a_bad_register_read_is_refused_at_its_line() -> None:
    data = feed(*channel("UP1", "01"), *register_channel(reading(1646092800, "12.5", 0)))

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == (
        "espi.bad_number",
        line_of(data, "<IntervalReading>", 5),
    )


def test_the_derived_sample_reads_its_intervals_as_the_other_parser_and_its_registers(
    tmp_path: Path,
) -> None:
    data, gb = sample("electric_containerized")
    derived = (DERIVED / "electric_containerized_register.xml").read_bytes()
    path = tmp_path / "feed.xml"
    path.write_bytes(derived)
    handed: list[pl.DataFrame] = []

    in_memory, registers = with_registers(derived, gb)
    local = check_local_file(
        "feed.xml", path, GB, meters=KnownMeters.of(GB, {gb.id: gb}), on_registers=handed.append
    )

    assert_as_expected(in_memory.readings, "electric_containerized")
    assert in_memory.readings.drop("line").equals(accepted(data, gb).drop("line"))
    assert registers is not None and local.rejection is None
    assert pl.concat(handed).equals(registers)
    start = datetime(2011, 1, 1, 8, tzinfo=UTC)
    assert registers.select("read_at", "value").rows() == [
        (start + timedelta(hours=hours), value)
        for hours, value in [
            (0, 12345000.0), (2, 12345880.0), (4, 12346708.0), (12, 12346708.0),
            (14, 12347894.0), (16, 12349086.0),
        ]
    ]  # fmt: skip
    assert set(registers["resolution"]) == {1.0}


def test_a_register_of_a_channel_no_meter_claims_is_a_notice() -> None:
    data = feed(*channel("UP1", "01"), *register_channel(reading(1646092800, 7, 0)))

    verdict = checked(data, meter(flow="reverse"))

    assert verdict.registers is None and verdict.readings.height == 0
    assert [n.rule for n in verdict.notices] == ["espi.unclaimed_readings"] * 2


def test_a_block_no_meter_reading_relates_is_refused() -> None:
    usage_point, meter_reading, reading_type, block = channel()
    orphan = block.replace("IntervalBlock/1", "OtherBlock/1").replace(
        "/01/IntervalBlock", "/01/Other"
    )
    data = feed(usage_point, meter_reading, reading_type, orphan)

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == ("espi.unlinked_entry", line_of(data, "<entry>", 4))
    assert "no MeterReading relates IntervalBlock" in refusal.message


def test_a_meter_reading_without_reading_type_is_refused() -> None:
    usage_point, meter_reading, _, block = channel()

    refusal = refused(feed(usage_point, meter_reading, block))

    assert refusal.rule == "espi.unlinked_entry" and "relates no ReadingType" in refusal.message


def test_a_feed_without_readings_is_refused() -> None:
    usage_point, meter_reading, reading_type, _ = channel()

    assert refused(feed(usage_point, meter_reading, reading_type)).rule == "espi.no_readings"


# Untrusted XML


XXE = '<!DOCTYPE feed [\n<!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n'
LAUGHS = (
    '<!DOCTYPE feed [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
)


@pytest.mark.parametrize("prolog, line", [(XXE, 3), (LAUGHS, 3)])
def test_entity_declarations_are_refused_before_anything_expands(prolog: str, line: int) -> None:
    usage_point, meter_reading, reading_type, block = channel(
        readings=[reading(1646092800, "&secret;" if prolog is XXE else "&lol9;")]
    )
    data = feed(usage_point, meter_reading, reading_type, block, prolog=prolog)

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == ("espi.entity", line)
    assert "entities are refused" in refusal.message


def test_an_undeclared_entity_is_not_expanded() -> None:
    data = feed(*channel(readings=[reading(1646092800, "&nothing;")]))

    assert refused(data).rule == "espi.not_xml"


def test_deep_nesting_is_refused() -> None:
    deep = "<x>" * 300 + "</x>" * 300
    data = feed(
        entry(f"{usage_point_href()}/deep", f'<IntervalBlock xmlns="{ESPI}">{deep}</IntervalBlock>')
    )

    refusal = refused(data)

    assert refusal.rule == "espi.too_deep" and refusal.line is not None


@pytest.mark.parametrize(
    "data, rule",
    [
        (
            b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry>',
            "espi.not_xml",
        ),
        (b'<?xml version="1.0"?>\n<rss xmlns:a="http://www.w3.org/2005/Atom"/>', "espi.not_a_feed"),
    ],
)
def test_a_file_that_is_not_a_whole_feed_is_refused(data: bytes, rule: str) -> None:
    assert refused(data).rule == rule


# Detection, configuration, manifest


def test_a_feed_is_recognized_by_its_atom_namespace_and_a_csv_is_not() -> None:
    both = replace(GB, formats=("csv", "espi"))

    as_feed = check_file(
        "usage.dat", feed(*channel()), both, KnownMeters.of(both, {"GB-1": meter()})
    )
    as_csv = check_file("usage.csv", b"meter_id,start,end,value,unit\n", both)
    not_taken = check_file("usage.xml", feed(*channel()), replace(GB, formats=("csv",)))

    assert (as_feed.format, as_csv.format) == ("espi", "csv")
    assert not_taken.rejection.rule == "format.not_accepted"
    assert "is a espi file" in not_taken.rejection.message


def test_an_unrecognized_file_names_the_feeds_form() -> None:
    refusal = checked(b"<?xml version='1.0'?><readings/>").rejection

    assert refusal.rule == "format.unknown" and "Atom feed" in refusal.message


def test_notices_are_kept_in_the_manifest_entry() -> None:
    notice = Notice("espi.unclaimed_readings", 40, "line 40: 4 readings ...")
    upload = StoredObject("landing", "gb_conn/feed.xml", 1, 10, None, None)
    entry_ = ManifestEntry("feed.xml", upload, "accepted", notices=(notice,))
    from b8760_assets.landing.manifest import Manifest

    manifest = Manifest("gb_conn", MARCH_1, MARCH_1, (entry_,))

    assert Manifest.from_json(manifest.to_json()) == manifest
    assert Manifest.from_json(manifest.to_json()).files[0].notices == (notice,)


def test_the_espi_reader_is_registered() -> None:
    assert file_checks.FORMATS["espi"].name == "espi"


def test_the_documented_example_reads_as_documented() -> None:
    documented = (Path(__file__).parents[1] / "docs" / "uploading.md").read_text()
    section = documented.split("## 2b.")[1]
    example = section.split("```xml\n")[1].split("```")[0].encode()
    point = "/espi/1_1/resource/RetailCustomer/9B6C7066/UsagePoint/5446AF3F"

    readings = accepted(example, meter(usage_point=point))

    assert readings.select("interval_start", "interval_end", "value", "unit", "quality").rows() == [
        (
            datetime(2012, 3, 1, 5, tzinfo=UTC),
            datetime(2012, 3, 1, 5, 15, tzinfo=UTC),
            282.0,
            "Wh",
            "E",
        ),
        (
            datetime(2012, 3, 1, 5, 15, tzinfo=UTC),
            datetime(2012, 3, 1, 5, 30, tzinfo=UTC),
            323.0,
            "Wh",
            None,
        ),
    ]


def test_a_reading_without_any_duration_is_refused() -> None:
    data = feed(*channel(readings=[reading(1646092800, 3, None)]))  # and no intervalLength

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == (
        "espi.missing_duration",
        line_of(data, "<IntervalReading>"),
    )


@pytest.mark.parametrize(
    "misplaced, what",
    [
        (
            f'<IntervalBlock xmlns="{ESPI}">{reading(1646092800, 1)}</IntervalBlock>',
            "IntervalBlock",
        ),
        (f'<UsagePoint xmlns="{ESPI}">{reading(1646092800, 1)}</UsagePoint>', "IntervalReading"),
    ],
)
def test_readings_outside_their_place_are_refused_not_skipped(misplaced: str, what: str) -> None:
    data = feed(*channel(), misplaced)  # a block (or reading) outside any entry's content

    refusal = refused(data)

    assert (refusal.rule, refusal.line) == (
        "espi.misplaced_element",
        line_of(data, f"<{what}", 2 if what == "IntervalBlock" else 5),
    )
    assert f"an {what} outside" in refusal.message
