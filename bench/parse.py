"""1. Parse + check + normalize throughput, readings/s, against polars reading the same file.

The file: hourly readings of 1,000 meters for a year (8.76 M rows, about 620 MB), with
local-time offsets, every meter described in the connector's meter XML. The figure is the
platform's path from a local file to standardized rows (the landing check, then
normalization, as the standardized asset runs them); the baseline is `pl.read_csv` of the
same file into a frame (types inferred). Each is timed twice, alternating; the faster counts.
"""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from bench.common import Result, best_of, meter_ids, scratch, write_platform, write_readings_csv

NAME = "parse"
TARGET = 0.3


def standardize_file(path: Path, connector, meters) -> int:
    """The platform's path: the landing check, then normalization; the rows standardized."""
    from b8760_assets.landing.file_checks import check_local_file
    from b8760_assets.standardized.normalize import Normalizer

    normalizer = Normalizer(connector, meters)
    rows = 0

    def normalized(readings: pl.DataFrame) -> None:
        nonlocal rows
        rows += normalizer.normalize(
            readings, arrival_hour=datetime(2022, 1, 1, tzinfo=UTC), source_file=path.name
        ).rows.height

    checked = check_local_file(path.name, path, connector, on_readings=normalized)
    if not checked.accepted:
        raise RuntimeError(f"the benchmark file was refused: {checked.rejection}")
    return rows


def run(quick: bool) -> list[Result]:
    from b8760_assets.config import load_platform

    meters_count, hours = (100, 2000) if quick else (1000, 8760)
    with scratch(NAME) as folder:
        platform = load_platform(
            write_platform(folder / "platform", 1, meters_count, max_bytes=10**12)
        )
        [connector] = platform.connectors.values()
        meters = {meter.id: meter for meter in platform.meters}
        path = folder / "readings.csv"
        rows = write_readings_csv(path, meter_ids(meters_count), datetime(2021, 1, 1, tzinfo=UTC), hours)
        size = path.stat().st_size

        pl.read_csv(path, n_rows=1000)  # warm-up: polars' thread pool and page cache
        raw_times, platform_times = [], []
        for _ in range(2):
            raw_times.append(best_of(1, lambda: pl.read_csv(path).height)[0])
            seconds, standardized = best_of(1, lambda: standardize_file(path, connector, meters))
            assert standardized == rows, (standardized, rows)
            platform_times.append(seconds)
    raw, figure = min(raw_times), min(platform_times)
    return [
        Result(
            benchmark="1. parse + check + normalize",
            figure=rows / figure,
            figure_unit="readings/s",
            figure_label=f"{rows:,} rows, {size / 1e6:.0f} MB, {figure:.2f} s",
            baseline=rows / raw,
            baseline_unit="rows/s",
            baseline_label=f"pl.read_csv, {raw:.2f} s",
            target=TARGET,
            notes={"rows": rows, "bytes": size, "seconds": platform_times, "raw_seconds": raw_times},
        )
    ]
