"""Kill -9 at each storage call of an hour's run, then rerun: the participant's bucket, the
landing zone and the warehouse end as an uninterrupted run leaves them. Each killed run is a
real process (`crash_run`), killed by SIGKILL as the OOM killer would kill it."""

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg

from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import BAD_VALUE_CSV, GOOD_CSV, upload
from b8760_assets_tests.own_platform import OwnPlatform, own_platform

H = datetime(2022, 3, 1, 14, tzinfo=UTC)
CONNECTOR = "ext_conn1"


def prepared(storage: StorageResource) -> OwnPlatform:
    """A platform of its own with the hour's uploads waiting: one good file, one bad."""
    platform = own_platform(storage)
    platform.register_meters()
    layout = platform.layouts[CONNECTOR]
    upload(storage, layout, "good.csv", GOOD_CSV, at=H + timedelta(minutes=5))
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV, at=H + timedelta(minutes=6))
    return platform


def run_killed_at(platform: OwnPlatform, call_number: int) -> subprocess.CompletedProcess:
    suffix = platform.warehouse.dataset.removeprefix("p_")
    return subprocess.run(
        [sys.executable, "-m", "b8760_assets_tests.crash_run", suffix, H.isoformat(),
         str(call_number)],
        capture_output=True, text=True, timeout=300, env=os.environ,
    )  # fmt: skip


def state(platform: OwnPlatform) -> dict[str, object]:
    """Everything the run leaves, with what differs between platforms and runs by nature
    (bucket names, generations, when a manifest was frozen) taken out."""
    layout = platform.layouts[CONNECTOR]
    suffix = platform.warehouse.dataset.removeprefix("p_")
    found: dict[str, object] = {}
    for bucket in (layout.landing_bucket, layout.bucket):
        for each in platform.storage.list(bucket, f"{CONNECTOR}/"):
            data = platform.storage.read(bucket, each.name).data.replace(suffix.encode(), b"X")
            if each.name.endswith("_manifest.json"):
                manifest = json.loads(data)
                manifest.pop("frozen_at")
                for entry in manifest["files"]:
                    entry["landing_object"].pop("generation")
                data = manifest
            found[each.name] = data
    rows = platform.warehouse.query(
        "SELECT * EXCEPT (participant) FROM readings ORDER BY meter_id, interval_start"
    )
    found["warehouse"] = [dict(row) for row in rows]
    return found


def reported(run: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    """Each step's materialization metadata (the warehouse's readings_loaded, batches, ...)."""
    return {
        event.asset_key.to_user_string(): {
            key: value.value
            for key, value in event.step_materialization_data.materialization.metadata.items()
        }
        for event in run.get_asset_materialization_events()
    }


def test_a_run_killed_at_any_storage_call_is_finished_by_its_rerun(
    storage: StorageResource,
) -> None:
    whole = prepared(storage)
    completed = run_killed_at(whole, 0)
    assert completed.returncode == 0, completed.stderr[-3000:]
    calls = int(completed.stdout.split()[-1])
    expected = state(whole)
    assert calls > 20 and len(expected["warehouse"]) == 3

    def crash_and_rerun(call_number: int) -> tuple[int, dict[str, object]]:
        """What the rerun after a kill at this call left otherwise than expected."""
        platform = prepared(storage)
        killed = run_killed_at(platform, call_number)
        assert killed.returncode == -signal.SIGKILL, (call_number, killed.stderr[-3000:])
        rerun = platform.run(CONNECTOR, H)
        assert rerun.success
        left = state(platform)
        differences = {
            name: (left.get(name, "(missing)"), expected.get(name, "(missing)"))
            for name in left.keys() | expected.keys()
            if left.get(name) != expected.get(name)
        }
        if differences:  # what the rerun's steps said they did, to tell where it went wrong
            differences["rerun reported"] = reported(rerun)
        return call_number, differences

    with ThreadPoolExecutor(max_workers=2) as pool:
        differences = {
            number: found
            for number, found in pool.map(crash_and_rerun, range(1, calls + 1))
            if found
        }
    print(f"crash points survived: {calls - len(differences)}/{calls}")
    assert not differences, differences  # per crash point: {name: (left, expected)}
