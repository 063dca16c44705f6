"""12. Validation rules, readings/s, against a bare polars group_by of the same frame.

The frame: a year of hourly standardized readings of 1,000 meters (8.76 M rows, as the
standardized asset holds an hour's rows before validating them), every meter described in
the connector's meter XML. The figure is `validate` (every rule of b8760_assets.validation:
the rows ordered, gaps, duplicates, overlaps, spikes, limits, negatives, zero runs,
alignment, each reading's verdict). The baseline is one `group_by` of the same frame by meter
and local day (what the day rules group by) taking each group's count, highest and lowest:
the least any per-day rule costs. The platform's path as the asset runs it on so large an
hour (HourRows spilling to Parquet parts, each validated) is timed too, into the notes.
Each is timed twice, alternating, after a warm-up; the faster of each counts.
"""

import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from bench.common import START, Result, alternating, meter_ids, scratch, timed, write_platform

NAME = "validation"
TARGET = 0.3
SIZES = {"full": (1000, 8760), "quick": (100, 2000), "toy": (3, 48)}  # meters, hours
BATCH_ROWS = 100_000  # rows added to HourRows at a time, as a file's batches come


def standardized_rows(folder: Path, meters: int, hours: int) -> tuple[pl.DataFrame, dict]:
    """The year of hourly readings, normalized as the standardized asset normalizes them."""
    from b8760_assets.config import load_platform
    from b8760_assets.landing.formats import READINGS_SCHEMA
    from b8760_assets.standardized.normalize import Normalizer

    platform = load_platform(write_platform(folder / "platform", 1, meters))
    [connector] = platform.connectors.values()
    described = {meter.id: meter for meter in platform.meters}
    starts = pl.datetime_range(
        START, START + pl.duration(hours=hours - 1), "1h", eager=True, time_zone="UTC"
    )
    random = np.random.default_rng(1)
    readings = (
        pl.DataFrame(
            {
                "meter_id": np.repeat(meter_ids(meters), hours),
                "interval_start": pl.concat([starts] * meters),
                "value": np.round(random.random(meters * hours) * 100, 3),
            }
        )
        .select(
            "meter_id",
            "interval_start",
            interval_end=pl.col("interval_start").dt.offset_by("1h"),
            value="value",
            unit=pl.lit("kWh"),
            quality=pl.lit("A"),
            line=pl.int_range(2, pl.len() + 2, dtype=pl.Int64),
        )
        .cast(READINGS_SCHEMA)
    )
    rows = (
        Normalizer(connector, described)
        .normalize(readings, arrival_hour=START, source_file="year.csv", uploaded_at=START)
        .rows
    )
    return rows, {"connector": connector, "meters": described}


def run(size: str = "full") -> list[Result]:
    from b8760_assets.standardized.hour_rows import HourRows
    from b8760_assets.standardized.validation_checks import meter_limits, thresholds
    from b8760_assets.validation import validate

    meters_count, hours = SIZES[size]
    with scratch(NAME) as folder:
        rows, config = standardized_rows(folder, meters_count, hours)
    connector = config["connector"]
    limits, rules = meter_limits(config["meters"]), thresholds(connector)

    def platform() -> int:
        return validate(rows, limits, rules, connector.timezone).rows.height

    def baseline() -> int:
        day = pl.col("local_start").str.slice(0, 10).alias("local_day")
        groups = rows.group_by("meter_id", day).agg(
            pl.len(), highest=pl.col("value").max(), lowest=pl.col("value").min()
        )
        return groups.height

    def in_parts() -> int:
        with tempfile.TemporaryDirectory(prefix="b8760-bench-validation-") as spill:
            held = HourRows(Path(spill))
            for batch in rows.iter_slices(BATCH_ROWS):
                held.add(batch)
            return sum(
                validate(part, limits, rules, connector.timezone).rows.height
                for part in held.parts()
            )

    raw_times, platform_times = alternating(baseline, platform, rows.height)
    parts_seconds, parts_rows = timed(in_parts)
    assert parts_rows == rows.height
    raw, figure = min(raw_times), min(platform_times)
    return [
        Result(
            benchmark="12. validation rules",
            figure=rows.height / figure,
            figure_unit="readings/s",
            figure_label=f"{rows.height:,} readings, {figure:.2f} s",
            baseline=rows.height / raw,
            baseline_unit="rows/s",
            baseline_label=f"group_by meter and local day, {raw:.2f} s",
            target=TARGET,
            notes={
                "rows": rows.height,
                "seconds": platform_times,
                "raw_seconds": raw_times,
                "in_parts_seconds": round(parts_seconds, 2),
            },
        )
    ]
