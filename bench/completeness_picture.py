"""10. The completeness picture a standardized_readings run attaches, against the run's merge.

The objects: hourly readings of 100 meters for 7 days (16,800 meter-hour objects, new in a
fresh bucket each time), merged as the asset merges them (`merge_meter_hours`). The figure is
the picture the asset then draws of those meters and days (`connector_report.connector_picture`:
one listing per meter, the intervals of the objects the merge wrote as it recorded them, the
others read, the completeness table, the failed checks from a real instance); the baseline is
the merge itself. Each is timed twice, the faster counting. The ratio is what the picture
adds to that part of a run (target: at most half).
"""

from dataclasses import replace
from datetime import timedelta
from functools import partial

from bench.common import START, Result, best_of, meter_ids, timed, unique_name
from bench.meter_hour_writes import standardized_rows

NAME = "completeness_picture"
TARGET = 0.5
SIZES = {"full": (100, 7 * 24), "quick": (20, 2 * 24), "toy": (2, 5)}  # meters, hours


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets.config import load_platform
    from b8760_assets.connector_report import connector_picture
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.resources import storage_resource
    from b8760_assets.settings import SAMPLE_PLATFORM_DIR
    from b8760_assets.standardized.assets import merge_meter_hours
    from b8760_assets.standardized.meter_hours import MergedSpans

    meters, hours = SIZES[size]
    rows = standardized_rows(meters, hours)  # coned's, as benchmark 2 makes them
    storage = storage_resource()
    coned = load_platform(SAMPLE_PLATFORM_DIR).connectors["coned"]
    merges = []
    for _ in range(2):  # the faster of two merges, each into a fresh bucket
        layout = ConnectorLayout(replace(coned, bucket=unique_name("bench-picture")), "unused")
        storage.ensure_bucket(layout.bucket)
        spans = MergedSpans()
        merge = partial(merge_meter_hours, storage, layout.bucket, rows, spans)
        seconds, merged = timed(merge)
        assert merged.written == meters * hours, merged
        merges.append(seconds)
    check_keys = [dg.AssetCheckKey(dg.AssetKey(["coned", "standardized_readings"]), "units")]
    end = START + timedelta(hours=hours)
    with dg.instance_for_test() as instance:
        seconds, picture = best_of(
            2,
            lambda: connector_picture(
                storage,
                instance,
                layout,
                [],
                meter_ids(meters),
                check_keys,
                START,
                end,
                merged=spans,
            ),
        )
    assert picture.table["present"].sum() == meters * hours, picture.summary
    return [
        Result(
            benchmark="10. completeness picture of a run",
            figure=seconds,
            figure_unit="s",
            figure_label=f"{meters} meters x {hours} hours ({meters * hours:,} objects listed)",
            baseline=min(merges),
            baseline_unit="s",
            baseline_label="merge_meter_hours of the same rows (new objects)",
            better="lower",
            target=TARGET,
            notes={
                "objects": meters * hours,
                "merge_seconds": merges,
                "picture": picture.summary,
            },
        )
    ]
