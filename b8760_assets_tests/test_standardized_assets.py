"""standardized_readings with `materialize()` on the real fake-gcs-server: replaying arrival
hours in any order, any number of times, leaves the same meter-hour objects."""

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b8760_assets.config import load_platform
from b8760_assets.landing.csv_format import CsvFormat
from b8760_assets.landing.intake import take_in_hour, take_in_hours
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR, partition_of_hour, range_run_tags
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.standardized import assets as standardized_assets
from b8760_assets.standardized.assets import UNIT_CHECK, build_standardized_readings
from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import upload

H = datetime(2022, 3, 1, 14, tzinfo=UTC)
# Three arrival hours; the later ones correct readings of the earlier ones.
ARRIVALS = [
    b"meter_id,start,end,value,unit\n"
    b"CHI-0001,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,10,Wh\n"
    b"CHI-0001,2022-03-01T14:15:00Z,2022-03-01T14:30:00Z,11,Wh\n"
    b"CHI-0002,2022-03-01T15:00:00Z,2022-03-01T15:15:00Z,20,Wh\n",
    b"meter_id,start,end,value,unit\n"
    b"CHI-0001,2022-03-01T14:15:00Z,2022-03-01T14:30:00Z,1.2,kWh\n"
    b"CHI-0001,2022-03-01T14:30:00Z,2022-03-01T14:45:00Z,13,Wh\n",
    b"meter_id,start,end,value,unit\n"
    b"CHI-0002,2022-03-01T15:00:00Z,2022-03-01T15:15:00Z,21,Wh\n"
    b"CHI-0001,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,14,Wh\n",
]
EXPECTED_VALUES = {
    "ext_conn1/standardized/CHI-0001/2022-03-01T14:00:00": [14.0, 1200.0, 13.0],
    "ext_conn1/standardized/CHI-0002/2022-03-01T15:00:00": [21.0],
}


def arrived(storage: StorageResource) -> ConnectorLayout:
    """A participant bucket where the three hours' files have been taken in."""
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    suffix = os.urandom(5).hex()
    layout = ConnectorLayout(replace(connector, bucket=f"p-{suffix}"), f"l-{suffix}")
    storage.ensure_bucket(layout.bucket)
    storage.ensure_bucket(layout.landing_bucket)
    for offset, data in enumerate(ARRIVALS):
        uploaded_at = H + offset * HOUR + timedelta(minutes=10)
        upload(storage, layout, f"readings-{offset}.csv", data, at=uploaded_at)
        take_in_hour(storage, layout, H + offset * HOUR)
    return layout


def standardized_objects(storage: StorageResource, layout: ConnectorLayout) -> dict[str, bytes]:
    prefix = f"{layout.connector.name}/standardized/"
    return {
        o.name: storage.read(o.bucket, o.name).data for o in storage.list(layout.bucket, prefix)
    }


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.integers(0, 2), min_size=1, max_size=5))
def test_replays_in_any_order_leave_the_same_objects(storage: StorageResource, order) -> None:
    layout = arrived(storage)
    asset = build_standardized_readings(layout, meters(layout))
    hours = [*order, 0, 1, 2]  # whatever came first, every hour is applied at least once
    for offset in hours:
        partition = partition_of_hour(H + offset * HOUR)
        assert dg.materialize(
            [asset], partition_key=partition, resources={"storage": storage}
        ).success

    objects = standardized_objects(storage, layout)
    assert objects == reference_objects(storage)
    values = {
        name: [i["value"] for i in json.loads(data)["intervals"]] for name, data in objects.items()
    }
    assert values == EXPECTED_VALUES  # the newest version of each interval, in the meter's Wh


_reference: dict[str, bytes] = {}


def reference_objects(storage: StorageResource) -> dict[str, bytes]:
    """The objects after applying the hours once, in arrival order (computed once)."""
    if not _reference:
        layout = arrived(storage)
        asset = build_standardized_readings(layout, meters(layout))
        for offset in range(3):
            partition = partition_of_hour(H + offset * HOUR)
            dg.materialize([asset], partition_key=partition, resources={"storage": storage})
        _reference.update(standardized_objects(storage, layout))
    return _reference


def meters(layout: ConnectorLayout) -> dict:
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    return {meter.id: meter for meter in platform.meters_of(layout.connector.name)}


def batch_names(storage: StorageResource, layout: ConnectorLayout) -> list[str]:
    return [o.name for o in storage.list(layout.bucket, layout.batches_prefix)]


def test_a_range_writes_batches_only_for_hours_with_readings(
    storage: StorageResource, monkeypatch
) -> None:
    layout = arrived(storage)
    take_in_hours(storage, layout, [H + offset * HOUR for offset in range(3, 6)])  # empty
    asset = build_standardized_readings(layout, meters(layout))
    monkeypatch.setattr(standardized_assets, "MERGE_ROWS", 1)  # merged a row at a time
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset],
            instance=instance,
            resources={"storage": storage},
            tags=range_run_tags(H, H + 5 * HOUR),
        )
    assert result.success
    assert batch_names(storage, layout) == [
        f"ext_conn1/batches/2022-03-01T{hour}:00:00.parquet" for hour in (14, 15, 16)
    ]
    objects = standardized_objects(storage, layout)
    values = {
        name: [i["value"] for i in json.loads(data)["intervals"]] for name, data in objects.items()
    }
    assert values == EXPECTED_VALUES  # merged in several parts, the same newest versions


def test_an_hour_whose_files_give_no_readings_now_loses_its_batch(
    storage: StorageResource,
) -> None:
    layout = arrived(storage)
    partition = partition_of_hour(H)
    assert dg.materialize(
        [build_standardized_readings(layout, meters(layout))],
        partition_key=partition,
        resources={"storage": storage},
    ).success
    assert batch_names(storage, layout)[0].endswith("2022-03-01T14:00:00.parquet")
    # The meters are described again in a unit of another dimension: no reading converts.
    in_gallons = {
        meter_id: replace(meter, unit="gal") for meter_id, meter in meters(layout).items()
    }

    result = dg.materialize(
        [build_standardized_readings(layout, in_gallons)],
        partition_key=partition,
        resources={"storage": storage},
    )

    assert result.success
    assert batch_names(storage, layout) == []
    [check] = [
        each for each in result.get_asset_check_evaluations() if each.check_name == UNIT_CHECK
    ]
    assert not check.passed and check.metadata["readings_left_out"].value == 3


def test_an_hour_never_taken_in_is_a_clear_error(storage: StorageResource) -> None:
    layout = arrived(storage)
    result = dg.materialize(
        [build_standardized_readings(layout, meters(layout))],
        partition_key=partition_of_hour(H + 10 * HOUR),
        resources={"storage": storage},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.to_string()  # with its cause
    assert "2022-03-02T00:00:00/_manifest.json does not exist" in message
    assert "materialize ext_conn1/raw_landing_files for them first" in message


def test_standardization_reads_the_checked_readings_never_the_file(
    storage: StorageResource, monkeypatch
) -> None:
    """The landing check's verdict and readings are standardization's only input: a file is
    parsed and checked once, so no second verdict can come after objects were written."""
    layout = arrived(storage)
    monkeypatch.setattr(
        CsvFormat, "read_batches", lambda *args: pytest.fail("a file was parsed again")
    )
    asset = build_standardized_readings(layout, meters(layout))
    for offset in range(3):
        partition = partition_of_hour(H + offset * HOUR)
        assert dg.materialize(
            [asset], partition_key=partition, resources={"storage": storage}
        ).success
    values = {
        name: [i["value"] for i in json.loads(data)["intervals"]]
        for name, data in standardized_objects(storage, layout).items()
    }
    assert values == EXPECTED_VALUES
