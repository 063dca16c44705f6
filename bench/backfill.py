"""3. A year's backfill of one connector: runs launched, wall time, and wall time per hour of
data against a single-hour run.

The platform: one connector (10 meters, partitions from 2021-01-01T00:00Z). Its year of
hourly readings (87,600) was uploaded as 12 monthly files before the backfill, the way a
connector catching up delivers it: the first hour of the range takes the 12 files in, the
other 8,759 hours find nothing new (recorded as taken in and empty, in one empty-hours
record for the run of them, so that a replay of any of them takes nothing in either). The
backfill is what an operator runs:
`dagster asset materialize --select group:<connector> --partition-range FIRST...LAST` on a
real instance (a temporary DAGSTER_HOME with the checkout's dagster.yaml: sqlite); the runs
are counted in that instance. The single-hour run is the same command for the next hour,
with one hour's file waiting, as the sensor would ask for it.

A second baseline is Dagster alone: a chain of three assets that do nothing, with the same
partitions and checks, materialized for the same range on the same kind of instance (in
process, without the command's 3 s start). Dagster records every partition of a range run
(a materialization and a check evaluation per asset and hour); that is the floor under any
year's backfill here.
"""

import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from bench.common import (
    CHECKOUT,
    START,
    Result,
    dagster_home,
    environment,
    hourly_readings,
    meter_ids,
    scratch,
    unique_name,
    write_platform,
)

NAME = "backfill"
METERS = 10
SIZES = {"full": (8760, 12), "quick": (240, 2), "toy": (3, 1)}  # hours, files
DAGSTER = str(Path(sys.executable).parent / "dagster")


def partition(hour) -> str:
    return hour.strftime("%Y-%m-%d-%H:%M")


def materialize(selection: str, *partition_args: str) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "b8760_assets.definitions",
         "--select", selection, *partition_args],
        cwd=CHECKOUT, capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"dagster asset materialize failed:\n{completed.stderr[-6000:]}")
    return seconds


def upload_spans(
    storage,
    landing_bucket: str,
    connector: str,
    hours: int,
    files: int,
    *,
    meters: int = METERS,
    arrival: datetime = START,
) -> int:
    """The range's readings of `meters` meters as `files` CSV uploads of consecutive spans,
    uploaded (as far as the hours can tell) during the hour `arrival`; returns the rows."""
    from b8760_assets import local_stack

    frame = pl.concat(hourly_readings(meter_ids(meters), START, hours)).sort("start", "meter_id")
    span = -(-hours // files) * meters
    for number in range(files):
        part = frame.slice(number * span, span)
        if part.height:
            name = f"{connector}/readings-{number + 1:02d}.csv"
            storage.write(landing_bucket, name, part.write_csv().encode(), content_type="text/csv")
            local_stack.backdate_upload(landing_bucket, name, arrival + timedelta(seconds=number))
    return frame.height


def step_seconds(instance, run_id: str) -> dict[str, float]:
    return {
        stats.step_key: round(stats.end_time - stats.start_time, 2)
        for stats in instance.get_run_step_stats(run_id)
        if stats.end_time and stats.start_time
    }


def dagster_alone(connector, first: datetime, last: datetime) -> float:
    """Seconds for Dagster to materialize a do-nothing chain with the same partitions and
    checks over the range, in a fresh instance like the benchmark's."""
    import dagster as dg

    from b8760_assets.partitions import chain_asset, range_run_tags

    def do_nothing(name: str, deps: list) -> dg.AssetsDefinition:
        @chain_asset(connector, name, checks=[(f"{name}_check", "")], description="", kinds=set(),
                     deps=deps)  # fmt: skip
        def asset() -> dg.MaterializeResult:
            return dg.MaterializeResult(
                metadata={"rows": 0},
                check_results=[dg.AssetCheckResult(check_name=f"{name}_check", passed=True)],
            )

        return asset

    raw = do_nothing("raw", [])
    standardized = do_nothing("standardized", [raw.key])
    links = do_nothing("links", [standardized.key])
    with scratch("floor") as folder, dagster_home(folder), dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            [raw, standardized, links],
            instance=instance,
            tags=range_run_tags(first, last),
        )
        seconds = time.perf_counter() - started
    assert result.success
    return seconds


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets import local_stack
    from b8760_assets.config import load_platform
    from b8760_assets.resources import storage_resource, warehouse_resource

    hours, files = SIZES[size]
    storage = storage_resource()
    last = START + timedelta(hours=hours - 1)
    with scratch(NAME) as folder:
        prefix = unique_name("bench-backfill")
        platform = write_platform(folder / "platform", 1, METERS, bucket_prefix=prefix)
        landing = f"{prefix}-landing"
        with (
            dagster_home(folder),
            environment(B8760_PLATFORM_DIR=str(platform), B8760_LANDING_BUCKET=landing),
        ):
            storage.ensure_bucket(landing)
            rows = upload_spans(storage, landing, "c000", hours, files)
            materialize("warehouse/meters")  # the readings' links need the registry
            year_seconds = materialize(
                "group:c000", "--partition-range", f"{partition(START)}...{partition(last)}"
            )
            # The next hour, with one hour's readings waiting, as the sensor would request it.
            next_hour = last + timedelta(hours=1)
            one_hour = pl.concat(hourly_readings(meter_ids(METERS), next_hour, 1))
            storage.write(landing, "c000/next-hour.csv", one_hour.write_csv().encode())
            local_stack.backdate_upload(landing, "c000/next-hour.csv", next_hour)
            single_seconds = materialize("group:c000", "--partition", partition(next_hour))

            with dg.DagsterInstance.get() as instance:
                records = instance.get_run_records()  # newest first
                steps = step_seconds(instance, records[-1].dagster_run.run_id)
                single_steps = step_seconds(instance, records[0].dagster_run.run_id)
                materialized = len(
                    instance.get_materialized_partitions(
                        dg.AssetKey(["c000", "warehouse_meter_links"])
                    )
                )
            [loaded] = warehouse_resource().query(  # the definitions' dataset
                "SELECT COUNT(*) AS n FROM readings WHERE connector = 'c000'"
            )
            [connector] = load_platform(platform).connectors.values()
        floor_seconds = dagster_alone(connector, START, last)
    year_runs = len(records) - 1
    assert materialized == hours + 1 and loaded["n"] == rows + METERS, (materialized, loaded)
    notes = {
        "hours": hours,
        "files": files,
        "readings": rows,
        "year_seconds": year_seconds,
        "single_hour_seconds": single_seconds,
        "dagster_alone_seconds": floor_seconds,
        "year_run_steps_seconds": steps,
        "single_run_steps_seconds": single_steps,
        "partitions_materialized": materialized,
        "warehouse_readings": loaded["n"],
    }
    return [
        Result(
            benchmark="3. backfill: runs launched",
            figure=year_runs,
            figure_unit="run(s)",
            figure_label=f"for {hours:,} hourly partitions",
            baseline=None,
            baseline_unit="",
            baseline_label=f"{hours:,} partitions",
            better="lower",
            target_text="1 (or a handful)",
            met=year_runs <= 3,
            notes=notes,
        ),
        Result(
            benchmark="3. backfill: wall time",
            figure=year_seconds,
            figure_unit="s",
            figure_label=f"{hours:,} hours, {files} files, {rows:,} readings",
            baseline=single_seconds,
            baseline_unit="s",
            baseline_label="single-hour run",
            better="lower",
        ),
        Result(
            benchmark="3. backfill: wall time per hour of data",
            figure=year_seconds / hours,
            figure_unit="s",
            figure_label="backfill / hours",
            baseline=single_seconds,
            baseline_unit="s",
            baseline_label="single-hour run",
            better="lower",
        ),
        Result(
            benchmark="3. backfill: against Dagster alone",
            figure=year_seconds,
            figure_unit="s",
            figure_label="the platform's chain",
            baseline=floor_seconds,
            baseline_unit="s",
            baseline_label="do-nothing chain, same range",
            better="lower",
        ),
    ]
