"""The platform on a Dagster instance kept in PostgreSQL, as deploy/dagster.yaml keeps it:
the checkout's instance settings with PostgreSQL storage, a real server, the real daemon
(sensor, run queue, pools, monitoring, retries) and webserver, several connectors' runs at
once; every uploaded file's readings arrive once, and no run is made twice."""

import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets import local_stack
from b8760_assets.config import load_platform
from b8760_assets.definitions import defs
from b8760_assets.landing.intake import read_manifest
from b8760_assets.landing.manifest import ACCEPTED
from b8760_assets.landing.sensors import CONNECTOR_TAG
from b8760_assets.layout import ConnectorLayout
from b8760_assets.meter_links import READINGS_MERGES_AT_ONCE
from b8760_assets.meter_registry import METERS_TABLE
from b8760_assets.partitions import HOUR, floor_hour, hour_of_partition
from b8760_assets.readings_table import READINGS_TABLE
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR, landing_bucket
from b8760_assets_tests.dagster_processes import (
    checkout_instance_config,
    graphql,
    own_instance,
    wait_for,
    webserver,
)
from b8760_assets_tests.landing_files import dated
from b8760_assets_tests.postgres_server import PostgresServer

FILES_PER_CONNECTOR = 4
HOURS_PER_FILE = 6
# A meter of each connector (the sample platform's meter XML), and where its files' hours begin.
METERS = {"coned": "3", "ext_conn1": "CHI-0001", "ext_conn10": "LDN-heat"}
FIRST_READING = datetime(2023, 6, 1, tzinfo=UTC)

RUNS_QUERY = """{ runsOrError { ... on Runs { results { runId status } } } }"""


@pytest.fixture
def instance(tmp_path: Path, postgres: PostgresServer) -> Iterator[dg.DagsterInstance]:
    """The checkout's dagster.yaml with its storage in a new PostgreSQL database."""
    config = checkout_instance_config()
    database = postgres.create_database(f"dagster_{os.urandom(4).hex()}")
    config["storage"] = {"postgres": {"postgres_db": database}}
    with own_instance(tmp_path, config) as instance:
        yield instance


def readings_csv(meter: str, first: datetime) -> bytes:
    """HOURS_PER_FILE hourly readings of `meter` from `first`, in the connector's unit."""
    rows = ["meter_id,start,end,value,unit,quality"]
    for n in range(HOURS_PER_FILE):
        start, end = first + n * HOUR, first + (n + 1) * HOUR
        rows.append(f"{meter},{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ},{n + 1},,A")
    return "\n".join(rows).encode() + b"\n"


def upload_files(layouts: dict[str, ConnectorLayout]) -> dict[str, set[str]]:
    """FILES_PER_CONNECTOR files per connector, with hours no other file has, uploaded during
    the last complete hour (the one the sensor asks for); the names, by connector."""
    storage = storage_resource()
    during_last_hour = floor_hour(datetime.now(UTC)) - HOUR / 2
    names: dict[str, set[str]] = {}
    for connector, layout in layouts.items():
        storage.ensure_bucket(layout.landing_bucket)
        names[connector] = set()
        for n in range(FILES_PER_CONNECTOR):
            name = f"readings-{n}.csv"
            first = FIRST_READING + n * HOURS_PER_FILE * HOUR
            written = storage.write(
                layout.landing_bucket,
                layout.landing_prefix + name,
                readings_csv(METERS[connector], first),
            )
            dated(written, at=during_last_hour + n * timedelta(microseconds=1))
            names[connector].add(name)
    return names


def finished_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun] | None:
    """The landing-zone sensor's runs, once one per connector has finished (the registry's
    run, made by the test, is not one of them)."""
    runs = [run for run in instance.get_runs() if CONNECTOR_TAG in run.tags]
    done = [run for run in runs if run.is_finished]
    return done if len(done) == len(METERS) and len(runs) == len(METERS) else None


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of (start, end) intervals that overlap at one moment."""
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, change in moments:
        running += change
        most = max(most, running)
    return most


def step_intervals(instance: dg.DagsterInstance, run_id: str, step: str) -> tuple[float, float]:
    events = [
        event
        for event in instance.all_logs(run_id)
        if event.step_key and event.step_key.endswith(step) and event.dagster_event
    ]
    [started] = [e.timestamp for e in events if e.dagster_event.is_step_start]
    [ended] = [e.timestamp for e in events if e.dagster_event.is_step_success]
    return started, ended


def run_interval(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    record = instance.get_run_record_by_id(run_id)
    assert record is not None and record.start_time and record.end_time
    return record.start_time, record.end_time


def test_connectors_run_at_once_on_a_postgres_instance_and_every_reading_arrives_once(
    instance: dg.DagsterInstance, start_daemon: Callable[[], subprocess.Popen]
) -> None:
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    layouts = {c: ConnectorLayout(platform.connectors[c], landing_bucket()) for c in METERS}
    uploaded = upload_files(layouts)
    registry = defs().get_assets_def(["warehouse", METERS_TABLE])
    # so that the readings link to their meters; on the daemon's instance, whose automation
    # would otherwise build the registry too (a run more than the connectors')
    registered = dg.materialize(
        [registry], instance=instance, resources={"warehouse": warehouse_resource()}
    )
    assert registered.success

    with webserver(local_stack.free_ports(1)[0]) as url:
        start_daemon()  # its landing-zone sensor asks for a run per connector, the queue runs them
        runs = wait_for("a finished run per connector", lambda: finished_runs(instance), 300)
        seen = graphql(url, RUNS_QUERY)["runsOrError"]["results"]

    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert sorted(run.tags[CONNECTOR_TAG] for run in runs) == sorted(METERS)  # once each
    assert all("dagster/parent_run_id" not in run.tags for run in runs)  # none retried
    assert {(r["runId"], r["status"]) for r in seen} == {
        (run_id, "SUCCESS") for run_id in [registered.run_id, *(run.run_id for run in runs)]
    }
    # Several connectors' runs at once; the readings' MERGEs no more at once than the pool's.
    assert most_at_once([run_interval(instance, run.run_id) for run in runs]) >= 2
    merges = [step_intervals(instance, run.run_id, "warehouse_meter_links") for run in runs]
    assert most_at_once(merges) <= READINGS_MERGES_AT_ONCE

    storage = storage_resource()
    for run in runs:
        layout = layouts[run.tags[CONNECTOR_TAG]]
        hour = hour_of_partition(run.tags["dagster/partition"])
        manifest, _ = read_manifest(storage, layout, hour)
        assert manifest.complete
        assert {(e.name, e.outcome) for e in manifest.files} == {
            (name, ACCEPTED) for name in uploaded[layout.connector.name]
        }
        assert list(storage.list(layout.landing_bucket, layout.landing_prefix)) == []

    rows = warehouse_resource().query(
        f"SELECT connector, source_file, COUNT(*) AS readings,"
        f" COUNT(DISTINCT interval_start) AS hours, LOGICAL_AND(meter_known) AS linked"
        f" FROM {READINGS_TABLE} GROUP BY connector, source_file"
    )
    assert sorted(tuple(row.values()) for row in rows) == (
        sorted(
            (connector, name, HOURS_PER_FILE, HOURS_PER_FILE, True)
            for connector, names in uploaded.items()
            for name in names
        )
    )
