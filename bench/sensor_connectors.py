"""9. Sensor tick at 1,500 connectors (what one landing bucket's IAM policy holds with the
seed's grants): every connector quiet (its folder holds only readme.txt), and 10 % of them
holding a new file, against the floor of any tick, one listing of the landing bucket with the
raw client. Target: under 15 s either way (Dagster's sensor timeout is 60 s).

A tick is the landing-zone sensor evaluated on a real (temporary) instance with no cursor,
so that it looks at every connector; each kind is timed over a few ticks after a warm-up
round, alternating with the floor; the medians count. Files waiting are dated an hour back,
so that the last complete hour takes them.
"""

import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench.common import Result, unique_name
from bench.meter_hour_writes import raw_client
from bench.sensor_tick import fill

if TYPE_CHECKING:
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.storage import StorageResource

NAME = "sensor_connectors"
LIMIT_S = 15.0
SIZES = {"full": (1_500, 5), "quick": (150, 3), "toy": (10, 1)}  # connectors, ticks


def quiet_connectors(connectors: int) -> tuple["StorageResource", list["ConnectorLayout"]]:
    """`connectors` copies of the sample ext_conn1 in a landing bucket of their own, each
    folder holding only readme.txt (quiet), and the storage they are in."""
    from b8760_assets.config import load_platform
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.resources import storage_resource
    from b8760_assets.settings import SAMPLE_PLATFORM_DIR

    storage = storage_resource()
    sample = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    landing, participant = unique_name("bench-landing"), unique_name("bench-participant")
    storage.ensure_bucket(landing)
    storage.ensure_bucket(participant)
    layouts = [
        ConnectorLayout(replace(sample, name=f"c{number:05d}", bucket=participant), landing)
        for number in range(connectors)
    ]
    fill(
        storage.api_endpoint, landing, [f"{layout.connector.name}/readme.txt" for layout in layouts]
    )
    return storage, layouts


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets import local_stack
    from b8760_assets.landing.sensors import build_landing_zone_sensor

    connectors, ticks = SIZES[size]
    storage, layouts = quiet_connectors(connectors)
    landing = layouts[0].landing_bucket
    busy = layouts[::10]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1, minutes=5)

    keys = {layout.connector.name: [dg.AssetKey([layout.connector.name, "raw_landing_files"])]
            for layout in layouts}  # fmt: skip
    sensor = build_landing_zone_sensor(layouts, keys)
    floor = raw_client(storage.api_endpoint, 1).bucket(landing)
    times: dict[str, list[float]] = {"quiet": [], "busy": [], "floor": []}
    with dg.instance_for_test() as instance:

        def tick(expected: int) -> float:
            with dg.build_sensor_context(
                instance=instance, resources={"storage": storage}
            ) as context:
                started = time.perf_counter()
                result = sensor(context)
                elapsed = time.perf_counter() - started
            assert isinstance(result, dg.SensorResult), result
            assert len(result.run_requests or []) == expected, (result.run_requests, expected)
            return elapsed

        def listing() -> float:
            started = time.perf_counter()
            listed = sum(1 for _ in floor.list_blobs())
            assert listed >= connectors, listed
            return time.perf_counter() - started

        for _ in range(ticks + 1):  # the first round warms up
            times["quiet"].append(tick(0))
            times["floor"].append(listing())
        names = [f"{layout.connector.name}/new.csv" for layout in busy]
        fill(storage.api_endpoint, landing, names)
        for name in names:
            local_stack.backdate_upload(landing, name, an_hour_ago)
        for _ in range(ticks + 1):
            times["busy"].append(tick(len(busy)))
    quiet, busy_tick, floor_s = (
        statistics.median(times[kind][1:]) for kind in ("quiet", "busy", "floor")
    )
    return [
        Result(
            benchmark=f"9. sensor tick, {label}",
            figure=figure,
            figure_unit="s",
            figure_label=f"{connectors:,} connectors, {waiting}",
            baseline=floor_s,
            baseline_unit="s",
            baseline_label="one listing of the landing bucket",
            better="lower",
            target_text=f"< {LIMIT_S:g} s",
            met=figure < LIMIT_S,
            notes={"connectors": connectors, "ticks_seconds": times},
        )
        for label, figure, waiting in (
            ("all quiet", quiet, "none waiting"),
            ("10 % with a new file", busy_tick, f"{len(busy)} waiting"),
        )
    ]
