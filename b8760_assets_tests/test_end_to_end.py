"""The whole platform on the local stack, as a connector and a participant see it: upload
through the GCS API as ext_conn1, a sensor tick, the run it asks for, an HTTP GET of the
meter-hour object, and the same readings in the warehouse, linked to their meters."""

import json
import urllib.request
from datetime import UTC, datetime

import dagster as dg
import pytest

from b8760_assets.landing.intake import read_manifest
from b8760_assets.layout import meter_hour_name
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import dated, upload
from b8760_assets_tests.own_platform import own_platform

# Naive times are America/Chicago (CST, UTC-6, in March before the DST change).
UPLOAD = b"""meter_id,start,end,value,unit,quality
CHI-0001,2022-03-01T08:00:00,2022-03-01T09:00:00,1.25,kWh,A
CHI-0001,2022-03-01T09:00:00-06:00,2022-03-01T10:00:00-06:00,1180,,E
CHI-W.01,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,2.5,gal,A
CHI-W.01,2022-03-01T14:15:00Z,2022-03-01T14:30:00Z,1,m3,A
UNREGISTERED-7,2022-03-01T14:00:00Z,2022-03-01T15:00:00Z,3,Wh,A
"""
GALLONS_PER_M3 = 1 / 0.003785411784


def test_upload_tick_run_download_and_warehouse(storage: StorageResource) -> None:
    platform = own_platform(storage)
    defs, resources, warehouse = platform.defs, platform.resources, platform.warehouse
    ext_conn1 = platform.layouts["ext_conn1"].connector
    landing = platform.layouts["ext_conn1"].landing_bucket
    # The connector uploads create-only through the JSON API, with the real client, during
    # the last complete hour (the hour the sensor's tick asks for).
    dated(
        storage.write(landing, "ext_conn1/meters-2022-03-01.csv", UPLOAD, content_type="text/csv"),
        at=floor_hour(datetime.now(UTC)) - HOUR / 2,
    )
    platform.register_meters()

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
    # What the UI shows of the run: each asset's row count, and a link to the hour's manifest.
    metadata = {
        name: run.asset_materializations_for_node(f"ext_conn1__{name}")[0].metadata
        for name in ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
    }
    assert {name: m["dagster/row_count"].value for name, m in metadata.items()} == {
        "raw_landing_files": 5, "standardized_readings": 5, "warehouse_meter_links": 5
    }  # fmt: skip
    with urllib.request.urlopen(metadata["raw_landing_files"]["manifest"].value) as response:
        manifest = json.load(response)
    assert [entry["name"] for entry in manifest["files"]] == ["meters-2022-03-01.csv"]

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


def test_a_value_that_overflows_in_its_meters_unit_is_refused_and_the_hour_goes_on(
    storage: StorageResource,
) -> None:
    """1.7e308 gal is a number; times CHI-W.01's multiplier of 10 it is not. 1e306 kWh is a
    number; in CHI-0001's Wh it is not. Neither may reach an object, a batch or the warehouse,
    and the hour's good file goes through whole."""
    platform = own_platform(storage)
    platform.register_meters()
    layout = platform.layouts["ext_conn1"]
    hour = datetime(2022, 3, 1, 14, tzinfo=UTC)
    header = b"meter_id,start,end,value,unit\n"
    upload(
        storage,
        layout,
        "good.csv",
        header + b"CHI-0001,2022-03-01T14:00:00Z,2022-03-01T15:00:00Z,5,Wh\n",
    )
    upload(storage, layout, "gallons.csv", header
           + b"CHI-W.01,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,1,gal\n"
           + b"CHI-W.01,2022-03-01T14:15:00Z,2022-03-01T14:30:00Z,1.7e308,gal\n")  # fmt: skip
    upload(storage, layout, "kwh.csv", header
           + b"CHI-0001,2022-03-01T16:00:00Z,2022-03-01T17:00:00Z,1e306,kWh\n")  # fmt: skip

    run = platform.run("ext_conn1", hour)

    assert run.success
    manifest, _ = read_manifest(storage, layout, hour)
    refused = {e.name: e.rejection for e in manifest.files if e.rejection is not None}
    assert {name: (r.rule, r.line) for name, r in refused.items()} == {
        "gallons.csv": ("value.overflows", 3),
        "kwh.csv": ("value.overflows", 2),
    }
    assert "CHI-W.01" in refused["gallons.csv"].message
    assert "multiplier 10.0" in refused["gallons.csv"].message
    assert "1e+306 kWh" in refused["kwh.csv"].message
    objects = [o.name for o in storage.list(layout.bucket, "ext_conn1/standardized/")]
    assert objects == ["ext_conn1/standardized/CHI-0001/2022-03-01T14:00:00"]
    rows = platform.warehouse.query("SELECT meter_id, value FROM readings")
    assert [(r["meter_id"], r["value"]) for r in rows] == [("CHI-0001", 5.0)]
