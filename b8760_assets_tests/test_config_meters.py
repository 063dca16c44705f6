"""Meter XML: meters read in full, every value rule and structure rule broken."""

from pathlib import Path

import pytest

from b8760_assets.config import ConfigError, Meter, read_meters
from b8760_assets.config.meters import read_meter_file
from b8760_assets_tests.config_files import (
    METERS_NAMESPACE,
    declared_entity_problem,
    line_of,
    meter_xml,
    write_meters,
)

METER_ELEMENT = f"Element '{{{METERS_NAMESPACE}}}meter'"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        read_meters(path)
    return [str(problem) for problem in raised.value.problems]


def test_reads_every_meter_in_document_order(tmp_path: Path) -> None:
    path = write_meters(
        tmp_path / "coned.xml",
        meter_xml(),
        meter_xml(id="MTR-7.b_2", commodity="steam", unit="klb", multiplier="0.25", site="Plant"),
    )

    assert read_meters(path) == (
        Meter(
            id="3",
            connector="coned",
            participant="participant_1",
            commodity="electricity",
            unit="kWh",
            multiplier=1.0,
            timezone="America/New_York",
            site="Brooklyn warehouse",
            source=path,
            line=line_of(path, 'id="3"'),
        ),
        Meter(
            id="MTR-7.b_2",
            connector="coned",
            participant="participant_1",
            commodity="steam",
            unit="klb",
            multiplier=0.25,
            timezone="America/New_York",
            site="Plant",
            source=path,
            line=line_of(path, 'id="MTR-7.b_2"'),
        ),
    )


def test_elements_may_come_in_any_order_with_comments_and_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "coned.xml"
    path.write_text(
        f"""<meters xmlns="{METERS_NAMESPACE}">
  <meter id="3" connector="coned" participant="participant_1">
    <site>
      Brooklyn warehouse
    </site>
    <!-- kWh after the current transformer's ratio -->
    <timezone>America/New_York</timezone>
    <multiplier>40</multiplier>
    <unit>k<!-- kilo -->Wh</unit>
    <commodity>electricity</commodity>
  </meter>
</meters>
"""
    )

    (meter,) = read_meters(path)

    assert (meter.site, meter.multiplier, meter.unit, meter.line) == (
        "Brooklyn warehouse",
        40.0,
        "kWh",
        2,
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("id", "3/2021", "'3/2021' is not a valid meter id"),
        ("id", "", "'' is not a valid meter id"),
        ("id", ".hidden", "'.hidden' is not a valid meter id"),
        ("id", "m" * 65, "is not a valid meter id"),
        ("connector", "ConEd", "'ConEd' is not a valid connector name"),
        ("participant", "participant 1", "'participant 1' is not a valid participant name"),
        ("commodity", "electric", "unknown commodity 'electric'; expected one of chilled_water, "),
        ("unit", "kwh", "unknown unit 'kwh'; expected one of MMBtu"),
        ("multiplier", "0", "'0' is not a positive decimal number such as 1 or 0.5"),
        ("multiplier", "0.000", "'0.000' is not a positive decimal number"),
        ("multiplier", "-1", "'-1' is not a positive decimal number"),
        ("multiplier", "1e3", "'1e3' is not a positive decimal number"),
        ("multiplier", "NaN", "'NaN' is not a positive decimal number"),
        ("multiplier", "inf", "'inf' is not a positive decimal number"),
        ("multiplier", "1,5", "'1,5' is not a positive decimal number"),
        ("timezone", "Eastern", "'Eastern' is not an IANA time zone name"),
        ("timezone", "localtime", "'localtime' is not an IANA time zone name"),
        ("timezone", "Factory", "'Factory' is not an IANA time zone name"),
        ("site", "   ", "the site is empty; name the site the meter is at"),
        ("high_limit", "lots", "'lots' is not a high limit; write a decimal number"),
        ("low_limit", "-1e3", "'-1e3' is not a low limit; write a decimal number"),
        ("register_tolerance_percent", "0", "'0' is not a positive percentage"),
        ("register_tolerance_percent", "a lot", "'a lot' is not a percentage"),
    ],
)
def test_bad_value(tmp_path: Path, key: str, value: str, message: str) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml(**{key: value}))
    attribute = key in ("id", "connector", "participant")
    line = line_of(path, "<meter " if attribute else f"<{key}>")

    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line}: {key}: ")
    assert message in problem


def test_a_meter_may_give_limits_for_validation(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml(high_limit="250.5", low_limit="-10"))

    [meter] = read_meters(path)

    assert (meter.high_limit, meter.low_limit) == (250.5, -10.0)


def test_a_meter_may_give_its_register_tolerance(tmp_path: Path) -> None:
    given = write_meters(tmp_path / "a.xml", meter_xml(register_tolerance_percent="0.25"))
    left_out = write_meters(tmp_path / "b.xml", meter_xml())

    [meter], [default] = read_meters(given), read_meters(left_out)

    assert (meter.register_tolerance_percent, default.register_tolerance_percent) == (0.25, None)


def test_a_low_limit_above_the_high_limit_is_a_problem(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml(high_limit="5", low_limit="6"))

    assert problems_of(path) == [
        f"{path}:{line_of(path, '<meter ')}: low_limit: 6 is above the high_limit 5; swap them"
    ]


def test_valid_meters_are_kept_beside_the_problems_of_the_others(tmp_path: Path) -> None:
    path = write_meters(
        tmp_path / "coned.xml",
        meter_xml(id="1", unit="kwh"),
        meter_xml(id="2"),
        meter_xml(id="3", multiplier="0", timezone="Mars/Olympus"),
    )

    meters, problems = read_meter_file(path)

    assert [meter.id for meter in meters] == ["2"]
    assert [(problem.line, problem.key) for problem in problems] == [
        (line_of(path, "<unit>kwh"), "unit"),
        (line_of(path, "<multiplier>0"), "multiplier"),
        (line_of(path, "Mars/Olympus"), "timezone"),
    ]


def test_missing_element_breaks_the_structure(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml(), meter_xml(id="4", unit=None))

    line = line_of(path, 'id="4"')

    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line}: {METER_ELEMENT}: ")
    assert "Missing child element(s)" in problem
    assert "unit" in problem


def test_missing_attribute_breaks_the_structure(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml(participant=None))

    assert problems_of(path) == [
        f"{path}:{line_of(path, '<meter ')}: {METER_ELEMENT}: "
        "The attribute 'participant' is required but missing."
    ]


def test_unknown_element_breaks_the_structure(tmp_path: Path) -> None:
    meter = meter_xml().replace("<site>", "<serial>X1</serial><site>")
    path = write_meters(tmp_path / "coned.xml", meter)

    (problem,) = problems_of(path)
    assert problem.startswith(
        f"{path}:{line_of(path, '<serial>')}: Element '{{{METERS_NAMESPACE}}}serial': "
    )
    assert "This element is not expected" in problem


def test_every_structure_problem_is_reported(tmp_path: Path) -> None:
    path = write_meters(
        tmp_path / "coned.xml",
        meter_xml(id="1", participant=None),
        meter_xml(id="2", connector=None),
    )
    lines = [line_of(path, 'id="1"'), line_of(path, 'id="2"')]

    assert [problem.split(": ")[0] for problem in problems_of(path)] == [
        f"{path}:{line}" for line in lines
    ]


def test_file_without_the_meters_namespace_is_refused(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml())
    path.write_text(path.read_text().replace(f' xmlns="{METERS_NAMESPACE}"', ""))

    assert problems_of(path) == [
        f"{path}:{line_of(path, '<meters>')}: Element 'meters': "
        "No matching global declaration available for the validation root."
    ]


def test_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    path = write_meters(tmp_path / "coned.xml", meter_xml().replace("</site>", "</sight>"))
    line = line_of(path, "</sight>")

    assert problems_of(path)[0] == (
        f"{path}:{line}: Opening and ending tag mismatch: site line {line} and sight"
    )


def test_external_entity_in_a_meter_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SITE")
    path = write_meters(tmp_path / "coned.xml", meter_xml(site="&x;"))
    doctype = f'<!DOCTYPE meters [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    path.write_text(path.read_text().replace("<meters ", f"{doctype}\n<meters ", 1))

    problems = problems_of(path)

    assert problems == [declared_entity_problem(path, "x")]
    assert "TOP-SECRET" not in "\n".join(problems)


def with_usage_point(meter: str, href: str, flow: str | None = None) -> str:
    """A <meter> element (meter_xml) that reads a Green Button UsagePoint."""
    attribute = "" if flow is None else f' flow_direction="{flow}"'
    element = f"    <usage_point{attribute}>{href}</usage_point>\n  </meter>"
    return meter.replace("  </meter>", element)


def test_a_meter_may_read_a_usage_point_and_one_flow_of_it(tmp_path: Path) -> None:
    href = "/espi/1_1/resource/RetailCustomer/9B6C7066/UsagePoint/5446AF3F"
    path = write_meters(
        tmp_path / "gb.xml",
        with_usage_point(meter_xml(id="IN"), href, "forward"),
        with_usage_point(meter_xml(id="ANY"), href),
        meter_xml(id="CSV"),
    )

    meters = {meter.id: meter for meter in read_meters(path)}

    assert (meters["IN"].usage_point, meters["IN"].flow_direction) == (href, "forward")
    assert (meters["ANY"].usage_point, meters["ANY"].flow_direction) == (href, None)
    assert (meters["CSV"].usage_point, meters["CSV"].flow_direction) == (None, None)


@pytest.mark.parametrize(
    "href, flow, problem",
    [
        (
            "/UsagePoint/1",
            "upward",
            "flow_direction: unknown flow direction 'upward'; expected one of forward, net, "
            "reverse, total",
        ),
        ("/Usage Point/1", None, "usage_point: '/Usage Point/1' is not a UsagePoint href"),
        ("", None, "usage_point: '' is not a UsagePoint href"),
    ],
)
def test_usage_point_rules(tmp_path: Path, href: str, flow: str | None, problem: str) -> None:
    path = write_meters(tmp_path / "gb.xml", with_usage_point(meter_xml(), href, flow))

    [found] = problems_of(path)

    assert found.startswith(f"{path}:{line_of(path, '<usage_point')}: {problem}")
