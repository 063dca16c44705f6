"""What every benchmark shares: the result row and its table, a private local stack, generated
platforms and readings, timing and peak memory.

Each benchmark measures a figure and, in the same run and on the same data, a baseline that
bounds it (polars reading the file, the raw GCS client, an empty bucket, ...); the ratio of
the two is what the targets are about, so that a slower or busier machine moves both.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

CHECKOUT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


@dataclass
class Result:
    """One row of the table: a figure beside its baseline, and the target on their ratio.

    `better` says which way is good for the ratio: "higher" (throughput) or "lower" (cost).
    `target` is the bound on the ratio (None: no target on it); `met` may be decided by the
    benchmark itself when the target is on the figure alone (e.g. an absolute time).
    """

    benchmark: str
    figure: float
    figure_unit: str
    figure_label: str
    baseline: float | None
    baseline_unit: str
    baseline_label: str
    better: str = "higher"
    target: float | None = None
    target_text: str = ""
    met: bool | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.figure / self.baseline

    def __post_init__(self) -> None:
        if self.met is None and self.target is not None and self.ratio is not None:
            if self.better == "higher":
                self.met = self.ratio >= self.target
            else:
                self.met = self.ratio <= self.target
        if not self.target_text and self.target is not None:
            sign = ">=" if self.better == "higher" else "<="
            self.target_text = f"ratio {sign} {self.target:g}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def number(value: float, unit: str) -> str:
    if unit in ("s",):
        return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if value >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.3g} {unit}".strip()


def table(results: Sequence[Result]) -> str:
    """The results as a Markdown table: benchmark | figure | baseline | ratio | target | met?"""
    rows = [
        "| benchmark | figure | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        baseline = (
            f"{number(r.baseline, r.baseline_unit)} ({r.baseline_label})"
            if r.baseline is not None
            else r.baseline_label or "—"
        )
        ratio = "—" if r.ratio is None else f"{r.ratio:.3g}"
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        rows.append(
            f"| {r.benchmark} | {number(r.figure, r.figure_unit)} ({r.figure_label}) "
            f"| {baseline} | {ratio} | {r.target_text or '—'} | {met} |"
        )
    return "\n".join(rows)


def machine() -> dict[str, Any]:
    """Where the figures come from: cores, memory, CPU model, load when the run started."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "load_average": os.getloadavg(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def stack_cpu_seconds() -> float:
    """CPU seconds used so far by this process and by the local stack's emulators (each with
    its threads): what a step costs whatever else the shared machine runs beside it."""
    from b8760_assets import local_stack

    ticks = os.sysconf("SC_CLK_TCK")
    used = time.process_time()
    for service in local_stack.status():
        if service.pid is not None:
            fields = Path(f"/proc/{service.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def alternating(
    baseline: Callable[[], Any], platform: Callable[[], int], rows: int, rounds: int = 2
) -> tuple[list[float], list[float]]:
    """The seconds of the baseline and of the platform's path, each timed `rounds` times in
    turn after a warm-up of both (the page cache, polars' threads), so that whatever else the
    machine does weighs on both alike; the platform's path must give `rows` every time."""
    baseline()
    platform()
    baseline_times, platform_times = [], []
    for _ in range(rounds):
        baseline_times.append(timed(baseline)[0])
        seconds, given = timed(platform)
        assert given == rows, (given, rows)
        platform_times.append(seconds)
    return baseline_times, platform_times


def best_of(repeats: int, function: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `repeats` runs (the least disturbed by whatever else the machine does)."""
    runs = [timed(function) for _ in range(repeats)]
    return min(runs, key=lambda run: run[0])


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# The private stack


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the block; subprocesses inherit."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def private_stack(folder: Path) -> Iterator[Path]:
    """A local stack of the benchmarks' own: state under `folder`, free ports, never a
    developer's stack (the idea of b8760_assets_tests/stack.py); stopped on the way out.

    PYTHONPATH names this checkout, so that subprocesses (dagster, the memory probe) run the
    code being measured.
    """
    from b8760_assets import local_stack

    variables = local_stack.PORT_VARIABLES
    ports = dict(zip(variables, map(str, local_stack.free_ports(len(variables))), strict=True))
    pythonpath = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    with environment(
        B8760_STATE_DIR=str(folder),
        B8760_GCP_PROJECT=None,
        B8760_PLATFORM_DIR=None,
        B8760_LANDING_BUCKET=None,
        PYTHONPATH=pythonpath,
        **ports,
    ):
        try:
            local_stack.start_all()
            yield folder
        finally:
            local_stack.stop_all()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


# Generated platforms and readings

PROPERTIES = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">
<properties>
  <entry key="connector.name">{name}</entry>
  <entry key="connector.external">true</entry>
  <entry key="participant.name">{participant}</entry>
  <entry key="participant.bucket">{bucket}</entry>
  <entry key="file.formats">{formats}</entry>
  <entry key="file.max.bytes">{max_bytes}</entry>
  <entry key="data.timezone">{timezone}</entry>
  <entry key="data.unit">kWh</entry>
  <entry key="data.start.hour">{start:%Y-%m-%dT%H:%M:%SZ}</entry>
</properties>
"""
METER = """  <meter id="{id}" connector="{connector}" participant="{participant}">
    <commodity>electricity</commodity>
    <unit>kWh</unit>
    <multiplier>1</multiplier>
    <timezone>{timezone}</timezone>
    <site>Site {id}</site>{usage_point}
  </meter>
"""
START = datetime(2021, 1, 1, tzinfo=UTC)
TIMEZONE = "America/New_York"


def meter_ids(count: int) -> list[str]:
    return [f"M{number:05d}" for number in range(count)]


def write_platform(
    folder: Path,
    connectors: int,
    meters_per_connector: int,
    *,
    participants: int = 1,
    bucket_prefix: str = "participant",
    start: datetime = START,
    max_bytes: int = 100 * MB,
    formats: str = "csv",
    usage_point: Callable[[str], str] | None = None,
) -> Path:
    """A platform folder as docs/configuration.md describes it: connectors c000, c001, ...
    of participants p0, p1, ... (buckets <bucket_prefix>-0, ...), each with its meters in a
    meter XML file of its own; with `usage_point`, each meter reads the Green Button
    UsagePoint it names for the meter's id."""
    for number in range(connectors):
        name = f"c{number:03d}"
        participant = f"p{number % participants}"
        bucket = f"{bucket_prefix}-{number % participants}"
        properties = folder / "connectors" / name / "properties.xml"
        properties.parent.mkdir(parents=True, exist_ok=True)
        properties.write_text(
            PROPERTIES.format(
                name=name,
                participant=participant,
                bucket=bucket,
                timezone=TIMEZONE,
                start=start,
                max_bytes=max_bytes,
                formats=formats,
            )
        )
        meters = folder / "meters" / f"{name}.xml"
        meters.parent.mkdir(parents=True, exist_ok=True)
        meters.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<meters xmlns="https://benchmark8760.org/schema/meters/1">\n'
            + "".join(
                METER.format(
                    id=meter,
                    connector=name,
                    participant=participant,
                    timezone=TIMEZONE,
                    usage_point=""
                    if usage_point is None
                    else f"\n    <usage_point>{usage_point(meter)}</usage_point>",
                )
                for meter in meter_ids(meters_per_connector)
            )
            + "</meters>\n"
        )
    return folder


def hourly_readings(
    meters: Sequence[str], start: datetime, hours: int, *, seed: int = 1
) -> Iterator[pl.DataFrame]:
    """A connector's CSV columns (as text, the way it writes them), one meter at a time:
    hourly readings with local-time offsets (`2021-01-01T00:00:00-05:00`), as in the
    sample files."""
    starts = pl.datetime_range(
        start, start + timedelta(hours=hours - 1), "1h", eager=True, time_zone="UTC"
    )
    start_text = starts.dt.convert_time_zone(TIMEZONE).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    end_text = (
        starts.dt.offset_by("1h").dt.convert_time_zone(TIMEZONE).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    )
    random = np.random.default_rng(seed)
    for meter in meters:
        yield pl.DataFrame(
            {
                "meter_id": pl.Series([meter]).extend_constant(meter, hours - 1),
                "start": start_text,
                "end": end_text,
                "value": np.round(random.random(hours) * 100, 3),
                "unit": pl.Series(["kWh"]).extend_constant("kWh", hours - 1),
                "quality": pl.Series(["A"]).extend_constant("A", hours - 1),
            }
        )


def write_readings_csv(
    path: Path, meters: Sequence[str], start: datetime, hours: int, *, seed: int = 1
) -> int:
    """Write hourly readings of `meters` for `hours` from `start`; returns the rows written."""
    rows = 0
    with open(path, "wb") as file:
        file.write(b"meter_id,start,end,value,unit,quality\n")
        for frame in hourly_readings(meters, start, hours, seed=seed):
            frame.write_csv(file, include_header=False)
            rows += frame.height
    return rows


def csv_of_size(path: Path, target_bytes: int, *, hours: int = 8760) -> int:
    """A CSV of about `target_bytes` (whole meters of `hours` readings); returns its rows."""
    row_bytes = 72  # 'M00000,2021-01-01T00:00:00-05:00,2021-01-01T01:00:00-05:00,51.182,kWh,A'
    meters = max(1, round(target_bytes / (row_bytes * hours)))
    return write_readings_csv(path, meter_ids(meters), START, hours)


def run_python(code: str, *args: str, timeout: float = 3600) -> dict:
    """Run Python code in a fresh interpreter (the checkout's venv) with `args` as
    sys.argv[1:]; it prints one JSON object on its last line, which is returned."""
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"benchmark subprocess failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def dagster_home(folder: Path) -> Iterator[Path]:
    """A Dagster instance of the benchmark's own: DAGSTER_HOME in `folder`, with the
    checkout's dagster.yaml, as `make install` prepares it."""
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((CHECKOUT / "dagster.yaml").read_text())
    with environment(DAGSTER_HOME=str(home)):
        yield home


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"b8760-bench-{prefix}-") as folder:
        yield Path(folder)
