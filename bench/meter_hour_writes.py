"""2. Meter-hour object writes/s through the storage resource, against the raw client.

The objects: hourly readings of 20 meters for 1,000 hours (20,000 meter-hour objects, new in
a fresh bucket each time). The figure is the standardized asset's path from standardized
rows to objects (`merge_meter_hours`: the JSON of each object, then a compare-and-swap write
through `StorageResource`). The baseline writes the same names, bytes and metadata with the
raw google-cloud-storage client (`upload_from_string` from a thread pool), with the thread
count that was fastest in a sweep in the same run.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import polars as pl
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage as gcs
from requests.adapters import HTTPAdapter

from bench.common import Result, hourly_readings, meter_ids, unique_name

NAME = "meter_hour_writes"
TARGET = 0.8
THREADS = (4, 8, 16, 32, 64)


def standardized_rows(meters: int, hours: int) -> pl.DataFrame:
    from b8760_assets.config import ConnectorProperties
    from b8760_assets.standardized.normalize import normalize

    connector = ConnectorProperties(
        name="bench", participant="p0", bucket="unused", external=True, formats=("csv",),
        timezone="America/New_York", unit="kWh", start_hour=datetime(2021, 1, 1, tzinfo=UTC),
        max_file_bytes=10**9, source=None,
    )  # fmt: skip
    from b8760_assets.landing.file_checks import check_file

    text = pl.concat(hourly_readings(meter_ids(meters), datetime(2021, 1, 1, tzinfo=UTC), hours))
    data = text.write_csv().encode()
    readings = check_file("bench.csv", data, connector).readings
    return normalize(
        readings,
        connector=connector,
        meters={},
        arrival_hour=datetime(2022, 1, 1, tzinfo=UTC),
        source_file="bench.csv",
    ).rows


def raw_client(endpoint: str, threads: int) -> gcs.Client:
    session = AuthorizedSession(AnonymousCredentials())
    adapter = HTTPAdapter(pool_maxsize=threads, pool_connections=threads)
    session.mount("http://", adapter)
    return gcs.Client(
        project="b8760-local",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
        _http=session,
    )


def raw_writes(
    endpoint: str, bucket: str, objects: list[tuple[str, bytes, dict]], threads: int
) -> float:
    """Seconds to write the objects with the raw client from `threads` threads."""
    client = raw_client(endpoint, threads)
    target = client.bucket(bucket)

    def write(item: tuple[str, bytes, dict]) -> None:
        name, data, metadata = item
        blob = target.blob(name)
        blob.metadata = metadata
        blob.upload_from_string(data, content_type="application/json")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, objects))
    return time.perf_counter() - started


def platform_writes(storage, bucket: str, rows: pl.DataFrame) -> tuple[float, int]:
    from b8760_assets.standardized.assets import merge_meter_hours

    started = time.perf_counter()
    outcome = merge_meter_hours(storage, bucket, rows)
    seconds = time.perf_counter() - started
    assert outcome.written == outcome.objects, outcome
    return seconds, outcome.objects


def run(quick: bool) -> list[Result]:
    from b8760_assets.standardized.meter_hours import (
        merge_meter_hour,
        meter_hour_batches,
        meter_hour_metadata,
    )
    from b8760_assets.storage import StorageResource

    meters, hours = (10, 100) if quick else (20, 1000)
    rows = standardized_rows(meters, hours)
    contents = [
        (name, content, meter_hour_metadata(content))
        for name, frame in meter_hour_batches(rows).items()
        for content in [merge_meter_hour(None, frame)]
    ]
    storage = StorageResource()
    endpoint = storage.api_endpoint

    def fresh_bucket() -> str:
        name = unique_name("bench-writes")
        storage.ensure_bucket(name)
        return name

    # Warm-up (connections, emulator), then the thread sweep on a part of the objects.
    raw_writes(endpoint, fresh_bucket(), contents[:500], 16)
    platform_writes(storage, fresh_bucket(), rows.head(500))
    sweep_size = min(len(contents), 5000)
    sweep = {
        threads: sweep_size / raw_writes(endpoint, fresh_bucket(), contents[:sweep_size], threads)
        for threads in THREADS
    }
    best = max(sweep, key=sweep.get)
    raw_times, platform_times = [], []
    for _ in range(2):
        raw_times.append(raw_writes(endpoint, fresh_bucket(), contents, best))
        seconds, written = platform_writes(storage, fresh_bucket(), rows)
        assert written == len(contents)
        platform_times.append(seconds)
    raw, figure = min(raw_times), min(platform_times)
    count = len(contents)
    return [
        Result(
            benchmark="2. meter-hour object writes",
            figure=count / figure,
            figure_unit="objects/s",
            figure_label=f"{count:,} new objects, StorageResource.update_many, "
            f"{storage.max_parallel_writes} threads",
            baseline=count / raw,
            baseline_unit="objects/s",
            baseline_label=f"raw client, {best} threads",
            target=TARGET,
            notes={
                "objects": count,
                "sweep_objects_per_s": sweep,
                "seconds": platform_times,
                "raw_seconds": raw_times,
            },
        )
    ]
