"""Standardized readings: the second asset of each connector's chain.

Parses the hours' accepted files (from their manifests), normalizes them (UTC, the meter's
unit and multiplier, a version per row), writes each hour's rows as one Parquet batch for
the warehouse, and merges the readings into the meter-hour objects participants download.
The merge is compare-and-swap per object, newest version per interval, so concurrent runs
and replays in any order end in the same objects.
"""

import io
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import partial

import dagster as dg
import polars as pl

from b8760_assets.config import Meter
from b8760_assets.landing.assets import raw_landing_files_key
from b8760_assets.landing.file_checks import check_file
from b8760_assets.landing.intake import read_manifest
from b8760_assets.landing.layout import ConnectorLayout
from b8760_assets.landing.manifest import ACCEPTED
from b8760_assets.partitions import chain_asset, hour_of_partition
from b8760_assets.standardized.meter_hours import (
    CONTENT_TYPE,
    merge_meter_hour,
    meter_hour_batches,
    meter_hour_metadata,
)
from b8760_assets.standardized.normalize import (
    STANDARDIZED_SCHEMA,
    Normalized,
    newest_per_interval,
    normalize,
)
from b8760_assets.storage import ObjectUpdate, StorageResource

STANDARDIZED_READINGS = "standardized_readings"
UNIT_CHECK = "units_convert_to_meter_units"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"


def normalized_files(
    storage: StorageResource, layout: ConnectorLayout, meters: Mapping[str, Meter], hour: datetime
) -> Iterator[Normalized]:
    """The hour's accepted files, read back from raw/ and normalized, one by one."""
    manifest, _ = read_manifest(storage, layout, hour)
    for entry in manifest.files:
        if entry.outcome != ACCEPTED:
            continue
        data = storage.read(layout.bucket, layout.accepted(hour, entry.name)).data
        checked = check_file(entry.name, data, layout.connector)
        yield normalize(
            checked.readings,
            connector=layout.connector,
            meters=meters,
            arrival_hour=hour,
            source_file=entry.name,
        )


def parquet_bytes(rows: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    rows.write_parquet(buffer)
    return buffer.getvalue()


def build_standardized_readings(
    layout: ConnectorLayout, meters: Mapping[str, Meter]
) -> dg.AssetsDefinition:
    connector = layout.connector

    @chain_asset(
        connector,
        STANDARDIZED_READINGS,
        deps=[raw_landing_files_key(layout)],
        check=(UNIT_CHECK, "Every reading's unit converts to its meter's unit (VEE)."),
        kinds={"gcs", "parquet"},
        description=(
            f"{connector.name}'s readings, one object per meter per UTC hour at "
            f"gs://{connector.bucket}/{connector.name}/standardized/<meter>/<hour>, and "
            f"each arrival hour's rows at batches/<hour>.parquet."
        ),
    )
    def standardized_readings(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        hour_rows, unconvertible = [], []
        for partition in context.partition_keys:
            hour = hour_of_partition(partition)
            files = list(normalized_files(storage, layout, meters, hour))
            rows = newest_per_interval(
                pl.concat([f.rows for f in files]) if files else STANDARDIZED_SCHEMA.to_frame()
            )
            storage.write(
                layout.bucket,
                layout.batch(hour),
                parquet_bytes(rows),
                if_generation_match=None,
                content_type=PARQUET_CONTENT_TYPE,
            )
            hour_rows.append(rows)
            unconvertible.extend(f.unconvertible for f in files if f.unconvertible.height)
        rows = newest_per_interval(pl.concat(hour_rows))
        batches = meter_hour_batches(rows)
        context.log.info(f"merging {rows.height} readings into {len(batches)} meter-hour objects")
        started = time.perf_counter()
        outcomes = storage.update_many(
            layout.bucket,
            [
                ObjectUpdate(
                    name,
                    partial(merge_meter_hour, rows=frame),
                    CONTENT_TYPE,
                    meter_hour_metadata,
                )
                for name, frame in batches.items()
            ],
        )
        seconds = time.perf_counter() - started
        refused = pl.concat(unconvertible) if unconvertible else None
        return dg.MaterializeResult(
            metadata={
                "readings": rows.height,
                "meters": rows["meter_id"].n_unique(),
                "unknown_meters": rows.filter(~pl.col("meter_known"))["meter_id"].n_unique(),
                "meter_hours": len(batches),
                "objects_written": sum(o.written for o in outcomes),
                "objects_unchanged": sum(not o.written for o in outcomes),
                "objects_per_second": round(len(outcomes) / seconds, 1) if outcomes else 0.0,
                "swap_retries": sum(o.retries for o in outcomes),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=UNIT_CHECK,
                    passed=refused is None,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "readings_left_out": 0 if refused is None else refused.height,
                        "examples": dg.MetadataValue.md(
                            "" if refused is None else str(refused.head(20))
                        ),
                    },
                )
            ],
        )

    return standardized_readings
