"""Estimation through the real chain (`materialize()` on the local stack, a connector whose
properties.xml sets validation.estimate.max.minutes): a short gap is filled, flagged, in the
meter-hour object and in `readings`; a real reading of an estimated interval replaces the
estimate whenever it was uploaded, and an estimate never replaces a real reading."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from b8760_assets.layout import meter_hour_name
from b8760_assets.partitions import HOUR
from b8760_assets.storage import StorageResource
from b8760_assets_tests.config_files import copy_sample_platform, replace_in
from b8760_assets_tests.landing_files import upload
from b8760_assets_tests.own_platform import OwnPlatform, own_platform

CONNECTOR = "ext_conn1"
METER = "CHI-0001"  # Wh, multiplier 1: values come through as uploaded
H = datetime(2022, 3, 1, 14, tzinfo=UTC)
QUARTERS = [H + timedelta(minutes=15 * n) for n in range(4)]


def estimating_platform(storage: StorageResource, tmp_path: Path) -> OwnPlatform:
    """The sample platform with ext_conn1 estimating gaps of up to 30 minutes."""
    root = copy_sample_platform(tmp_path)
    replace_in(
        root / "connectors" / CONNECTOR / "properties.xml",
        "</properties>",
        '  <entry key="validation.estimate.max.minutes">30</entry>\n</properties>',
    )
    platform = own_platform(storage, root=root)
    platform.register_meters()
    return platform


def readings_csv(values: dict[datetime, float]) -> bytes:
    rows = [
        f"{METER},{start:%Y-%m-%dT%H:%M:%SZ},{start + timedelta(minutes=15):%Y-%m-%dT%H:%M:%SZ},"
        f"{value},Wh,A"
        for start, value in sorted(values.items())
    ]
    return ("meter_id,start,end,value,unit,quality\n" + "\n".join(rows) + "\n").encode()


def in_object(platform: OwnPlatform) -> list[tuple]:
    """(start, value, quality, validation) of each interval of the meter's 14:00 object."""
    layout = platform.layouts[CONNECTOR]
    content = platform.storage.read(layout.bucket, meter_hour_name(CONNECTOR, METER, H)).data
    return [
        (datetime.fromisoformat(each["start"]), each["value"], each["quality"], each["validation"])
        for each in json.loads(content)["intervals"]
    ]


def in_warehouse(platform: OwnPlatform) -> list[tuple]:
    rows = platform.warehouse.query(
        "SELECT interval_start, value, quality, validation FROM readings "
        f"WHERE meter_id = '{METER}' ORDER BY interval_start"
    )
    return [(r["interval_start"], r["value"], r["quality"], r["validation"]) for r in rows]


def upload_and_run(platform: OwnPlatform, name: str, values: dict, at: datetime) -> int:
    """Upload a file, run its hour; the intervals the run estimated (its metadata)."""
    upload(platform.storage, platform.layouts[CONNECTOR], name, readings_csv(values), at=at)
    result = platform.run(CONNECTOR, at.replace(minute=0, second=0, microsecond=0))
    assert result.success
    [standardized] = result.asset_materializations_for_node(f"{CONNECTOR}__standardized_readings")
    return standardized.metadata["estimated_intervals"].value


def test_a_gap_is_estimated_then_replaced_by_the_real_reading(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = estimating_platform(storage, tmp_path)
    first, second, third, fourth = QUARTERS
    at = H + timedelta(minutes=10)
    assert upload_and_run(platform, "day.csv", {first: 10.0, fourth: 40.0}, at) == 2

    estimated = [
        (first, 10.0, "A", "validated"),
        (second, 20.0, "E", "estimated"),
        (third, 30.0, "E", "estimated"),
        (fourth, 40.0, "A", "validated"),
    ]
    assert in_object(platform) == estimated
    assert in_warehouse(platform) == estimated

    assert upload_and_run(platform, "late.csv", {second: 17.0}, at + 2 * HOUR) == 0
    replaced = [estimated[0], (second, 17.0, "A", "validated"), *estimated[2:]]
    assert in_object(platform) == replaced
    assert in_warehouse(platform) == replaced

    assert platform.run(CONNECTOR, H).success  # a replay of the estimating hour
    assert in_object(platform) == replaced
    assert in_warehouse(platform) == replaced


def test_a_later_estimate_does_not_replace_a_real_reading(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = estimating_platform(storage, tmp_path)
    first, second, third, fourth = QUARTERS
    at = H + timedelta(minutes=10)
    assert upload_and_run(platform, "second.csv", {second: 17.0}, at) == 0
    # A resend of the hour without that reading, uploaded later: its gap is estimated.
    resend = {first: 10.0, fourth: 40.0}
    assert upload_and_run(platform, "resend.csv", resend, at + 2 * HOUR) == 2

    kept = [
        (first, 10.0, "A", "validated"),
        (second, 17.0, "A", "validated"),
        (third, 30.0, "E", "estimated"),
        (fourth, 40.0, "A", "validated"),
    ]
    assert in_object(platform) == kept
    assert in_warehouse(platform) == kept
