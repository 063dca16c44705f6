"""A week of one connector backfilled from the UI's GraphQL, as the webserver's Materialize
dialog launches it: `launchPartitionBackfill` with the connector's asset selection and the
week's 168 hours, the real daemon and run launcher on dagster.yaml's instance. The assets'
single-run policy makes it one run (a job backfill would make 168: dagster-io/dagster#17404)."""

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets import local_stack
from b8760_assets.config import load_platform
from b8760_assets.landing.intake import read_manifest
from b8760_assets.landing.manifest import ACCEPTED
from b8760_assets.layout import ConnectorLayout
from b8760_assets.meter_registry import build_meter_registry
from b8760_assets.partitions import HOUR, partition_of_hour
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR, landing_bucket
from b8760_assets_tests.dagster_processes import (
    checkout_instance_config,
    graphql,
    own_instance,
    wait_for,
    webserver,
)
from b8760_assets_tests.landing_files import GOOD_CSV, upload

CONNECTOR = "ext_conn1"
CHAIN = ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
WEEK_START = datetime(2022, 3, 7, tzinfo=UTC)
WEEK = [WEEK_START + n * HOUR for n in range(7 * 24)]
# A few files, in hours spread over the week.
UPLOADED = {WEEK[5]: "monday.csv", WEEK[60]: "wednesday.csv", WEEK[160]: "sunday.csv"}

SENSOR_ID = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { ... on Sensor { id } }
}"""
STOP_SENSOR = """
mutation ($id: String!) { stopSensor(id: $id) { __typename } }
"""
LAUNCH = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs { runId status } }
  }
}"""
# A backfill's statuses once it has nothing left to do.
ENDED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with own_instance(tmp_path, checkout_instance_config()) as instance:
        yield instance


def stop_landing_zone_sensor(url: str) -> None:
    """Switched off as an operator would in the UI: it would take the week's uploads, waiting
    in the landing zone, into the last complete hour instead."""
    selector = {
        "repositoryLocationName": "b8760",
        "repositoryName": "__repository__",
        "sensorName": "landing_zone_sensor",
    }
    sensor = graphql(url, SENSOR_ID, {"selector": selector})["sensorOrError"]
    stopped = graphql(url, STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]
    assert stopped["__typename"] == "StopSensorMutationResult", stopped


def ended(url: str, backfill_id: str) -> dict | None:
    backfill = graphql(url, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    finished = all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in backfill["runs"])
    return backfill if backfill["status"] in ENDED and finished else None


def test_a_week_of_a_connector_backfilled_through_graphql_is_one_run(
    instance: dg.DagsterInstance, start_daemon: Callable[[], subprocess.Popen]
) -> None:
    storage = storage_resource()
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    layout = ConnectorLayout(platform.connectors[CONNECTOR], landing_bucket())
    # The readings' links need the registry: built on the daemon's instance, so that its
    # automation does not build it beside the backfill.
    registry = build_meter_registry(platform)
    assert dg.materialize(
        [registry], instance=instance, resources={"warehouse": warehouse_resource()}
    )
    storage.ensure_bucket(layout.landing_bucket)
    for hour, name in UPLOADED.items():
        upload(storage, layout, name, GOOD_CSV, at=hour + timedelta(minutes=20))

    with webserver(local_stack.free_ports(1)[0]) as url:
        stop_landing_zone_sensor(url)
        start_daemon()
        params = {
            "partitionNames": [partition_of_hour(hour) for hour in WEEK],
            "assetSelection": [{"path": [CONNECTOR, name]} for name in CHAIN],
        }
        launched = graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = wait_for(
            "the backfill done", lambda: ended(url, launched["backfillId"]), 180, every_s=1
        )

    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    [run] = [r for r in instance.get_runs() if r.tags.get("dagster/backfill")]
    assert [r["runId"] for r in backfill["runs"]] == [run.run_id]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/asset_partition_range_start"] == partition_of_hour(WEEK[0])
    assert run.tags["dagster/asset_partition_range_end"] == partition_of_hour(WEEK[-1])
    assert run.asset_selection == {dg.AssetKey([CONNECTOR, name]) for name in CHAIN}
    for hour, name in UPLOADED.items():  # each file taken in by the hour it arrived in
        manifest, _ = read_manifest(storage, layout, hour)
        assert [(e.name, e.outcome) for e in manifest.files] == [(name, ACCEPTED)]
    assert list(storage.list(layout.landing_bucket, layout.landing_prefix)) == []
