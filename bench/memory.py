"""5. Peak memory (RSS) processing one large input file: a 1 GB CSV against a 250 MB one.

Each file (hourly readings of whole meters, as in benchmark 1) is uploaded to the landing
zone; a fresh Python process then runs one step of the platform on it and reports its own
peak RSS (VmHWM), so nothing else in the benchmark counts:
- intake: `take_in_hour` for the hour that takes the file in (download, landing check,
  copy to raw/ with checksum verification, delete from the landing zone);
- standardize: the `standardized_readings` asset for that hour, materialized in the process
  (read the accepted file back, check and normalize it, write the hour's Parquet batch),
  with the meter-hour objects counted but not sent: a 1 GB file of hourly readings is
  about 14 M objects, hours of writes on the emulator (benchmark 2 measures that rate).
The target: under 1 GB for the 1 GB file, and flat: at most 1.25 times the 250 MB file's.
"""

from datetime import UTC, datetime

from bench.common import MB, Result, csv_of_size, run_python, scratch, unique_name, write_platform

NAME = "memory"
LIMIT_MB = 1024
FLAT = 1.25
HOUR = datetime(2022, 1, 3, 10, tzinfo=UTC)

PROBE = """
import json, sys, time
from datetime import datetime
from b8760_assets.config import load_platform
from b8760_assets.landing.layout import ConnectorLayout
from b8760_assets.settings import landing_bucket, platform_dir
from b8760_assets.storage import StorageResource
from bench.common import peak_rss_mb

step, hour = sys.argv[1], datetime.fromisoformat(sys.argv[2])
platform = load_platform(platform_dir())
[connector] = platform.connectors.values()
layout = ConnectorLayout(connector, landing_bucket())
started = time.perf_counter()
if step == "intake":
    from b8760_assets.landing.intake import take_in_hour
    manifest = take_in_hour(StorageResource(), layout, hour)
    [entry] = manifest.files
    outcome = {"outcome": entry.outcome, "readings": entry.readings,
               "rejection": entry.rejection and entry.rejection.message}
else:
    import dagster as dg
    from b8760_assets.partitions import partition_of_hour
    from b8760_assets.standardized.assets import build_standardized_readings

    class MeterHoursCounted(StorageResource):
        def update_each(self, bucket, updates):
            global objects
            objects += sum(1 for _ in updates)
            return iter(())

    objects = 0
    asset = build_standardized_readings(layout, {m.id: m for m in platform.meters})
    result = dg.materialize([asset], partition_key=partition_of_hour(hour),
                            resources={"storage": MeterHoursCounted()})
    [event] = result.asset_materializations_for_node(asset.op.name)
    outcome = {"success": result.success, "readings": event.metadata["readings"].value,
               "meter_hour_objects": objects}
print(json.dumps({"peak_rss_mb": peak_rss_mb(), "seconds": time.perf_counter() - started,
                  **outcome}))
"""


def run(quick: bool) -> list[Result]:
    import os

    from b8760_assets.config import load_platform
    from b8760_assets.settings import landing_bucket
    from b8760_assets.storage import StorageResource

    sizes = {"small": 25 * MB, "large": 100 * MB} if quick else {"small": 250 * MB, "large": 1024 * MB}
    storage = StorageResource()
    figures: dict[str, dict[str, dict]] = {}
    with scratch(NAME) as folder:
        for label, size in sizes.items():
            prefix = unique_name(f"bench-memory-{label}")
            platform_folder = write_platform(
                folder / f"platform-{label}", 1, 1, bucket_prefix=prefix, max_bytes=4 * 1024 * MB
            )
            csv = folder / f"readings-{label}.csv"
            rows = csv_of_size(csv, size)
            platform = load_platform(platform_folder)
            [connector] = platform.connectors.values()
            env = {"B8760_PLATFORM_DIR": str(platform_folder), "B8760_LANDING_BUCKET": f"{prefix}-landing"}
            os.environ.update(env)
            try:
                storage.ensure_bucket(landing_bucket())
                storage.ensure_bucket(connector.bucket)
                storage.upload_file(landing_bucket(), f"{connector.name}/readings.csv", csv)
                bytes_ = csv.stat().st_size
                csv.unlink()
                steps = {}
                for step in ("intake", "standardize"):
                    steps[step] = run_python(PROBE, step, HOUR.isoformat())
                    steps[step]["bytes"] = bytes_
                    steps[step]["rows"] = rows
                figures[label] = steps
                assert steps["intake"].get("outcome") == "accepted", steps["intake"]
            finally:
                for name in env:
                    os.environ.pop(name, None)
    results = []
    for step in ("intake", "standardize"):
        large, small = figures["large"][step], figures["small"][step]
        ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
        results.append(
            Result(
                benchmark=f"5. peak RSS, {step}",
                figure=large["peak_rss_mb"],
                figure_unit="MB",
                figure_label=f"{large['bytes'] / MB:,.0f} MB file, {large['rows']:,} rows, "
                f"{large['seconds']:.0f} s",
                baseline=small["peak_rss_mb"],
                baseline_unit="MB",
                baseline_label=f"{small['bytes'] / MB:,.0f} MB file",
                better="lower",
                target_text=f"< {LIMIT_MB:,} MB, ratio <= {FLAT:g}",
                met=large["peak_rss_mb"] < LIMIT_MB and ratio <= FLAT,
                notes={"large": large, "small": small},
            )
        )
    return results
