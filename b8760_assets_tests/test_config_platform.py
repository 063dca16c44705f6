"""A platform folder: the sample loads, and problems across files are all found together."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from b8760_assets.config import ConfigError, Meter, Platform, check_platform, load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.config_files import (
    CONED,
    copy_sample_platform,
    line_of,
    meter_xml,
    properties_xml,
    replace_in,
    write_meters,
    write_properties,
)

UNITS = "MMBtu, MW, MWh, W, Wh, ccf, gal, kW, kWh, klb, m3, therm"


def problems_of(root: Path) -> list[str]:
    platform, problems = check_platform(root)
    assert platform is None
    return [str(problem) for problem in problems]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_sample_platform(tmp_path)


def test_sample_platform_has_the_seed_connectors_participants_and_meter_3() -> None:
    platform = load_platform(SAMPLE_PLATFORM_DIR)

    assert list(platform.connectors) == ["coned", "ext_conn1", "ext_conn10"]
    assert platform.participants == {
        "participant_1": "participant_1",
        "participant_2": "participant_2",
    }
    coned = platform.connectors["coned"]
    assert (coned.participant, coned.bucket, coned.external) == (
        "participant_1",
        "participant_1",
        False,
    )
    assert (coned.timezone, coned.unit) == ("America/New_York", "kWh")
    assert coned.start_hour == datetime(2021, 11, 1, tzinfo=UTC)
    assert platform.connectors["ext_conn1"].external
    assert platform.connectors["ext_conn10"].external
    assert "3" in [meter.id for meter in platform.meters_of("coned")]
    assert len(platform.meters) >= 12
    assert {meter.connector for meter in platform.meters} == set(platform.connectors)


def test_meters_of_a_connector_are_its_own(root: Path) -> None:
    platform = load_platform(root)

    ext_conn10 = platform.meters_of("ext_conn10")

    assert ext_conn10 and all(meter.connector == "ext_conn10" for meter in ext_conn10)
    assert sum(len(platform.meters_of(name)) for name in platform.connectors) == len(
        platform.meters
    )
    assert platform.meters_of("duke") == ()


def test_meter_id_may_repeat_across_connectors(root: Path) -> None:
    write_meters(root / "meters" / "extra.xml", meter_xml(id="1", connector="ext_conn10"))

    platform = load_platform(root)

    assert [meter.id for meter in platform.meters_of("ext_conn10")].count("1") == 1
    assert [meter.id for meter in platform.meters_of("coned")].count("1") == 1


def test_duplicate_meter_id_across_files_names_both_places(root: Path) -> None:
    extra = write_meters(root / "meters" / "extra.xml", meter_xml(id="3"))
    first = line_of(root / "meters" / "coned.xml", 'id="3"')

    assert problems_of(root) == [
        f"meters/extra.xml:{line_of(extra, 'id=')}: id: duplicate meter id '3' of connector "
        f"coned; first defined at meters/coned.xml:{first}"
    ]


def test_duplicate_meter_id_within_a_file(root: Path) -> None:
    extra = write_meters(root / "meters" / "extra.xml", meter_xml(id="A"), meter_xml(id="A"))

    assert problems_of(root) == [
        f"meters/extra.xml:{line_of(extra, 'id=', 2)}: id: duplicate meter id 'A' of connector "
        f"coned; first defined at meters/extra.xml:{line_of(extra, 'id=')}"
    ]


def test_meter_of_unknown_connector(root: Path) -> None:
    extra = write_meters(root / "meters" / "extra.xml", meter_xml(id="9", connector="conned"))

    assert problems_of(root) == [
        f"meters/extra.xml:{line_of(extra, 'id=')}: connector: unknown connector 'conned'; "
        "the connectors are coned, ext_conn1, ext_conn10"
    ]


def test_meter_whose_participant_does_not_operate_its_connector(root: Path) -> None:
    meter = meter_xml(id="9", participant="participant_2")
    extra = write_meters(root / "meters" / "extra.xml", meter)

    assert problems_of(root) == [
        f"meters/extra.xml:{line_of(extra, 'id=')}: participant: 'participant_2' does not "
        "operate connector coned; its participant is 'participant_1'"
    ]


def test_meters_of_a_broken_connector_are_not_reported_again(root: Path) -> None:
    properties = root / "connectors" / "coned" / "properties.xml"
    replace_in(properties, ">kWh<", ">kwh<")

    assert problems_of(root) == [
        f"connectors/coned/properties.xml:{line_of(properties, 'data.unit')}: data.unit: "
        f"unknown unit 'kwh'; expected one of {UNITS}"
    ]


def test_participant_has_one_bucket(root: Path) -> None:
    properties = root / "connectors" / "ext_conn10" / "properties.xml"
    bucket = '<entry key="participant.bucket">'
    replace_in(properties, f"{bucket}participant_1<", f"{bucket}p1_data<")
    coned = root / "connectors" / "coned" / "properties.xml"

    assert problems_of(root) == [
        f"connectors/ext_conn10/properties.xml:{line_of(properties, 'participant.bucket')}: "
        "participant.bucket: participant_1 has bucket 'participant_1' in "
        f"connectors/coned/properties.xml:{line_of(coned, 'participant.bucket')}; "
        "a participant has one bucket"
    ]


def test_participants_do_not_share_a_bucket(root: Path) -> None:
    properties = root / "connectors" / "ext_conn1" / "properties.xml"
    bucket = '<entry key="participant.bucket">'
    replace_in(properties, f"{bucket}participant_2<", f"{bucket}participant_1<")
    coned = root / "connectors" / "coned" / "properties.xml"

    assert problems_of(root) == [
        f"connectors/ext_conn1/properties.xml:{line_of(properties, 'participant.bucket')}: "
        "participant.bucket: bucket 'participant_1' belongs to participant_1 in "
        f"connectors/coned/properties.xml:{line_of(coned, 'participant.bucket')}; "
        "participants do not share buckets"
    ]


def test_second_connector_claiming_a_name_is_refused(root: Path) -> None:
    copy = write_properties(root / "connectors" / "coned_copy", CONED)

    assert problems_of(root) == [
        f"connectors/coned_copy/properties.xml:{line_of(copy, 'connector.name')}: "
        "connector.name: 'coned' differs from its folder 'coned_copy'; "
        "a connector's properties.xml lives in connectors/<connector.name>/"
    ]


def test_every_problem_of_every_file_is_collected_and_sorted(root: Path) -> None:
    connectors, meters = root / "connectors", root / "meters"
    replace_in(connectors / "coned" / "properties.xml", ">America/New_York<", ">America/NY<")
    replace_in(connectors / "ext_conn1" / "properties.xml", ">true<", ">yes<")
    replace_in(
        connectors / "ext_conn10" / "properties.xml",
        '<entry key="data.unit">kWh</entry>',
        "<unit>kWh</unit>",
    )
    replace_in(meters / "ext_conn1.xml", "<unit>gal</unit>", "<unit>gallon</unit>")
    write_meters(meters / "extra.xml", meter_xml(id="3"), meter_xml(id="7", connector="duke"))

    platform, problems = check_platform(root)

    assert platform is None
    assert [(str(problem.file), problem.key) for problem in problems] == [
        ("connectors/coned/properties.xml", "data.timezone"),
        ("connectors/ext_conn1/properties.xml", "connector.external"),
        ("connectors/ext_conn10/properties.xml", None),
        ("meters/ext_conn1.xml", "unit"),
        ("meters/extra.xml", "id"),
        ("meters/extra.xml", "connector"),
    ]
    with pytest.raises(ConfigError) as raised:
        load_platform(root)
    assert raised.value.problems == problems
    assert str(raised.value).splitlines() == [str(problem) for problem in problems]


def write_text(path: Path) -> None:
    path.write_text("x")


def make_folder(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (write_text, "meters/notes.txt", "not a meter XML file; expected meters/*.xml"),
        (make_folder, "meters/old", "not a meter XML file; expected meters/*.xml"),
        (
            write_text,
            "connectors/README",
            "not a connector folder; expected connectors/<connector>/properties.xml",
        ),
    ],
)
def test_unexpected_entries_are_problems(
    root: Path, make: Callable[[Path], None], name: str, expected: str
) -> None:
    make(root / name)

    assert problems_of(root) == [f"{name}: {expected}"]


def test_connector_folder_without_properties(root: Path) -> None:
    (root / "connectors" / "duke").mkdir()

    assert problems_of(root) == [
        "connectors/duke/properties.xml: cannot read the file: No such file or directory"
    ]


def test_hidden_entries_are_left_alone(root: Path) -> None:
    (root / "meters" / ".gitkeep").write_text("")
    (root / "connectors" / ".DS_Store").write_text("")

    assert len(load_platform(root).connectors) == 3


@pytest.mark.parametrize("folder", ["connectors", "meters"])
def test_missing_folder(tmp_path: Path, folder: str) -> None:
    write_properties(tmp_path / "connectors" / "coned")
    write_meters(tmp_path / "meters" / "coned.xml", meter_xml())
    (tmp_path / folder).rename(tmp_path / "elsewhere")

    assert f"{folder}: no {folder} folder; see docs/configuration.md" in problems_of(tmp_path)


def test_missing_platform_folder(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: no such platform folder"]


def usage_point_meter(meter_id: str, href: str, flow: str | None = None) -> str:
    """A meter of ext_conn1 (participant_2) that reads a Green Button UsagePoint."""
    attribute = "" if flow is None else f' flow_direction="{flow}"'
    return meter_xml(id=meter_id, connector="ext_conn1", participant="participant_2").replace(
        "  </meter>", f"    <usage_point{attribute}>{href}</usage_point>\n  </meter>"
    )


def ext_conn1_green_button_meters(platform: Platform) -> list[Meter]:
    """The meters of ext_conn1 that read a UsagePoint (the sample's ext_conn10 has one too)."""
    return [m for m in platform.meters if m.usage_point and m.connector == "ext_conn1"]


def takes_espi(root: Path) -> None:
    replace_in(
        root / "connectors" / "ext_conn1" / "properties.xml",
        '"file.formats">csv<',
        '"file.formats">csv,espi<',
    )


def test_meters_may_read_the_flows_of_one_usage_point(root: Path) -> None:
    takes_espi(root)
    write_meters(
        root / "meters" / "gb.xml",
        usage_point_meter("IN", "/UsagePoint/1", "forward"),
        usage_point_meter("OUT", "/UsagePoint/1", "reverse"),
        usage_point_meter("OTHER", "/UsagePoint/2"),
    )

    platform = load_platform(root)

    assert platform.connectors["ext_conn1"].formats == ("csv", "espi")
    assert {m.id: m.flow_direction for m in ext_conn1_green_button_meters(platform)} == {
        "IN": "forward",
        "OUT": "reverse",
        "OTHER": None,
    }


@pytest.mark.parametrize(
    "first_flow, second_flow", [(None, "forward"), ("net", "net"), (None, None)]
)
def test_a_flow_of_a_usage_point_is_one_meters(
    root: Path, first_flow: str | None, second_flow: str | None
) -> None:
    takes_espi(root)
    path = write_meters(
        root / "meters" / "gb.xml",
        usage_point_meter("A", "/UsagePoint/1", first_flow),
        usage_point_meter("B", "/UsagePoint/1", second_flow),
    )

    [problem] = problems_of(root)

    assert problem.startswith(
        f"meters/gb.xml:{line_of(path, 'id=', 2)}: usage_point: meter 'A' at "
        f"meters/gb.xml:{line_of(path, 'id=')} already reads "
    )
    assert "'/UsagePoint/1'" in problem


def test_a_usage_point_needs_a_connector_that_takes_green_button_files(root: Path) -> None:
    path = write_meters(root / "meters" / "gb.xml", usage_point_meter("A", "/UsagePoint/1"))

    assert problems_of(root) == [
        f"meters/gb.xml:{line_of(path, 'id=')}: usage_point: connector ext_conn1 takes csv "
        "files; a meter reads a UsagePoint from Green Button files: add espi to its "
        "file.formats, or remove the usage_point"
    ]


def test_the_documented_green_button_meters_pass_the_check(root: Path) -> None:
    documented = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    [example] = [block for block in documented.split("```xml\n")[1:] if "<usage_point" in block]
    takes_espi(root)
    (root / "meters" / "gb.xml").write_text(example.split("```")[0])

    platform = load_platform(root)

    assert {m.id: m.flow_direction for m in ext_conn1_green_button_meters(platform)} == {
        "GB-IN": "forward",
        "GB-OUT": "reverse",
    }


def test_without_platform_xml_the_landing_access_is_the_seed_s(root: Path) -> None:
    assert load_platform(root).settings.landing_access == "conditional_roles"


@pytest.mark.parametrize("mode", ["conditional_roles", "custom_role", "managed_folders"])
def test_platform_xml_chooses_the_landing_access(root: Path, mode: str) -> None:
    (root / "platform.xml").write_text(properties_xml([("landing.access", mode)]))
    assert load_platform(root).settings.landing_access == mode


def test_platform_xml_problems_come_with_the_connectors_(root: Path) -> None:
    settings = root / "platform.xml"
    settings.write_text(properties_xml([("landing.access", "managed_folders")] * 2))
    replace_in(root / "connectors" / "coned" / "properties.xml", ">kWh<", ">kwh<")

    problems = problems_of(root)

    assert problems[-1] == (
        f"platform.xml:{line_of(settings, 'managed', 2)}: landing.access: duplicate key; "
        f"first set on line {line_of(settings, 'managed')}"
    )
    assert problems[0].startswith("connectors/coned/properties.xml:")
