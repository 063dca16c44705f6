"""`b8760 config check`: a summary and exit 0 on a good platform, every problem and exit 1 on a
bad one."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.config_files import (
    copy_sample_platform,
    line_of,
    properties_xml,
    replace_in,
)


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["config", "check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_sample_platform_passes_with_a_summary() -> None:
    code, out, _ = check(str(SAMPLE_PLATFORM_DIR))

    assert code == 0
    assert out.splitlines()[0] == (
        f"{SAMPLE_PLATFORM_DIR}: 3 connectors, 2 participants, 13 meters; "
        "external: ext_conn1, ext_conn10; landing access: conditional_roles"
    )
    assert out.splitlines()[1] == (
        "  coned       internal participant_1 (bucket participant_1), 6 meters, "
        "from 2021-11-01T00:00:00Z"
    )


def test_platform_folder_defaults_to_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_sample_platform(tmp_path)
    (root / "meters" / "ext_conn10.xml").unlink()
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(root))

    code, out, _ = check()

    assert code == 0
    assert out.startswith(f"{root}: 3 connectors, 2 participants, 9 meters;")


def test_broken_platform_prints_every_problem_and_fails(tmp_path: Path) -> None:
    root = copy_sample_platform(tmp_path)
    coned = root / "connectors" / "coned" / "properties.xml"
    meters = root / "meters" / "ext_conn1.xml"
    replace_in(coned, ">kWh<", ">kwh<")
    replace_in(coned, '<entry key="data.timezone">', '<entry key="data.zone">')
    replace_in(meters, 'participant="participant_2"', 'participant="participant_1"')

    code, out, err = check(str(root))

    assert code == 1
    assert out.splitlines() == [
        f"connectors/coned/properties.xml:{line_of(coned, '<properties>')}: data.timezone: "
        "missing required key",
        f"connectors/coned/properties.xml:{line_of(coned, 'data.zone')}: data.zone: "
        "unknown key; did you mean data.timezone?",
        f"connectors/coned/properties.xml:{line_of(coned, 'data.unit')}: data.unit: "
        "unknown unit 'kwh'; expected one of MMBtu, MW, MWh, W, Wh, ccf, gal, kW, kWh, klb, m3, "
        "therm",
        f"meters/ext_conn1.xml:{line_of(meters, 'participant_1')}: participant: 'participant_1' "
        "does not operate connector ext_conn1; its participant is 'participant_2'",
    ]
    assert err == f"4 problem(s) in {root}; paths are relative to it.\n"


def test_missing_platform_folder_fails(tmp_path: Path) -> None:
    code, out, _ = check(str(tmp_path / "nowhere"))

    assert (code, out) == (1, f"{tmp_path / 'nowhere'}: no such platform folder\n")


def test_a_green_button_key_problem_is_printed_at_its_line(tmp_path: Path) -> None:
    root = copy_sample_platform(tmp_path)
    meters = root / "meters" / "ext_conn1.xml"
    replace_in(
        meters,
        "<site>Loop campus, building A</site>",
        "<site>Loop campus, building A</site>\n"
        '    <usage_point flow_direction="sideways">/UsagePoint/1</usage_point>',
    )

    code, out, _ = check(str(root))

    assert code == 1
    line = line_of(meters, "<usage_point")
    assert out.splitlines()[0] == (
        f"meters/ext_conn1.xml:{line}: flow_direction: unknown flow direction 'sideways'; "
        "expected one of forward, net, reverse, total"
    )


def test_a_bad_platform_setting_is_a_problem_at_its_line(tmp_path: Path) -> None:
    root = copy_sample_platform(tmp_path)
    settings = root / "platform.xml"
    settings.write_text(properties_xml([("landing.access", "folders"), ("landing.acess", "x")]))

    code, out, _ = check(str(root))

    assert code == 1
    assert out.splitlines() == [
        f"platform.xml:{line_of(settings, 'folders')}: landing.access: unknown landing access "
        "mode 'folders'; expected one of conditional_roles, custom_role, managed_folders",
        f"platform.xml:{line_of(settings, 'acess')}: landing.acess: unknown key; did you mean "
        "landing.access?",
    ]


def test_a_csv_layout_key_problem_is_printed_at_its_line(tmp_path: Path) -> None:
    root = copy_sample_platform(tmp_path)
    properties = root / "connectors" / "ext_conn1" / "properties.xml"
    replace_in(
        properties,
        "</properties>",
        '  <entry key="file.csv.dst.repeated">file_order</entry>\n</properties>',
    )

    code, out, _ = check(str(root))

    assert code == 1
    line = line_of(properties, "file.csv.dst.repeated")
    assert out.splitlines()[0] == (
        f"connectors/ext_conn1/properties.xml:{line}: file.csv.dst.repeated: needs "
        "file.csv.timestamp.format, the format of the wall times"
    )


def test_validation_thresholds_and_meter_limits_are_checked_at_their_lines(
    tmp_path: Path,
) -> None:
    root = copy_sample_platform(tmp_path)
    coned = root / "connectors" / "coned" / "properties.xml"
    replace_in(
        coned,
        "</properties>",
        '  <entry key="validation.spike.ratio">0</entry>\n'
        '  <entry key="validation.zero.run.hours">a day</entry>\n'
        '  <entry key="validation.estimate.max.minutes">1500</entry>\n</properties>',
    )
    meters = root / "meters" / "ext_conn1.xml"
    replace_in(
        meters,
        "<site>Loop campus, building A</site>",
        "<site>Loop campus, building A</site>\n"
        "    <high_limit>5000</high_limit>\n    <low_limit>6000</low_limit>",
    )

    code, out, _ = check(str(root))

    assert code == 1
    assert out.splitlines()[:4] == [
        f"connectors/coned/properties.xml:{line_of(coned, 'spike.ratio')}: "
        "validation.spike.ratio: '0' is not a positive spike ratio; write a number above 0",
        f"connectors/coned/properties.xml:{line_of(coned, 'zero.run')}: "
        "validation.zero.run.hours: 'a day' is not a number of hours; write a decimal number "
        "such as 12.5",
        f"connectors/coned/properties.xml:{line_of(coned, 'estimate.max')}: "
        "validation.estimate.max.minutes: '1500' minutes is more than a day; estimation fills "
        "gaps of at most 1440 minutes (docs/validation.md)",
        f"meters/ext_conn1.xml:{line_of(meters, 'CHI-0001')}: low_limit: 6000 is above "
        "the high_limit 5000; swap them",
    ]


def test_a_bad_register_tolerance_is_reported_at_its_line(tmp_path: Path) -> None:
    root = copy_sample_platform(tmp_path)
    ext = root / "connectors" / "ext_conn1" / "properties.xml"
    replace_in(
        ext,
        "</properties>",
        '  <entry key="validation.register.tolerance.percent">-1</entry>\n</properties>',
    )

    code, out, _ = check(str(root))

    assert code == 1
    assert out.splitlines()[0] == (
        f"connectors/ext_conn1/properties.xml:{line_of(ext, 'tolerance')}: "
        "validation.register.tolerance.percent: '-1' is not a positive percentage; write a "
        "number above 0"
    )
