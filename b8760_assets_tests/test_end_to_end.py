"""The whole platform on the local stack, as a connector and a participant see it: upload
through the GCS API as ext_conn1, a sensor tick, the run it asks for, an HTTP GET of the
meter-hour object, and the same readings in the warehouse, linked to their meters."""

import json
import os
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg
import pytest

from b8760_assets.config import load_platform
from b8760_assets.definitions import build_definitions
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.standardized.meter_hours import meter_hour_name
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource

# Naive times are America/Chicago (CST, UTC-6, in March before the DST change).
UPLOAD = b"""meter_id,start,end,value,unit,quality
CHI-0001,2022-03-01T08:00:00,2022-03-01T09:00:00,1.25,kWh,A
CHI-0001,2022-03-01T09:00:00-06:00,2022-03-01T10:00:00-06:00,1180,,E
CHI-W.01,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,2.5,gal,A
CHI-W.01,2022-03-01T14:15:00Z,2022-03-01T14:30:00Z,1,m3,A
UNREGISTERED-7,2022-03-01T14:00:00Z,2022-03-01T15:00:00Z,3,Wh,A
"""
GALLONS_PER_M3 = 1 / 0.003785411784


@pytest.fixture
def platform_defs(storage: StorageResource, monkeypatch: pytest.MonkeyPatch):
    """The sample platform's definitions, with buckets and a dataset of this test's own."""
    suffix = os.urandom(4).hex()
    monkeypatch.setenv("B8760_LANDING_BUCKET", f"landing-{suffix}")
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    connectors = {
        name: replace(connector, bucket=f"{connector.bucket.replace('_', '-')}-{suffix}")
        for name, connector in platform.connectors.items()
    }
    return build_definitions(replace(platform, connectors=connectors)), connectors["ext_conn1"]


def test_upload_tick_run_download_and_warehouse(
    storage: StorageResource, platform_defs, tmp_path
) -> None:
    defs, ext_conn1 = platform_defs
    warehouse = WarehouseResource(dataset=f"e2e_{os.urandom(4).hex()}")
    resources = {"storage": storage, "warehouse": warehouse}
    landing = os.environ["B8760_LANDING_BUCKET"]
    storage.ensure_bucket(landing)
    # The connector uploads create-only through the JSON API, with the real client.
    storage.write(landing, "ext_conn1/meters-2022-03-01.csv", UPLOAD, content_type="text/csv")
    assert dg.materialize(
        [defs.get_assets_def(["warehouse", "meters"])], resources=resources
    ).success

    sensor = defs.resolve_sensor_def("landing_zone_sensor")
    with dg.instance_for_test() as instance:
        tick = sensor(dg.build_sensor_context(instance=instance, resources=resources))
        [request] = tick.run_requests
        assets = [defs.get_assets_def(key) for key in request.asset_selection]
        run = dg.materialize(
            assets, instance=instance, partition_key=request.partition_key, resources=resources
        )
    assert run.success
    assert {key.path[-1] for key in request.asset_selection} == {
        "raw_landing_files", "standardized_readings", "warehouse_meter_links"
    }  # fmt: skip

    # A participant's HTTP GET of the seed's download contract.
    hour = datetime(2022, 3, 1, 14, tzinfo=UTC)
    url = storage.download_url(ext_conn1.bucket, meter_hour_name("ext_conn1", "CHI-0001", hour))
    assert "/o/ext_conn1%2Fstandardized%2FCHI-0001%2F2022-03-01T14:00:00?alt=media" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        document = json.load(response)
    [interval] = document["intervals"]
    assert (interval["start"], interval["end"]) == ("2022-03-01T14:00:00Z", "2022-03-01T15:00:00Z")
    assert interval["local_start"] == "2022-03-01T08:00:00-06:00"
    assert (interval["value"], interval["unit"]) == (1250.0, "Wh")  # 1.25 kWh in the meter's Wh
    water = json.loads(
        storage.read(ext_conn1.bucket, meter_hour_name("ext_conn1", "CHI-W.01", hour)).data
    )
    values = [i["value"] for i in water["intervals"]]
    assert values == pytest.approx([25.0, 10 * GALLONS_PER_M3])  # multiplier 10, in gal

    rows = warehouse.query(
        "SELECT meter_id, interval_start, value, unit, quality, meter_known FROM readings"
        " ORDER BY meter_id, interval_start"
    )
    assert [(r["meter_id"], r["interval_start"].isoformat(), r["meter_known"]) for r in rows] == [
        ("CHI-0001", "2022-03-01T14:00:00+00:00", True),
        ("CHI-0001", "2022-03-01T15:00:00+00:00", True),
        ("CHI-W.01", "2022-03-01T14:00:00+00:00", True),
        ("CHI-W.01", "2022-03-01T14:15:00+00:00", True),
        ("UNREGISTERED-7", "2022-03-01T14:00:00+00:00", False),
    ]
    assert [r["value"] for r in rows] == pytest.approx(
        [1250.0, 1180.0, 25.0, 10 * GALLONS_PER_M3, 3.0]
    )
    checks = {c.check_name: c for c in run.get_asset_check_evaluations()}
    assert not checks["readings_of_unknown_meters"].passed
    assert checks["readings_of_unknown_meters"].metadata["readings_per_unknown_meter"].value == {
        "UNREGISTERED-7": 1
    }
    assert checks["no_rejected_files"].passed
