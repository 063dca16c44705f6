"""A Green Button file through the platform's real path on the local stack: uploaded to
ext_conn1's landing zone, its hour materialized, its readings in the meter-hour objects of
the meter that claims its UsagePoint and in the warehouse, and a channel no meter claims
reported in the hour's manifest; a register channel held to the sum of its intervals by
standardized_readings' check."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets.landing.intake import read_manifest
from b8760_assets.layout import meter_hour_name
from b8760_assets.standardized.validation_checks import CHECKS
from b8760_assets.storage import StorageResource
from b8760_assets.validation.rules import REGISTERS
from b8760_assets_tests.config_files import copy_sample_platform, replace_in
from b8760_assets_tests.espi_files import SAMPLES, channel, expected_intervals, feed, usage_points
from b8760_assets_tests.landing_files import upload
from b8760_assets_tests.own_platform import own_platform

SAMPLE = "electric_containerized"
ARRIVAL = datetime(2022, 3, 1, 14, tzinfo=UTC)


def platform_with_a_green_button_meter(tmp_path: Path) -> Path:
    """The sample platform, ext_conn1 taking Green Button files too, and its meter GB-1 (kWh,
    in Chicago) reading the sample's UsagePoint."""
    root = copy_sample_platform(tmp_path)
    replace_in(
        root / "connectors" / "ext_conn1" / "properties.xml",
        '"file.formats">csv<',
        '"file.formats">csv,espi<',
    )
    [point] = usage_points(SAMPLES / "data" / f"{SAMPLE}.xml")
    replace_in(
        root / "meters" / "ext_conn1.xml",
        "</meters>",
        """  <meter id="GB-1" connector="ext_conn1" participant="participant_2">
    <commodity>electricity</commodity>
    <unit>kWh</unit>
    <multiplier>1</multiplier>
    <timezone>America/Chicago</timezone>
    <site>Coastal multi-family</site>
    <usage_point flow_direction="forward">"""
        + point
        + """</usage_point>
  </meter>
</meters>""",
    )
    return root


def test_a_green_button_file_reaches_its_meters_hours(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = own_platform(storage, root=platform_with_a_green_button_meter(tmp_path))
    platform.register_meters()
    layout = platform.layouts["ext_conn1"]
    upload(storage, layout, "coastal.xml", (SAMPLES / "data" / f"{SAMPLE}.xml").read_bytes())
    unclaimed = feed(*channel("NOBODYS"))
    upload(storage, layout, "nobodys.xml", unclaimed)

    run = platform.run("ext_conn1", ARRIVAL)

    assert run.success
    manifest, _ = read_manifest(storage, layout, ARRIVAL)
    outcomes = {
        e.name: (e.outcome, e.readings, [n.rule for n in e.notices]) for e in manifest.files
    }
    assert outcomes == {
        "coastal.xml": ("accepted", 8, []),
        "nobodys.xml": ("accepted", 0, ["espi.unclaimed_readings"]),
    }
    expected = expected_intervals(SAMPLE)
    for interval in expected:
        name = meter_hour_name("ext_conn1", "GB-1", interval.start)
        [stored] = json.loads(storage.read(layout.bucket, name).data)["intervals"]
        assert stored["value"] == pytest.approx(interval.value / 1000)  # Wh in the meter's kWh
        assert stored["unit"] == "kWh"
    first = json.loads(
        storage.read(layout.bucket, meter_hour_name("ext_conn1", "GB-1", expected[0].start)).data
    )["intervals"][0]
    assert (first["start"], first["local_start"]) == (
        "2011-01-01T08:00:00Z",
        "2011-01-01T02:00:00-06:00",
    )
    rows = platform.warehouse.query(
        "SELECT COUNT(*) AS n, SUM(value) AS kwh FROM readings WHERE meter_id = 'GB-1'"
    )
    assert (rows[0]["n"], rows[0]["kwh"]) == (
        8,
        pytest.approx(sum(e.value for e in expected) / 1000),
    )
    materialized = run.asset_materializations_for_node("ext_conn1__raw_landing_files")
    assert "nobodys.xml" in materialized[0].metadata["notices"].value


def register_check(run: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [found] = [
        each for each in run.get_asset_check_evaluations() if each.check_name == CHECKS[REGISTERS]
    ]
    return found


def test_a_green_button_register_is_held_to_the_sum_of_its_intervals(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = own_platform(storage, root=platform_with_a_green_button_meter(tmp_path))
    platform.register_meters()
    layout = platform.layouts["ext_conn1"]
    derived = SAMPLES.parent / "derived"
    later = ARRIVAL + timedelta(hours=1)
    upload(storage, layout, "register.xml",
           (derived / "electric_containerized_register.xml").read_bytes(),
           at=ARRIVAL + timedelta(minutes=5))  # fmt: skip

    consistent = platform.run("ext_conn1", ARRIVAL)
    upload(storage, layout, "register_off.xml",
           (derived / "electric_containerized_register_off.xml").read_bytes(),
           at=later + timedelta(minutes=5))  # fmt: skip
    tampered = platform.run("ext_conn1", later)

    assert consistent.success and tampered.success  # a WARN check does not fail the run
    [entry] = read_manifest(storage, layout, ARRIVAL)[0].files
    assert (entry.outcome, entry.readings) == ("accepted", 8)
    assert entry.checked_registers == layout.checked_registers(ARRIVAL, "register.xml")
    passed, failed = register_check(consistent), register_check(tampered)
    assert passed.passed and passed.metadata["cases"].value == 0
    # 5 spans between 6 reads: 12:00-20:00 has no intervals in the file, so is not judged
    assert passed.metadata["register_spans_judged"].value == 4
    assert passed.metadata["register_spans_not_covered"].value == 1
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.WARN
    assert (failed.metadata["meters"].value, failed.metadata["cases"].value) == (1, 2)
    assert failed.metadata["first_cases"].value.splitlines()[2:] == [
        "| GB-1 | 2011-01-01 | 2 | from 2011-01-01T20:00Z to 2011-01-01T22:00Z: register delta "
        "1.286 kWh, interval sum 1.186 kWh |",
        "| GB-1 | 2011-01-01 | 2 | from 2011-01-01T22:00Z to 2011-01-02T00:00Z: register delta "
        "1.092 kWh, interval sum 1.192 kWh |",
    ]
    rows = platform.warehouse.query("SELECT COUNT(*) AS n FROM readings WHERE meter_id = 'GB-1'")
    assert rows[0]["n"] == 8  # the register reads are no readings
