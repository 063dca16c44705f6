"""14. End to end: a year of hourly readings of N meters, from the upload to every meter-hour
object and the warehouse in one run, against the raw client writing the same objects.

The upload: the year as 12 monthly CSV files (consecutive spans of 730 hours, all meters
each), the way a connector catching up sends it (benchmark 3's upload), all uploaded during
the hour after the year's last reading. The run: one run of the connector's chain for that
arrival hour (raw_landing_files -> standardized_readings -> warehouse_meter_links), the
real definitions' assets and resources materialized in a fresh process on a real instance
(the chain's steps share the run's process, as the definitions' in-process executor has
them), which reports its own peak RSS (VmHWM, as benchmark 5 measures it) and each step's
seconds from the instance.

The baseline: the raw google-cloud-storage client (benchmark 2's) writing the same
meter-hour objects — the same names and bytes, built from the hour's batch the run wrote —
into a fresh bucket of the same emulator, from the thread count that was fastest in a sweep
in the same run. The target is on raw seconds / run seconds: >= 0.9, everything but the
writes hidden behind them; and the run's peak RSS under 1 GB.
"""

import os
import time
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import polars as pl

from bench.backfill import materialize, upload_spans
from bench.common import (
    START,
    Result,
    dagster_home,
    environment,
    run_python,
    scratch,
    unique_name,
    write_platform,
)
from bench.meter_hour_writes import raw_writes

NAME = "end_to_end"
TARGET = 0.9
LIMIT_MB = 1024
SIZES = {  # meters of each row, hours, files, thread counts swept, objects in the sweep
    "full": ((10, 100), 8760, 12, (8, 16, 32, 64), 5000),
    "quick": ((10,), 240, 2, (8, 16, 32), 1000),
    "toy": ((2,), 5, 1, (4,), 10),
}
# Which rows to measure: B8760_BENCH_END_TO_END_METERS=10 for the first row only.
ONLY_METERS = "B8760_BENCH_END_TO_END_METERS"

RUN = """
import json, resource, sys, time
from datetime import datetime
import dagster as dg
from b8760_assets.config import load_platform
from b8760_assets.definitions import connector_chain
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import partition_of_hour
from b8760_assets.resources import platform_resources
from b8760_assets.settings import landing_bucket, platform_dir
from bench.common import peak_rss_mb

hour = datetime.fromisoformat(sys.argv[1])
platform = load_platform(platform_dir())
[connector] = platform.connectors.values()
chain = connector_chain(ConnectorLayout(connector, landing_bucket()),
                        platform.meters_of(connector.name))
with dg.DagsterInstance.get() as instance:
    started = time.perf_counter()
    result = dg.materialize(chain, partition_key=partition_of_hour(hour), instance=instance,
                            resources=platform_resources(None))
    seconds = time.perf_counter() - started
    steps = {stats.step_key: stats.end_time - stats.start_time
             for stats in instance.get_run_step_stats(result.run_id)}
materializations = [event.event_specific_data.materialization
                    for event in result.get_asset_materialization_events()]
metadata = {each.asset_key.path[-1]: {key: value.value for key, value in each.metadata.items()
                                      if isinstance(value.value, (int, float))}
            for each in materializations}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"success": result.success, "seconds": seconds, "steps": steps,
                  "metadata": metadata, "peak_rss_mb": peak_rss_mb(),
                  "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""


def same_objects(storage, bucket: str, batch: str) -> list[tuple[str, bytes, dict]]:
    """The meter-hour objects the run wrote, rebuilt from its hour's batch: (name, bytes,
    metadata) as the run wrote each of them new."""
    from b8760_assets.standardized.meter_hours import (
        merge_meter_hour_document,
        meter_hour_documents,
        meter_hour_metadata,
    )

    rows = pl.read_parquet(BytesIO(storage.read(bucket, batch).data))
    return [
        (name, content, meter_hour_metadata(content))
        for name, document in meter_hour_documents(rows)
        for content in [merge_meter_hour_document(None, document)]
    ]


def storage_emulator_rss_mb() -> float | None:
    """fake-gcs-server's resident memory now (the local stack's process), in MB."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"fake-gcs-server" in command and os.environ["B8760_STATE_DIR"].encode() in command:
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return None


def measure(folder: Path, meters: int, size: str) -> dict:
    """Upload the year of `meters` meters, run the chain for its arrival hour, then the raw
    client's sweep and its best write of the same objects."""
    from b8760_assets.config import load_platform
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.resources import storage_resource

    _, hours, files, thread_counts, sweep_size = SIZES[size]
    storage = storage_resource()
    arrival = START + timedelta(hours=hours)
    prefix = unique_name(f"bench-e2e-{meters}")
    platform = write_platform(folder / f"platform-{meters}", 1, meters, bucket_prefix=prefix)
    [connector] = load_platform(platform).connectors.values()
    layout = ConnectorLayout(connector, f"{prefix}-landing")
    with environment(B8760_PLATFORM_DIR=str(platform), B8760_LANDING_BUCKET=layout.landing_bucket):
        storage.ensure_bucket(layout.landing_bucket)
        storage.ensure_bucket(connector.bucket)
        readings = upload_spans(
            storage, layout.landing_bucket, connector.name, hours, files,
            meters=meters, arrival=arrival,
        )  # fmt: skip
        materialize("warehouse/meters")  # the readings' links need the registry
        run = run_python(RUN, arrival.isoformat(), timeout=4 * 3600)
    emulator_mb = storage_emulator_rss_mb()
    assert run["success"], run
    objects = same_objects(storage, connector.bucket, layout.batch(arrival))
    written = run["metadata"]["standardized_readings"]["objects_written"]
    assert written == len(objects) == meters * hours, (written, len(objects))

    def fresh_bucket() -> str:
        name = unique_name("bench-e2e-raw")
        storage.ensure_bucket(name)
        return name

    endpoint = storage.api_endpoint
    sweep = {
        threads: sweep_size / raw_writes(endpoint, fresh_bucket(), objects[:sweep_size], threads)
        for threads in thread_counts
    }
    best = max(sweep, key=sweep.__getitem__)
    started = time.process_time()
    raw_seconds = raw_writes(endpoint, fresh_bucket(), objects, best)
    return {
        "meters": meters,
        "readings": readings,
        "files": files,
        "objects": len(objects),
        "run": run,
        "raw_seconds": raw_seconds,
        "raw_cpu_seconds": time.process_time() - started,
        "raw_threads": best,
        "sweep_objects_per_s": sweep,
        "platform_threads": storage.max_parallel_writes,
        "storage_emulator_rss_mb": {
            "after_run": emulator_mb,
            "after_raw": storage_emulator_rss_mb(),
        },
        "load_average": os.getloadavg(),
    }


def run(size: str = "full") -> list[Result]:
    counts = SIZES[size][0]
    if os.environ.get(ONLY_METERS):
        counts = tuple(int(each) for each in os.environ[ONLY_METERS].split(","))
    results = []
    with scratch(NAME) as folder, dagster_home(folder):
        for meters in counts:
            found = measure(folder, meters, size)
            run, objects = found["run"], found["objects"]
            results.append(
                Result(  # objects/s each way: the ratio is raw seconds / run seconds
                    benchmark=f"14. end to end, {meters} meters",
                    figure=objects / run["seconds"],
                    figure_unit="objects/s",
                    figure_label=f"{found['readings']:,} readings in {found['files']} files to "
                    f"{objects:,} objects and the warehouse, one run of {run['seconds']:.0f} s, "
                    f"peak RSS {run['peak_rss_mb']:,.0f} MB",
                    baseline=objects / found["raw_seconds"],
                    baseline_unit="objects/s",
                    baseline_label=f"raw client, the same objects, {found['raw_threads']} "
                    f"threads, {found['raw_seconds']:.0f} s",
                    target_text=f"ratio >= {TARGET:g}, peak RSS < {LIMIT_MB:,} MB",
                    met=found["raw_seconds"] / run["seconds"] >= TARGET
                    and run["peak_rss_mb"] < LIMIT_MB,
                    notes=found,
                )
            )
    return results
