"""standardized_readings with `materialize()` on the real fake-gcs-server: replaying arrival
hours in any order, any number of times, leaves the same meter-hour objects."""

import json
import os
from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b8760_assets.config import load_platform
from b8760_assets.landing.intake import take_in_hour
from b8760_assets.landing.layout import ConnectorLayout
from b8760_assets.partitions import HOUR, partition_of_hour
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.standardized.assets import build_standardized_readings
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
        upload(storage, layout, f"readings-{offset}.csv", data)
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
