"""1. Parse + check + normalize throughput, readings/s, against polars reading the same file.

The file: hourly readings of 1,000 meters for a year (8.76 M rows, about 630 MB), with
local-time offsets (`2021-01-01T00:00:00-05:00`), every meter described in the connector's
meter XML. The same readings are then written in each CSV layout (file.csv.*, LAYOUTS) and
read by a connector of that layout, each its own row beside `pl.read_csv` of its own file:
a utility's "Download My Data" export (account lines, date and wall times in columns, an
inclusive end minute, the fall day's hour twice in file order), and a European export
(semicolons, a decimal comma, one interval length, a fixed unit).

The figure is the platform's path from a downloaded file to standardized rows:
`check_local_file` (the landing check, a batch at a time, in threads, values checked in their
meters' units) writing the checked readings to Parquet, as the intake runs it, then those
readings read back and normalized, as the standardized asset runs them: the file is parsed
once. The baseline is `pl.read_csv` of the same file into a frame (types inferred; the
lines before a layout's header skipped). Each is timed
twice, alternating, after a warm-up; the faster of each counts.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from bench.common import (
    START,
    TIMEZONE,
    Result,
    alternating,
    hourly_readings,
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


ACCOUNT_LINES = b'Name,PAT DOE\nAddress,"12 MAIN ST, SPRINGFIELD"\nAccount Number,1234567890\n\n'


def write_download_my_data_csv(
    path: Path, meters: Sequence[str], start: datetime, hours: int
) -> int:
    """The readings as a utility's "Download My Data" export of many meters: account lines,
    then METER,TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES in wall time, each end
    its interval's last minute; the fall day's 01:00 twice."""
    rows = 0
    with open(path, "wb") as file:
        file.write(ACCOUNT_LINES + b"METER,TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\n")
        starts = pl.datetime_range(
            start, start + timedelta(hours=hours - 1), "1h", eager=True, time_zone="UTC"
        ).dt.convert_time_zone(TIMEZONE)
        last_minutes = (starts.dt.offset_by("59m")).dt.strftime("%H:%M")
        for frame in hourly_readings(meters, start, hours):
            frame.select(
                pl.col("meter_id").alias("METER"),
                pl.lit("Electric usage").alias("TYPE"),
                starts.dt.strftime("%Y-%m-%d").alias("DATE"),
                starts.dt.strftime("%H:%M").alias("START TIME"),
                last_minutes.alias("END TIME"),
                pl.col("value").alias("USAGE"),
                pl.col("unit").alias("UNITS"),
                (pl.col("value") * 0.14).round(2).cast(pl.String).alias("COST"),
                pl.lit(None, pl.String).alias("NOTES"),
            ).write_csv(file, include_header=False)
            rows += frame.height
    return rows


def write_decimal_comma_csv(path: Path, meters: Sequence[str], start: datetime, hours: int) -> int:
    """The readings as a European export: Meter;Start;Consumption, semicolons between the
    fields, the value with a decimal comma, one interval length and one unit for the file."""
    rows = 0
    with open(path, "wb") as file:
        file.write(b"Meter;Start;Consumption\n")
        for frame in hourly_readings(meters, start, hours):
            frame.select(
                "meter_id",
                "start",
                pl.col("value").cast(pl.String).str.replace(".", ",", literal=True),
            ).write_csv(file, include_header=False, separator=";")
            rows += frame.height
    return rows


@dataclass(frozen=True)
class Layout:
    """A CSV layout the benchmark reads: its properties.xml entries, and how its file is
    written and read by pl.read_csv."""

    name: str
    entries: dict[str, str]
    write: Callable[[Path, Sequence[str], datetime, int], int]
    # How pl.read_csv reads the same file: the lines before the header skipped, its
    # separator and decimal mark.
    read_csv: dict[str, Any] = field(default_factory=dict)


LAYOUTS = (
    Layout(
        "Download My Data",
        {
            "file.csv.skip.rows": "4",
            "file.csv.column.meter_id": "METER",
            "file.csv.column.date": "DATE",
            "file.csv.column.start": "START TIME",
            "file.csv.column.end": "END TIME",
            "file.csv.end": "inclusive_minute",
            "file.csv.column.value": "USAGE",
            "file.csv.column.unit": "UNITS",
            "file.csv.ignore.columns": "TYPE,COST,NOTES",
            "file.csv.timestamp.format": "%Y-%m-%d %H:%M",
            "file.csv.dst.repeated": "file_order",
        },
        write_download_my_data_csv,
        {"skip_lines": 4},
    ),
    Layout(
        "decimal comma",
        {
            "file.csv.column.meter_id": "Meter",
            "file.csv.column.start": "Start",
            "file.csv.interval.minutes": "60",
            "file.csv.column.value": "Consumption",
            "file.csv.unit": "kWh",
            "file.csv.decimal": ",",
            "file.csv.separator": ";",
        },
        write_decimal_comma_csv,
        {"separator": ";", "decimal_comma": True},
    ),
)


def with_layout(properties: Path, entries: dict[str, str]) -> None:
    text = "".join(f'  <entry key="{key}">{value}</entry>\n' for key, value in entries.items())
    properties.write_text(properties.read_text().replace("</properties>", text + "</properties>"))


def run(size: str = "full") -> list[Result]:
    """The platform's own layout first (the figure earlier runs recorded), then each of
    LAYOUTS on the same readings."""
    own = Layout(
        "", {}, lambda path, meters, start, hours: write_readings_csv(path, meters, start, hours)
    )
    return [measure(size, layout) for layout in (own, *LAYOUTS)]


def measure(size: str, layout: Layout) -> Result:
    from b8760_assets.config import load_platform

    meters_count, hours = SIZES[size]
    with scratch(NAME) as folder:
        root = write_platform(folder / "platform", 1, meters_count, max_bytes=10**12)
        with_layout(root / "connectors" / "c000" / "properties.xml", layout.entries)
        platform = load_platform(root)
        [connector] = platform.connectors.values()
        meters = {meter.id: meter for meter in platform.meters}
        path = folder / "readings.csv"
        rows = layout.write(path, meter_ids(meters_count), START, hours)
        size_bytes = path.stat().st_size

        raw_times, platform_times = alternating(
            lambda: pl.read_csv(path, **layout.read_csv).height,
            lambda: standardize_file(path, connector, meters),
            rows,
        )
    raw, figure = min(raw_times), min(platform_times)
    return Result(
        benchmark="1. parse + check + normalize"
        + (f", layout: {layout.name}" if layout.name else ""),
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
