"""`b8760 demo`, what `make demo` runs after installing, on the session's local stack."""

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets.cli.demo import SAMPLE_UPLOADS
from b8760_assets.definitions import defs
from b8760_assets.partitions import hour_of_partition, partition_of_hour
from b8760_assets.storage import StorageResource

B8760 = str(Path(sys.executable).parent / "b8760")


def run_demo() -> tuple[datetime, Path]:
    """`b8760 demo`: the arrival hour it ran and the platform folder it ran on."""
    result = subprocess.run([B8760, "demo"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    hour = re.search(r"chain runs for arrival hour (\S+)", result.stdout).group(1)
    platform = re.search(r"== platform configuration: (\S+)", result.stdout).group(1)
    return datetime.fromisoformat(f"{hour}+00:00"), Path(platform)


def test_demo_takes_the_sample_uploads_in_through_dagster(
    stack_env: dict, dagster_home: Path, storage: StorageResource
) -> None:
    result = subprocess.run([B8760, "demo"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    hour = re.search(r"chain runs for arrival hour (\S+)", out).group(1)
    assert "coned/coned_2021-11-08.csv: accepted, 6 readings" in out
    assert "ext_conn1/chicago_2022-03-01.csv: accepted, 4 readings" in out
    assert "ext_conn1/chicago_2022-03-02_bad_unit.csv: rejected, csv.unknown_unit: line 3" in out
    assert "ext_conn10/coastal_greenbutton.xml: accepted, 8 readings" in out
    archived = storage.read("participant_2", f"ext_conn1/raw/{hour}/chicago_2022-03-01.csv")
    assert archived.data == (SAMPLE_UPLOADS / "ext_conn1/chicago_2022-03-01.csv").read_bytes()
    # What is left in the landing zone: the external connectors' readme.txt, as onboarding
    # leaves it, for the seed's `gsutil cp gs://landing_zone/ext_conn1/readme.txt ...`.
    assert [o.name for o in storage.list("landing_zone", "ext_conn")] == [
        "ext_conn1/readme.txt",
        "ext_conn10/readme.txt",
    ]
    readme = storage.read("landing_zone", "ext_conn1/readme.txt").data.decode()
    assert readme.startswith("Benchmark 8760 landing zone: connector ext_conn1\n")
    # The seed's download example, fetched over HTTP, and the warehouse summary.
    assert "/b/participant_1/o/coned%2Fstandardized%2F3%2F2021-11-08T14:00:00?alt=media" in out
    assert '"value": 70.0' in out  # 1750 Wh as kWh, times meter 3's multiplier of 40
    # The Green Button feed's first hour, downloaded the same way: 450 Wh as GB-1's kWh.
    gb = "/b/participant_1/o/ext_conn10%2Fstandardized%2FGB-1%2F2011-01-01T08:00:00?alt=media"
    assert gb in out
    assert '"value": 0.45' in out.split(gb)[1]
    assert '"local_start": "2011-01-01T02:00:00-06:00"' in out.split(gb)[1]
    assert re.search(r"coned\s+6\s+6\s+0", out)
    assert re.search(r"ext_conn1\s+28\s+28\s+0", out)
    assert re.search(r"ext_conn10\s+8\s+8\s+0", out)
    # The spike in chicago_2022-03-03_spike.csv fails its validation check, on purpose, and
    # CHI-0002's readings of 2022-03-01 and 03-03 leave the hours between them missing.
    assert "ext_conn1/chicago_2022-03-03_spike.csv: accepted, 24 readings" in out
    assert (
        "check no_spikes failed (WARN) | CHI-0002 | 2022-03-03 | 1 | 15000.0 at 14:00-06:00, "
        "the third-highest 996.0 |"
    ) in out
    assert (
        "check no_gaps_in_local_days failed (WARN) | CHI-0002 | 2022-03-01 | 14 | 14 of the "
        "day's 24 intervals missing |"
    ) in out
    # Real runs in the instance: the meter registry, then one run per connector with uploads.
    with dg.DagsterInstance.get() as instance:
        statuses = [record.dagster_run.status for record in instance.get_run_records()]
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 4


def test_the_demos_partitions_view_has_no_missing_hour_before_the_demo(
    stack_env: dict, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two demos: the second takes an earlier hour (the first froze its own), and both hours
    # stay partitions of the one platform the demos and `make dev` run.
    (first, platform), (second, again) = run_demo(), run_demo()
    assert again == platform
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(platform))  # as `make dev` loads it
    key = dg.AssetKey(["coned", "raw_landing_files"])
    partitions = defs().resolve_asset_graph().get(key).partitions_def
    assert partitions is not None
    keys = partitions.get_partition_keys()
    with dg.DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(key, keys, partitions)
    assert status is not None
    assert keys[0] == partition_of_hour(min(first, second))
    assert len(keys) <= 6, keys  # the demos' hours and any that ended since: not years
    missing = [hour_of_partition(k) for k, state in status.items() if state is None]
    assert all(hour > max(first, second) for hour in missing), missing
