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

A second baseline is Dagster alone: a do-nothing twin of each asset of the platform's chain
(same key, dependencies, partitions, backfill policy and checks), materialized for the same
range on the same kind of instance (in process, without the command's 3 s start). Dagster
records every partition of a range run: a planned and a done materialization per asset and
hour (the checks are evaluated once per run); that is the floor under any year's backfill
here. Both are also given in CPU seconds (the command's process, the twin's run), steadier
than wall time on a shared machine, with the year run's events by type.
"""

import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import dagster as dg

NAME = "backfill"
METERS = 10
SIZES = {"full": (8760, 12), "quick": (240, 2), "toy": (3, 1)}  # hours, files
DAGSTER = str(Path(sys.executable).parent / "dagster")


def partition(hour) -> str:
    return hour.strftime("%Y-%m-%d-%H:%M")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def materialize(selection: str, *partition_args: str) -> tuple[float, float]:
    """The command's wall and CPU seconds (its process and those it waited for)."""
    started, cpu = time.perf_counter(), children_cpu_seconds()
    completed = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "b8760_assets.definitions",
         "--select", selection, *partition_args],
        cwd=CHECKOUT, capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu
    if completed.returncode != 0:
        raise RuntimeError(f"dagster asset materialize failed:\n{completed.stderr[-6000:]}")
    return seconds, cpu


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


def events_by_type(instance, run_id: str) -> dict[str, int]:
    """The run's events in the instance, by type (a log message counts as `log`)."""
    counts: Counter[str] = Counter()
    cursor = None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, limit=10_000)
        for record in page.records:
            kind = record.event_log_entry.dagster_event_type
            counts["log" if kind is None else kind.value] += 1
        cursor = page.cursor
        if not page.has_more:
            return dict(counts.most_common())


def do_nothing_twin(asset: "dg.AssetsDefinition") -> "dg.AssetsDefinition":
    """An asset that does nothing, with the key, dependencies, partitions, backfill policy and
    checks of one of the platform's (its checks pass; its metadata is one number)."""
    import dagster as dg

    [spec] = asset.specs
    checks = [check.name for check in asset.check_specs]

    @dg.multi_asset(
        name=asset.node_def.name,
        specs=[dg.AssetSpec(spec.key, deps=spec.deps, group_name=spec.group_name)],
        partitions_def=asset.partitions_def,
        backfill_policy=asset.backfill_policy,
        check_specs=[dg.AssetCheckSpec(name, asset=spec.key) for name in checks],
    )
    def twin() -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={"rows": 0},
            check_results=[dg.AssetCheckResult(check_name=name, passed=True) for name in checks],
        )

    return twin


def dagster_alone(
    chain: "list[dg.AssetsDefinition]", first: datetime, last: datetime
) -> tuple[float, float]:
    """Wall and CPU seconds for Dagster to materialize the chain's do-nothing twins over the
    range, in a fresh instance like the benchmark's."""
    import dagster as dg

    from b8760_assets.partitions import range_run_tags

    twins = [do_nothing_twin(asset) for asset in chain]
    with scratch("floor") as folder, dagster_home(folder), dg.DagsterInstance.get() as instance:
        started, cpu = time.perf_counter(), time.process_time()
        result = dg.materialize(twins, instance=instance, tags=range_run_tags(first, last))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.success
    return seconds, cpu


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets import local_stack
    from b8760_assets.config import load_platform
    from b8760_assets.definitions import connector_chain
    from b8760_assets.layout import ConnectorLayout
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
            year_seconds, year_cpu = materialize(
                "group:c000", "--partition-range", f"{partition(START)}...{partition(last)}"
            )
            # The next hour, with one hour's readings waiting, as the sensor would request it.
            next_hour = last + timedelta(hours=1)
            one_hour = pl.concat(hourly_readings(meter_ids(METERS), next_hour, 1))
            storage.write(landing, "c000/next-hour.csv", one_hour.write_csv().encode())
            local_stack.backdate_upload(landing, "c000/next-hour.csv", next_hour)
            single_seconds, _ = materialize("group:c000", "--partition", partition(next_hour))

            with dg.DagsterInstance.get() as instance:
                records = instance.get_run_records()  # newest first: single, range, registry
                # The range's runs (one, unless Dagster split it) carry the range's tags.
                year_records = [
                    record
                    for record in records
                    if "dagster/asset_partition_range_start" in record.dagster_run.tags
                ]
                year_run = year_records[-1].dagster_run.run_id
                steps = step_seconds(instance, year_run)
                events = events_by_type(instance, year_run)
                single_steps = step_seconds(instance, records[0].dagster_run.run_id)
                materialized = len(
                    instance.get_materialized_partitions(
                        dg.AssetKey(["c000", "warehouse_meter_links"])
                    )
                )
            [loaded] = warehouse_resource().query(  # the definitions' dataset
                "SELECT COUNT(*) AS n FROM readings WHERE connector = 'c000'"
            )
            loaded_platform = load_platform(platform)
            [connector] = loaded_platform.connectors.values()
            chain = connector_chain(
                ConnectorLayout(connector, landing), loaded_platform.meters_of(connector.name)
            )
        floor_seconds, floor_cpu = dagster_alone(chain, START, last)
    year_runs = len(year_records)
    assert materialized == hours + 1 and loaded["n"] == rows + METERS, (materialized, loaded)
    notes = {
        "hours": hours,
        "files": files,
        "readings": rows,
        "year_seconds": year_seconds,
        "single_hour_seconds": single_seconds,
        "dagster_alone_seconds": floor_seconds,
        "year_cpu_seconds": round(year_cpu, 1),
        "dagster_alone_cpu_seconds": round(floor_cpu, 1),
        "year_run_events": events,
        "year_run_events_per_hour": round(sum(events.values()) / hours, 2),
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
            baseline_label="do-nothing twins, same range",
            better="lower",
            target=1.1,  # issue 16
        ),
        Result(
            benchmark="3. backfill: CPU against Dagster alone",
            figure=year_cpu,
            figure_unit="s",
            figure_label="the command's CPU",
            baseline=floor_cpu,
            baseline_unit="s",
            baseline_label="the twins' run's CPU",
            better="lower",
            target=1.1,
        ),
    ]
