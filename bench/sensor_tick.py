"""4. Sensor tick cost with 100,000 objects already processed and none new, against an empty
bucket: a tick must cost O(new files), not O(history).

History is what the platform leaves in a participant's bucket for one connector: 8,000
arrival hours' manifests and Parquet batches, 4,000 archived files and 80,000 meter-hour
objects (10 meters x 8,000 hours), 100,000 objects in all; the landing zone holds only the
connector's readme.txt. The baseline is the same tick against an empty participant bucket
and the same landing zone. A tick is the landing-zone sensor evaluated on a real (temporary)
instance with no cursor, so that it looks at the connector; each is timed 15 times,
alternating, after a warm-up round; the medians count.
"""

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bench.common import Result, unique_name
from bench.meter_hour_writes import raw_client

NAME = "sensor_tick"
TARGET = 2.0
SIZES = {"full": (100_000, 15), "quick": (2_000, 15), "toy": (50, 2)}  # objects, ticks


def history_names(connector: str, total: int) -> list[str]:
    hours = total // 25 * 2 + 2  # per hour: a manifest, a batch, 10 meter-hours; a file every 2nd
    names = []
    start = datetime(2021, 1, 1, tzinfo=UTC)
    for number in range(hours):
        hour = (start + timedelta(hours=number)).strftime("%Y-%m-%dT%H:00:00")
        names.append(f"{connector}/raw/{hour}/_manifest.json")
        names.append(f"{connector}/batches/{hour}.parquet")
        names.extend(f"{connector}/standardized/M{meter:05d}/{hour}" for meter in range(10))
        if number % 2 == 0:
            names.append(f"{connector}/raw/{hour}/readings-{number:05d}.csv")
    return names[:total]


def fill(endpoint: str, bucket: str, names: list[str]) -> None:
    target = raw_client(endpoint, 32).bucket(bucket)
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda name: target.blob(name).upload_from_string(b"{}"), names))


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets.config import load_platform
    from b8760_assets.landing.sensors import build_landing_zone_sensor
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.resources import storage_resource
    from b8760_assets.settings import SAMPLE_PLATFORM_DIR

    total, ticks = SIZES[size]
    storage = storage_resource()
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    landing = unique_name("bench-landing")
    storage.ensure_bucket(landing)
    storage.write(landing, f"{connector.name}/readme.txt", b"how to upload")
    layouts = {}
    for kind in ("history", "empty"):
        bucket = unique_name(f"bench-{kind}")
        storage.ensure_bucket(bucket)
        layouts[kind] = ConnectorLayout(replace(connector, bucket=bucket), landing)
    fill(storage.api_endpoint, layouts["history"].bucket, history_names(connector.name, total))
    stored = sum(1 for _ in storage.list(layouts["history"].bucket, ""))
    assert stored == total, (stored, total)

    keys = {connector.name: [dg.AssetKey([connector.name, "raw_landing_files"])]}
    sensors = {kind: build_landing_zone_sensor([layout], keys) for kind, layout in layouts.items()}
    times: dict[str, list[float]] = {kind: [] for kind in layouts}
    with dg.instance_for_test() as instance:
        for _ in range(ticks + 1):  # the first round warms up
            for kind, sensor in sensors.items():
                with dg.build_sensor_context(
                    instance=instance, resources={"storage": storage}
                ) as context:
                    started = time.perf_counter()
                    result = sensor(context)
                    times[kind].append(time.perf_counter() - started)
                assert isinstance(result, dg.SensorResult), result
                assert result.run_requests == [], result.run_requests
    history, empty = (statistics.median(times[kind][1:]) for kind in ("history", "empty"))
    return [
        Result(
            benchmark="4. sensor tick, nothing new",
            figure=history,
            figure_unit="s",
            figure_label=f"{total:,} objects processed",
            baseline=empty,
            baseline_unit="s",
            baseline_label="empty bucket",
            better="lower",
            target=TARGET,
            notes={"objects": total, "ticks_seconds": times},
        )
    ]
