"""Dagster's current CLI, `dg`, on the checkout as a user runs it: the definitions checked and
listed, and a range of hours launched on the session's local stack against a real upload;
none of it warns of a beta parameter or a superseded command."""

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterUnknownPartitionError
from dagster._core.definitions.partitions.context import partition_loading_context

from b8760_assets import local_stack
from b8760_assets.cli.demo import SAMPLE_UPLOADS
from b8760_assets.config import load_platform
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import (
    HOUR,
    IncompleteHourError,
    arrival_hours,
    floor_hour,
    partition_of_hour,
)
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource

DG = str(Path(sys.executable).parent / "dg")
CHECKOUT = Path(__file__).parents[1]
# A Python warning as the warnings module prints it: "file.py:12: BetaWarning: Parameter ...".
WARNING_LINE = re.compile(r"^\S+:\d+: \w+Warning: .*$", re.MULTILINE)
H = datetime(2022, 3, 1, 10, tzinfo=UTC)


def dg(*args: str) -> subprocess.CompletedProcess[str]:
    """`dg ARGS` in the checkout, its output captured; it must succeed without a warning."""
    result = subprocess.run([DG, *args], cwd=CHECKOUT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert WARNING_LINE.findall(result.stderr) == []
    return result


def test_dg_checks_and_lists_the_definitions(stack_env: dict, dagster_home: Path) -> None:
    assert "All definitions loaded successfully." in dg("check", "defs").stdout
    listed = json.loads(dg("list", "defs", "--json").stdout)
    keys = {asset["asset_key"] for asset in listed["assets"]}
    assert {
        "warehouse/meters",
        "ext_conn1/raw_landing_files",
        "coned/warehouse_meter_links",
    } <= keys


def test_dg_launches_a_range_of_hours_on_an_upload(
    stack_env: dict, dagster_home: Path, storage: StorageResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = ConnectorLayout(
        load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"], f"landing-{os.urandom(4).hex()}"
    )
    monkeypatch.setenv("B8760_LANDING_BUCKET", layout.landing_bucket)
    storage.ensure_bucket(layout.landing_bucket)
    sample = SAMPLE_UPLOADS / "ext_conn1" / "chicago_2022-03-01.csv"
    file_name = f"dg-{os.urandom(4).hex()}.csv"
    uploaded = storage.upload_file(layout.landing_bucket, layout.landing_prefix + file_name, sample)
    local_stack.backdate_upload(uploaded.bucket, uploaded.name, H + HOUR + timedelta(seconds=30))

    # The meter registry first, as the warehouse step asks when there is none yet: the test
    # must not depend on an earlier test of the session having built it.
    dg("launch", "--assets", "warehouse/meters")
    dg(
        "launch", "--assets", "group:ext_conn1",
        "--partition-range", f"{partition_of_hour(H)}...{partition_of_hour(H + 2 * HOUR)}",
    )  # fmt: skip

    # The hour after H took the file in, whole; it left the landing zone.
    archived = storage.read(layout.bucket, layout.accepted(H + HOUR, file_name))
    assert archived.data == sample.read_bytes()
    assert list(storage.list(layout.landing_bucket, layout.landing_prefix)) == []


def test_a_range_that_ends_in_the_current_hour_is_refused_naming_its_end(
    stack_env: dict, dagster_home: Path
) -> None:
    """Both CLIs, before any run: one line naming the end key (Dagster's own message names
    the range's first key) and the last complete hour to end at instead."""
    current = floor_hour(datetime.now(UTC))
    if datetime.now(UTC) > current + HOUR - timedelta(minutes=2):
        time.sleep((current + HOUR - datetime.now(UTC)).total_seconds() + 1)
        current += HOUR
    first, end = partition_of_hour(current - 2 * HOUR), partition_of_hour(current)
    commands = [
        [DG, "launch", "--assets", "group:ext_conn1", "--partition-range", f"{first}...{end}"],
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
         "b8760_assets.definitions", "--select", "group:ext_conn1",
         "--partition-range", f"{first}...{end}"],
    ]  # fmt: skip
    for command in commands:
        result = subprocess.run(command, cwd=CHECKOUT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stdout + result.stderr
        [error] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert error == (
            f"Error: partition {end} is not a complete hour (the current hour, {end}, ends at "
            f"{current + HOUR:%H:%M} UTC): an hour's files are taken in once it has ended; end "
            f"the range at {partition_of_hour(current - HOUR)} (the last complete hour) or run "
            "it later"
        )
        assert "Traceback" not in result.stderr
    with DagsterInstance.get() as instance:
        assert instance.get_run_records() == []


def test_only_hours_not_over_get_the_incomplete_hour_error() -> None:
    """A key before the connector's first hour, or not an hour, keeps Dagster's own error
    (the CLI's "must have a PartitionsDefinition containing the passed partition key")."""
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    hours = arrival_hours(connector)
    current = floor_hour(datetime.now(UTC))
    with partition_loading_context() as now:
        hours.validate_partition_key(partition_of_hour(connector.start_hour), now)
        for key in (partition_of_hour(connector.start_hour - HOUR), "2022-13-01-00:00", "x"):
            with pytest.raises(DagsterUnknownPartitionError):
                hours.validate_partition_key(key, now)
    # An hour later (Dagster's clock, as the CLI passes it), that hour is one; the next is not.
    with partition_loading_context(effective_dt=current + HOUR + timedelta(minutes=1)) as later:
        hours.validate_partition_key(partition_of_hour(current), later)
        for hour in (current + HOUR, current + 1000 * HOUR):
            with pytest.raises(IncompleteHourError, match=partition_of_hour(hour)):
                hours.validate_partition_key(partition_of_hour(hour), later)
