"""A utility's "Download My Data" file through the platform's real path on the local stack:
coned reading it by its layout (file.csv.*), uploaded to the landing zone, its hour
materialized, and both DST days of its meter in the meter-hour objects and the warehouse, as
the exact UTC hours: 23 on the spring day, 25 on the fall day."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from b8760_assets.landing.intake import read_manifest
from b8760_assets.layout import meter_hour_name
from b8760_assets.storage import StorageResource
from b8760_assets_tests.config_files import copy_sample_platform, meter_xml, replace_in
from b8760_assets_tests.download_my_data import FALL, LAYOUT, METER, SPRING, file_of, intervals
from b8760_assets_tests.landing_files import upload
from b8760_assets_tests.own_platform import own_platform

ZONE = "America/New_York"
ARRIVAL = datetime(2021, 11, 8, 14, tzinfo=UTC)


def platform_reading_download_my_data(tmp_path: Path) -> Path:
    """The sample platform, coned reading its files by the Download My Data layout, and the
    layout's meter DMD-1 (kWh, in New York)."""
    root = copy_sample_platform(tmp_path)
    entries = "".join(f'  <entry key="{key}">{value}</entry>\n' for key, value in LAYOUT.items())
    replace_in(
        root / "connectors" / "coned" / "properties.xml", "</properties>", entries + "</properties>"
    )
    replace_in(
        root / "meters" / "coned.xml",
        "</meters>",
        meter_xml(id=METER, site="Download My Data house") + "\n</meters>",
    )
    return root


def test_a_download_my_data_file_reaches_its_meters_hours_on_both_dst_days(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = own_platform(storage, root=platform_reading_download_my_data(tmp_path))
    platform.register_meters()
    layout = platform.layouts["coned"]
    upload(storage, layout, "usage.csv", file_of([SPRING, FALL], ZONE))

    run = platform.run("coned", ARRIVAL)

    assert run.success
    manifest, _ = read_manifest(storage, layout, ARRIVAL)
    assert [(e.name, e.outcome, e.readings) for e in manifest.files] == [
        ("usage.csv", "accepted", 48)
    ]
    expected = intervals([SPRING, FALL], ZONE)
    spring = [each for each in expected if each.start < datetime(2021, 6, 1, tzinfo=UTC)]
    fall = expected[len(spring) :]
    assert (len(spring), len(fall)) == (23, 25)
    # Every UTC hour of both days, one after the other, and nothing else.
    for day, first, hours in (
        (spring, datetime(2021, 3, 14, 5, tzinfo=UTC), 23),
        (fall, datetime(2021, 11, 7, 4, tzinfo=UTC), 25),
    ):
        assert [each.start for each in day] == [first + timedelta(hours=n) for n in range(hours)]
    for interval in expected:
        stored = json.loads(
            storage.read(layout.bucket, meter_hour_name("coned", METER, interval.start)).data
        )["intervals"]
        assert [(s["start"], s["end"], s["value"]) for s in stored] == [
            (
                f"{interval.start:%Y-%m-%dT%H:%M:%SZ}",
                f"{interval.end:%Y-%m-%dT%H:%M:%SZ}",
                interval.value,
            )
        ]
    locals_of_the_repeated_hour = [
        json.loads(
            storage.read(
                layout.bucket,
                meter_hour_name("coned", METER, datetime(2021, 11, 7, hour, tzinfo=UTC)),
            ).data
        )["intervals"][0]["local_start"]
        for hour in (5, 6)
    ]
    assert locals_of_the_repeated_hour == ["2021-11-07T01:00:00-04:00", "2021-11-07T01:00:00-05:00"]
    rows = platform.warehouse.query(
        "SELECT DATE(interval_start, 'America/New_York') AS day, COUNT(*) AS hours, "
        f"SUM(value) AS kwh FROM readings WHERE meter_id = '{METER}' GROUP BY day ORDER BY day"
    )
    assert [(str(r["day"]), r["hours"], r["kwh"]) for r in rows] == [
        ("2021-03-14", 23, pytest.approx(sum(each.value for each in spring))),
        ("2021-11-07", 25, pytest.approx(sum(each.value for each in fall))),
    ]
