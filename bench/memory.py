"""5. Peak memory (RSS) processing one large input file: a 1 GB CSV against a 250 MB one.

Each file (hourly readings of whole meters, as in benchmark 1) is uploaded to the landing
zone; a fresh Python process then runs one step of the platform on it and reports its own
peak RSS (VmHWM), so nothing else in the benchmark counts:
- intake: `take_in_hour` for the hour that takes the file in (download, landing check,
  checked readings kept as Parquet, copy to raw/ with checksum verification, delete from
  the landing zone);
- standardize: the `standardized_readings` asset for that hour, materialized in the process
  (download the checked readings, normalize them, write the hour's Parquet batch and build
  every meter-hour object's document), with the meter-hour objects built but not
  sent: a 1 GB file of hourly readings is about 14 M objects, hours of writes on the
  emulator (benchmark 2 measures their rate; update_each keeps a few hundred in flight).
The target: under 1 GB for the 1 GB file, and flat: at most 1.25 times the 250 MB file's.
Each step's CPU seconds (user + system, all threads) are kept in the notes: the two steps
together are the full hour (parse, check, normalize, objects, batch) of that file.
"""

import os
from datetime import UTC, datetime

from bench.common import MB, Result, csv_of_size, run_python, scratch, unique_name, write_platform

NAME = "memory"
LIMIT_MB = 1024
FLAT = 1.25
HOUR = datetime(2022, 1, 3, 10, tzinfo=UTC)
SIZES = {  # bytes of the small and the large file
    "full": (250 * MB, 1024 * MB),
    "quick": (25 * MB, 100 * MB),
    "toy": (MB, MB),  # one file, measured once: a smoke run
}

PROBE = """
import json, resource, sys, time
from datetime import datetime
from b8760_assets.config import load_platform
from b8760_assets.layout import ConnectorLayout
from b8760_assets.resources import storage_resource
from b8760_assets.settings import landing_bucket, platform_dir
from b8760_assets.storage import StorageResource, StoredObject
from bench.common import peak_rss_mb

step, hour = sys.argv[1], datetime.fromisoformat(sys.argv[2])
platform = load_platform(platform_dir())
[connector] = platform.connectors.values()
layout = ConnectorLayout(connector, landing_bucket())
storage = storage_resource()
started = time.perf_counter()
if step == "intake":
    from b8760_assets.landing.intake import take_in_hour
    manifest = take_in_hour(storage, layout, hour)
    [entry] = manifest.files
    outcome = {"outcome": entry.outcome, "readings": entry.readings,
               "rejection": entry.rejection and entry.rejection.message}
else:
    import dagster as dg
    from b8760_assets.partitions import partition_of_hour
    from b8760_assets.standardized.assets import build_standardized_readings

    objects = 0

    class MeterHoursBuiltNotSent(StorageResource):
        def write(self, bucket, name, data, **options):
            global objects
            objects += 1
            return StoredObject(bucket, name, 1, len(data), None, None)

    asset = build_standardized_readings(layout, {m.id: m for m in platform.meters})
    result = dg.materialize([asset], partition_key=partition_of_hour(hour),
                            resources={"storage": MeterHoursBuiltNotSent(**storage.model_dump())})
    [event] = result.asset_materializations_for_node(asset.op.name)
    outcome = {"success": result.success, "readings": event.metadata["readings"].value,
               "meter_hour_objects": objects}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"peak_rss_mb": peak_rss_mb(), "seconds": time.perf_counter() - started,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, **outcome}))
"""


def measure(folder, label: str, size: int) -> dict[str, dict]:
    """Upload a file of about `size` bytes, then run each step on it in a process of its own."""
    from b8760_assets import local_stack
    from b8760_assets.config import load_platform
    from b8760_assets.resources import storage_resource

    prefix = unique_name(f"bench-memory-{label}")
    platform_folder = write_platform(
        folder / f"platform-{label}", 1, 1, bucket_prefix=prefix, max_bytes=4 * 1024 * MB
    )
    [connector] = load_platform(platform_folder).connectors.values()
    landing = f"{prefix}-landing"
    storage = storage_resource()
    storage.ensure_bucket(landing)
    storage.ensure_bucket(connector.bucket)
    csv = folder / f"readings-{label}.csv"
    rows = csv_of_size(csv, size)
    file_bytes = csv.stat().st_size
    storage.upload_file(landing, f"{connector.name}/readings.csv", csv)
    local_stack.backdate_upload(landing, f"{connector.name}/readings.csv", HOUR)  # its hour
    csv.unlink()
    steps = {}
    saved = {name: os.environ.get(name) for name in ("B8760_PLATFORM_DIR", "B8760_LANDING_BUCKET")}
    os.environ.update(B8760_PLATFORM_DIR=str(platform_folder), B8760_LANDING_BUCKET=landing)
    try:
        for step in ("intake", "standardize"):
            steps[step] = {**run_python(PROBE, step, HOUR.isoformat()), "bytes": file_bytes}
            steps[step]["rows"] = rows
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert steps["intake"]["outcome"] == "accepted", steps["intake"]
    assert steps["standardize"]["readings"] == rows, steps["standardize"]
    return steps


def run(size: str = "full") -> list[Result]:
    small, large = SIZES[size]
    with scratch(NAME) as folder:
        figures = {"small": measure(folder, "small", small)}
        figures["large"] = figures["small"] if large == small else measure(folder, "large", large)
    results = []
    for step in ("intake", "standardize"):
        big, little = figures["large"][step], figures["small"][step]
        ratio = big["peak_rss_mb"] / little["peak_rss_mb"]
        results.append(
            Result(
                benchmark=f"5. peak RSS, {step}",
                figure=big["peak_rss_mb"],
                figure_unit="MB",
                figure_label=f"{big['bytes'] / MB:,.0f} MB file, {big['rows']:,} rows, "
                f"{big['seconds']:.0f} s",
                baseline=little["peak_rss_mb"],
                baseline_unit="MB",
                baseline_label=f"{little['bytes'] / MB:,.0f} MB file",
                better="lower",
                target_text=f"< {LIMIT_MB:,} MB, ratio <= {FLAT:g}",
                met=big["peak_rss_mb"] < LIMIT_MB and ratio <= FLAT,
                notes={"large": big, "small": little},
            )
        )
    return results
