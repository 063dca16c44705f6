"""A run whose processes die for real: the instance of dagster.yaml, the real daemon and run
launcher, SIGKILL, and the retry that finishes what the dead run claimed."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets.config import load_platform
from b8760_assets.landing.intake import read_manifest
from b8760_assets.landing.manifest import ACCEPTED
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR, floor_hour, hour_of_partition
from b8760_assets.resources import storage_resource
from b8760_assets.run_launcher import is_alive_since, run_worker
from b8760_assets.settings import SAMPLE_PLATFORM_DIR, landing_bucket
from b8760_assets_tests.dagster_processes import checkout_instance_config, own_instance, wait_for
from b8760_assets_tests.landing_files import GOOD_CSV, dated
from b8760_assets_tests.stored_objects import write_all

# Enough files that moving them takes longer than noticing that the run began to.
FILES = 100


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """dagster.yaml's instance on a local stack of its own, its monitoring polled every second
    (instead of dagster.yaml's 30 s) so that the test takes seconds."""
    config = checkout_instance_config()
    config["run_monitoring"]["poll_interval_seconds"] = 1
    with own_instance(tmp_path, config) as instance:
        yield instance


def taking_in(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """The run that has frozen its hour and is about to move the files (it logged so)."""
    for run in instance.get_runs():
        if any("file(s) to take in" in event.message for event in instance.all_logs(run.run_id)):
            return run
    return None


def succeeded_retry(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun | None:
    retries = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}))
    return next((r for r in retries if r.status == dg.DagsterRunStatus.SUCCESS), None)


def test_a_run_killed_with_its_code_server_is_failed_and_its_retry_finishes_the_files(
    instance: dg.DagsterInstance, start_daemon: Callable[[], subprocess.Popen]
) -> None:
    """SIGKILL of the daemon's process group (daemon, code server, run worker: what the OOM
    killer of a cgroup or a container restart does) while the run holds its claims. The code
    server, the only process that would have noticed, dies with the run; the next daemon's run
    monitoring must fail the run, and run_retries' rerun finish the claimed files."""
    storage = storage_resource()
    layout = ConnectorLayout(
        load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"], landing_bucket()
    )
    storage.ensure_bucket(layout.landing_bucket)
    written = write_all(
        storage,
        layout.landing_bucket,
        [(f"{layout.landing_prefix}reading-{n:03d}.csv", GOOD_CSV) for n in range(FILES)],
    )
    # Uploaded during the last complete hour, the one the sensor asks for.
    during_last_hour = floor_hour(datetime.now(UTC)) - HOUR / 2
    for n, upload in enumerate(written):
        dated(upload, at=during_last_hour + n * timedelta(microseconds=1))
    first = start_daemon()  # its sensor asks for a run of ext_conn1's last complete hour

    run = wait_for("a run taking its files in", lambda: taking_in(instance), 60)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    pid, started_at = run_worker(instance, run.run_id)
    wait_for("the run worker gone", lambda: not is_alive_since(pid, started_at), 10)
    hour = hour_of_partition(run.tags["dagster/partition"])
    frozen, _ = read_manifest(storage, layout, hour)
    left = list(storage.list(layout.landing_bucket, layout.landing_prefix))
    assert len(frozen.files) == FILES and not frozen.complete and left  # died holding claims
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED

    start_daemon()
    wait_for(
        "the dead run marked failed",
        lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE,
        30,
    )
    failed_after = time.monotonic() - killed_at
    retry = wait_for("its retry succeeded", lambda: succeeded_retry(instance, run), 60)
    retried_after = time.monotonic() - killed_at
    print(f"killed run failed after {failed_after:.1f} s, retried by {retried_after:.1f} s")

    messages = [event.message for event in instance.all_logs(run.run_id)]
    assert any(f"run worker pid {pid} is gone" in message for message in messages)
    assert retry.tags["dagster/retry_number"] == "1"
    assert retry.tags["dagster/partition"] == run.tags["dagster/partition"]
    finished, _ = read_manifest(storage, layout, hour)
    assert finished.complete and {e.outcome for e in finished.files} == {ACCEPTED}
    assert list(storage.list(layout.landing_bucket, layout.landing_prefix)) == []
    assert list(storage.list(layout.bucket, layout.claims_prefix)) == []


def test_a_pid_counts_only_for_the_process_that_recorded_it() -> None:
    """A live process started before the record is the run worker; a dead one, a zombie, or
    a process that started after the record (the pid reused) is not."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert is_alive_since(process.pid, time.time())
        assert not is_alive_since(process.pid, time.time() - 3600)  # a later process, same pid
        process.kill()
        time.sleep(0.5)
        assert not is_alive_since(process.pid, time.time())  # a zombie: exited, not reaped
    finally:
        process.kill()
        process.wait()
    assert not is_alive_since(process.pid, time.time())
