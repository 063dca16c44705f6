"""1. Parse + check + normalize throughput, readings/s, against polars reading the same file.

The file: hourly readings of 1,000 meters for a year (8.76 M rows, about 630 MB), with
local-time offsets (`2021-01-01T00:00:00-05:00`), every meter described in the connector's
meter XML. The figure is the platform's path from a downloaded file to standardized rows:
`check_local_file` (the landing check, a batch at a time, in threads, values checked in their
meters' units) writing the checked readings to Parquet, as the intake runs it, then those
readings read back and normalized, as the standardized asset runs them: the file is parsed
once. The
baseline is `pl.read_csv` of the same file into a frame (types inferred). Each is timed
twice, alternating, after a warm-up; the faster of each counts.
"""

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl

from bench.common import (
    START,
    Result,
    alternating,
    meter_ids,
    scratch,
    write_platform,
    write_readings_csv,
)

NAME = "parse"
TARGET = 0.3
SIZES = {"full": (1000, 8760), "quick": (100, 2000), "toy": (3, 24)}  # meters, hours
ARRIVAL = datetime(2022, 1, 1, tzinfo=UTC)


def standardize_file(path: Path, connector, meters) -> int:
    """The platform's path: the landing check as the intake runs it (values checked in their
    meters' units, the readings kept as Parquet), then the kept readings normalized as the
    standardized asset reads them; the rows standardized."""
    from b8760_assets.landing.checked_readings import CheckedReadings, read_checked_readings
    from b8760_assets.landing.file_checks import KnownMeters, check_local_file

    known = KnownMeters.of(connector, meters)
    normalizer = known.normalizer
    kept = path.with_suffix(".parquet")
    with CheckedReadings(kept) as readings:
        checked = check_local_file(
            path.name, path, connector, meters=known, on_readings=readings.write
        )
    if not checked.accepted:
        raise RuntimeError(f"the benchmark file was refused: {checked.rejection}")
    normalize = partial(
        normalizer.normalize, arrival_hour=ARRIVAL, source_file=path.name, uploaded_at=ARRIVAL
    )
    rows = sum(each.rows.height for each in read_checked_readings(kept, normalize))
    kept.unlink()
    return rows


def run(size: str = "full") -> list[Result]:
    from b8760_assets.config import load_platform

    meters_count, hours = SIZES[size]
    with scratch(NAME) as folder:
        platform = load_platform(
            write_platform(folder / "platform", 1, meters_count, max_bytes=10**12)
        )
        [connector] = platform.connectors.values()
        meters = {meter.id: meter for meter in platform.meters}
        path = folder / "readings.csv"
        rows = write_readings_csv(path, meter_ids(meters_count), START, hours)
        size_bytes = path.stat().st_size

        raw_times, platform_times = alternating(
            lambda: pl.read_csv(path).height,
            lambda: standardize_file(path, connector, meters),
            rows,
        )
    raw, figure = min(raw_times), min(platform_times)
    return [
        Result(
            benchmark="1. parse + check + normalize",
            figure=rows / figure,
            figure_unit="readings/s",
            figure_label=f"{rows:,} rows, {size_bytes / 1e6:,.0f} MB, {figure:.2f} s",
            baseline=rows / raw,
            baseline_unit="rows/s",
            baseline_label=f"pl.read_csv, {raw:.2f} s",
            target=TARGET,
            notes={
                "rows": rows,
                "bytes": size_bytes,
                "seconds": platform_times,
                "raw_seconds": raw_times,
            },
        )
    ]
