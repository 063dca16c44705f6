"""2. Meter-hour object writes/s through the storage resource, against the raw client.

The objects: hourly readings of 20 meters for 1,000 hours (20,000 meter-hour objects, new in
a fresh bucket each time). The figure is the standardized asset's path from standardized
rows to objects (`merge_meter_hours`: each object's JSON, then a compare-and-swap write
through `object_updates.update_each`). The baseline writes the same names, bytes and
metadata with the raw google-cloud-storage client (`upload_from_string` from a thread pool)
with the thread count that was fastest in a sweep in the same run. Both are timed twice,
alternating, after a warm-up; the faster of each counts.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import polars as pl
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage as gcs
from requests.adapters import HTTPAdapter

from bench.common import START, Result, hourly_readings, meter_ids, unique_name

NAME = "meter_hour_writes"
TARGET = 0.8
SIZES = {  # meters, hours, thread counts swept, objects in the sweep
    "full": (20, 1000, (4, 8, 16, 32, 64), 5000),
    "quick": (10, 100, (8, 16, 32), 1000),
    "toy": (2, 5, (4,), 10),
}


def standardized_rows(meters: int, hours: int) -> pl.DataFrame:
    """Hourly readings of `meters` for `hours`, standardized as the asset standardizes them."""
    from b8760_assets.config import load_platform
    from b8760_assets.landing.file_checks import check_file
    from b8760_assets.settings import SAMPLE_PLATFORM_DIR
    from b8760_assets.standardized.normalize import Normalizer

    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["coned"]
    connector = replace(connector, max_file_bytes=10**10)
    text = pl.concat(hourly_readings(meter_ids(meters), START, hours))
    checked = check_file("bench.csv", text.write_csv().encode(), connector)
    readings = checked.readings
    assert readings is not None, checked.rejection  # the generated file is accepted
    arrival = datetime(2022, 1, 1, tzinfo=UTC)
    return (
        Normalizer(connector, {})
        .normalize(
            readings,
            arrival_hour=arrival,
            source_file="bench.csv",
            uploaded_at=arrival,
        )
        .rows
    )


def raw_client(endpoint: str, threads: int) -> gcs.Client:
    """The google-cloud-storage client as anyone would set it up: one pooled connection per
    thread, anonymous credentials for the emulator."""
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
    target = raw_client(endpoint, threads).bucket(bucket)

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


def run(size: str = "full") -> list[Result]:
    from b8760_assets.resources import storage_resource
    from b8760_assets.standardized.meter_hours import (
        merge_meter_hour_document,
        meter_hour_documents,
        meter_hour_metadata,
    )

    meters, hours, thread_counts, sweep_size = SIZES[size]
    rows = standardized_rows(meters, hours)
    contents = [
        (name, content, meter_hour_metadata(content))
        for name, document in meter_hour_documents(rows)
        for content in [merge_meter_hour_document(None, document)]
    ]
    storage = storage_resource()
    endpoint = storage.api_endpoint

    def fresh_bucket() -> str:
        name = unique_name("bench-writes")
        storage.ensure_bucket(name)
        return name

    # Warm-up (connections, the emulator), then the thread sweep on some of the objects.
    raw_writes(endpoint, fresh_bucket(), contents[:sweep_size], 16)
    platform_writes(storage, fresh_bucket(), rows.head(sweep_size))
    sweep = {
        threads: sweep_size / raw_writes(endpoint, fresh_bucket(), contents[:sweep_size], threads)
        for threads in thread_counts
    }
    best = max(sweep, key=sweep.__getitem__)
    raw_times, platform_times = [], []
    for _ in range(2):
        raw_times.append(raw_writes(endpoint, fresh_bucket(), contents, best))
        seconds, written = platform_writes(storage, fresh_bucket(), rows)
        assert written == len(contents), (written, len(contents))
        platform_times.append(seconds)
    raw, figure = min(raw_times), min(platform_times)
    count = len(contents)
    return [
        Result(
            benchmark="2. meter-hour object writes",
            figure=count / figure,
            figure_unit="objects/s",
            figure_label=f"{count:,} new objects, merge_meter_hours, "
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
