"""Staging tables that a run killed in the warehouse step leaves are dropped by a later run,
once the run is no longer in progress, and never while it is."""

import io
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from b8760_assets.config import load_platform
from b8760_assets.definitions import defs
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import partition_of_hour
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR, landing_bucket
from b8760_assets.staging_tables import (
    STAGING_PREFIX,
    drop_left_staging_tables,
    left_behind,
    staging_table,
)
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.dagster_processes import CHECKOUT, checkout_instance_config, own_instance
from b8760_assets_tests.warehouse_rows import readings_rows

DAGSTER = str(Path(sys.executable).parent / "dagster")
KEY = dg.AssetKey(["ext_conn1", "warehouse_meter_links"])
HOUR = datetime(2022, 3, 1, 14, tzinfo=UTC)
# Enough readings that loading and merging them outlasts noticing the staging table.
ROWS = 300_000


def test_left_behind_are_the_staging_tables_of_runs_not_in_progress() -> None:
    going = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    done = "fedcba98-7654-3210-0123-456789abcdef"
    tables = [
        "readings",
        "meters",
        "staging_notes",  # not a run's: no run id
        staging_table("ext", going),  # a prefix of ext_conn1: still a run's table of its own
        staging_table("ext_conn1", done),
        staging_table("ext_conn10", done),
    ]

    assert left_behind(tables, [going]) == [
        staging_table("ext_conn1", done),
        staging_table("ext_conn10", done),
    ]
    assert left_behind(tables, [going, done]) == []


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """dagster.yaml's instance, on a local stack of its own (the default dataset and buckets)."""
    with own_instance(tmp_path, checkout_instance_config()) as instance:
        yield instance


def staging_tables(warehouse: WarehouseResource) -> list[str]:
    return [table for table in warehouse.list_tables() if table.startswith(STAGING_PREFIX)]


def test_a_table_left_by_a_killed_run_is_dropped_once_the_run_is_failed(
    instance: dg.DagsterInstance,
) -> None:
    location = defs()
    asset = location.get_assets_def(KEY)
    storage, warehouse = storage_resource(), warehouse_resource()
    resources = {"storage": storage, "warehouse": warehouse}
    assert dg.materialize(
        [location.get_assets_def(["warehouse", "meters"])], resources=resources
    ).success
    layout = ConnectorLayout(
        load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"], landing_bucket()
    )
    batch = io.BytesIO()
    pq.write_table(readings_rows(ROWS), batch)
    storage.ensure_bucket(layout.bucket)
    storage.write(layout.bucket, layout.batch(HOUR), batch.getvalue())
    partition = partition_of_hour(HOUR)

    materializing = subprocess.Popen(
        [DAGSTER, "asset", "materialize", "-m", "b8760_assets.definitions",
         "--select", "ext_conn1/warehouse_meter_links", "--partition", partition],
        cwd=CHECKOUT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not staging_tables(warehouse):
        assert materializing.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(materializing.pid, signal.SIGKILL)
    materializing.wait()
    [killed] = instance.get_runs()
    [left] = staging_tables(warehouse)
    assert left == staging_table("ext_conn1", killed.run_id)

    # Until run monitoring says so, the killed run is in progress: its table stays.
    drop_left_staging_tables(warehouse, instance, log=logging.getLogger().info)
    assert staging_tables(warehouse) == [left]
    # Its warehouse step holds the readings' MERGE pool's one slot: no other step would run.
    assert killed.run_id in instance.event_log_storage.get_concurrency_run_ids()

    monitor_started_run(
        instance, None, instance.get_run_record_by_id(killed.run_id), logging.getLogger()
    )
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    # The daemon frees a failed run's slots (dagster.yaml: free_slots_after_run_end_seconds).
    time.sleep(instance.run_monitoring_settings["free_slots_after_run_end_seconds"] + 0.5)
    list(
        execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger())
    )
    assert killed.run_id not in instance.event_log_storage.get_concurrency_run_ids()
    later = dg.materialize([asset], instance=instance, partition_key=partition, resources=resources)
    assert later.success
    assert staging_tables(warehouse) == []
    assert any(
        f"dropped b8760.{left}" in event.message for event in instance.all_logs(later.run_id)
    )
