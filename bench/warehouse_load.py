"""6. Warehouse load rows/s into the local BigQuery emulator, against a raw client load of the
same rows.

The rows: the standardized Parquet batches of 10 arrival hours, 20,000 readings each
(200,000 in all: 100 meters x 2,000 hours), in GCS as the standardized asset writes them.
The figure is the `warehouse_meter_links` asset materializing those 10 hours in one run
(load the batches into a staging table, MERGE into `readings` linked to `meters`, report
unknown meters, drop the staging table). The baseline is one `load_table_from_uri` job of
the same objects into a fresh table with the raw google-cloud-bigquery client. Both are also
counted in CPU seconds (this process and the emulators): on a shared machine the wall-clock
ratio swings with whatever else runs, the CPU ratio much less.
"""

import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from bench.common import (
    START,
    Result,
    hourly_readings,
    meter_ids,
    stack_cpu_seconds,
    unique_name,
)

NAME = "warehouse_load"
SIZES = {"full": (100, 2000, 10), "quick": (20, 100, 2), "toy": (2, 3, 1)}  # meters, hours, batches
ARRIVAL = datetime(2022, 3, 1, tzinfo=UTC)  # ext_conn1 starts at 2022-01-01T06:00Z


def run(size: str = "full") -> list[Result]:
    import dagster as dg
    from google.cloud import bigquery

    from b8760_assets.config import load_platform
    from b8760_assets.landing.file_checks import check_file
    from b8760_assets.layout import ConnectorLayout
    from b8760_assets.meter_links import build_meter_links
    from b8760_assets.meter_registry import build_meter_registry
    from b8760_assets.partitions import range_run_tags
    from b8760_assets.readings_schema import BIGQUERY_SCHEMA
    from b8760_assets.resources import storage_resource, warehouse_resource
    from b8760_assets.settings import SAMPLE_PLATFORM_DIR
    from b8760_assets.standardized.assets import HourBatch
    from b8760_assets.standardized.normalize import Normalizer
    from b8760_assets.warehouse import parquet_load

    meters, hours, arrivals = SIZES[size]
    storage = storage_resource()
    warehouse = warehouse_resource(dataset=unique_name("bench_load").replace("-", "_"))
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    connector = replace(connector, bucket=unique_name("bench-load"), max_file_bytes=10**10)
    layout = ConnectorLayout(connector, "unused")
    storage.ensure_bucket(connector.bucket)

    folder = Path(tempfile.mkdtemp(prefix="b8760-bench-load-"))
    text = pl.concat(hourly_readings(meter_ids(meters), START, hours))
    checked = check_file("bench.csv", text.write_csv().encode(), connector)
    readings = checked.readings
    assert readings is not None, checked.rejection  # the generated file is accepted
    per_arrival = -(-readings.height // arrivals)
    normalizer = Normalizer(connector, {})
    uris = []
    for number in range(arrivals):
        hour = ARRIVAL + timedelta(hours=number)
        rows = normalizer.normalize(
            readings.slice(number * per_arrival, per_arrival),
            arrival_hour=hour,
            source_file="bench.csv",
            uploaded_at=hour,
        ).rows
        batch = HourBatch(folder / f"{number}.parquet")  # as standardized_readings writes it
        batch.write(rows)
        batch.close()
        uris.append(storage.upload_file(connector.bucket, layout.batch(hour), batch.path).uri)
    total = readings.height
    shutil.rmtree(folder)

    warehouse.ensure_table("warmup", BIGQUERY_SCHEMA)  # starts the emulator's dataset
    with warehouse.get_client() as client:
        table = f"{client.project}.{warehouse.table_id('raw_load')}"
        client.create_table(bigquery.Table(table, schema=BIGQUERY_SCHEMA))
        started, cpu = time.perf_counter(), stack_cpu_seconds()
        job = client.load_table_from_uri(uris, table, job_config=parquet_load("WRITE_APPEND"))
        job.result()
        raw, raw_cpu = time.perf_counter() - started, stack_cpu_seconds() - cpu
        assert job.output_rows == total, (job.output_rows, total)

    asset = build_meter_links(layout, dg.AssetKey([connector.name, "standardized_readings"]))
    registry = build_meter_registry(load_platform(SAMPLE_PLATFORM_DIR))
    assert dg.materialize([registry], resources={"warehouse": warehouse}).success
    with dg.instance_for_test() as instance:
        started, cpu = time.perf_counter(), stack_cpu_seconds()
        result = dg.materialize(
            [asset],
            instance=instance,
            resources={"storage": storage, "warehouse": warehouse},
            tags=range_run_tags(ARRIVAL, ARRIVAL + timedelta(hours=arrivals - 1)),
        )
        figure, figure_cpu = time.perf_counter() - started, stack_cpu_seconds() - cpu
    assert result.success
    [count] = warehouse.query("SELECT COUNT(*) AS n FROM readings")
    assert count["n"] == total, (count, total)
    return [
        Result(
            benchmark="6. warehouse load",
            figure=total / figure,
            figure_unit="rows/s",
            figure_label=f"{total:,} rows, {arrivals} batches: load + MERGE, {figure:.1f} s",
            baseline=total / raw,
            baseline_unit="rows/s",
            baseline_label=f"raw load_table_from_uri, {raw:.1f} s",
            notes={
                "rows": total,
                "seconds": figure,
                "raw_seconds": raw,
                "cpu_seconds": figure_cpu,
                "raw_cpu_seconds": raw_cpu,
                "cpu_ratio": raw_cpu / figure_cpu,
            },
        )
    ]
