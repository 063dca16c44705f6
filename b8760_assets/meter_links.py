"""Warehouse meter links: the last asset of each connector's chain.

Loads the hours' standardized batches (Parquet, straight from GCS) into a staging table and
MERGEs them into `readings` (readings_table.py), keyed on (connector, meter, interval start),
the newest version winning, so that any replay of any hours in any order ends in the same
table. Each reading is linked to its meter in `meters`; readings of meters no meter XML
describes are kept, flagged `meter_known = FALSE`, and reported by a check.
"""

from collections.abc import Collection, Sequence
from datetime import datetime

import dagster as dg

from b8760_assets.layout import ConnectorLayout
from b8760_assets.meter_registry import METERS_TABLE, REGISTRY_KEY
from b8760_assets.partitions import HOUR, chain_asset, hours_of_run, record_hours
from b8760_assets.readings_schema import BIGQUERY_SCHEMA, COLUMN_SCHEMA
from b8760_assets.readings_table import (
    LINK_TO_METERS,
    READINGS_TABLE,
    ensure_readings_table,
    merge_staged_readings_then,
)
from b8760_assets.staging_tables import drop_left_staging_tables, staging_table
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource

WAREHOUSE_METER_LINKS = "warehouse_meter_links"
UNKNOWN_METERS_CHECK = "readings_of_unknown_meters"
# Every connector's step MERGEs into the one `readings`, an hour's all into one month
# partition, where concurrent mutating statements conflict (and BigQuery runs at most
# MAX_RUNNING_DML_PER_TABLE at once): the instance limits this pool (dagster.yaml) to
# READINGS_MERGES_AT_ONCE, whatever the runs.
READINGS_MERGES_AT_ONCE = 1
READINGS_MERGE_POOL = "warehouse_readings_merge"


def hold_readings_merge_pool(instance: dg.DagsterInstance) -> None:
    """Give the pool its READINGS_MERGES_AT_ONCE slots before runs claim them. Dagster makes a
    pool's default slots at its first claim, and two first claims at once on PostgreSQL (each
    counting no slot yet) make one slot each: two MERGEs at once (test_postgres_instance.py)."""
    storage = instance.event_log_storage
    if storage.get_concurrency_info(READINGS_MERGE_POOL).slot_count != READINGS_MERGES_AT_ONCE:
        storage.set_concurrency_slots(READINGS_MERGE_POOL, READINGS_MERGES_AT_ONCE)


def unknown_meters_sql(staging: str) -> str:
    return f"""
        SELECT s.meter_id, COUNT(*) AS readings
        FROM {staging} s
        {LINK_TO_METERS}
        WHERE m.meter_id IS NULL
        GROUP BY s.meter_id
        ORDER BY s.meter_id
    """


def require_meters_table(
    warehouse: WarehouseResource, listed: Collection[str] | None = None
) -> None:
    """Readings are linked to `meters`; an empty table made here would mark every reading's
    meter unknown and hide that the registry was never built. `listed`: the dataset's
    tables, if the caller has just listed them."""
    if METERS_TABLE not in (warehouse.list_tables() if listed is None else listed):
        raise dg.Failure(
            description=(
                f"the warehouse has no meter registry yet: {warehouse.table_id(METERS_TABLE)} "
                f"does not exist, so no reading could be linked to its meter; materialize "
                f"{REGISTRY_KEY.to_user_string()} (the meter XML files) first, then this hour again"
            )
        )


# What a run's hour without a batch (a quiet hour of a range, say) records.
NO_READINGS = {"readings_loaded": 0, "dagster/row_count": 0}


def hour_batches(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> dict[datetime, str]:
    """The gs:// URIs of the hours' Parquet batches, by hour, from one listing of the range
    (an hour without readings has none)."""
    wanted = {layout.batch(hour): hour for hour in hours}
    listed = storage.list(
        layout.bucket,
        layout.batches_prefix,
        start_offset=layout.batch(min(hours)),
        end_offset=layout.batch(max(hours) + HOUR),
    )
    return {wanted[b.name]: b.uri for b in listed if b.name in wanted and b.size}


def build_meter_links(layout: ConnectorLayout, upstream: dg.AssetKey) -> dg.AssetsDefinition:
    connector = layout.connector

    @chain_asset(
        connector,
        WAREHOUSE_METER_LINKS,
        deps=[upstream, REGISTRY_KEY],
        checks=[
            (
                UNKNOWN_METERS_CHECK,
                "Every reading belongs to a meter that a meter XML file describes.",
            )
        ],
        kinds={"bigquery"},
        column_schema=COLUMN_SCHEMA,
        pool=READINGS_MERGE_POOL,
        description=(
            f"{connector.name}'s standardized readings in the warehouse table "
            f"`{READINGS_TABLE}`, linked to `{METERS_TABLE}`; newest version per interval."
        ),
    )
    def warehouse_meter_links(
        context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        by_hour = hour_batches(storage, layout, hours_of_run(context))
        batches = list(by_hour.values())
        tables = warehouse.list_tables()  # one listing for the four steps that need it
        require_meters_table(warehouse, tables)
        ensure_readings_table(warehouse, tables)
        drop_left_staging_tables(warehouse, context.instance, log=context.log.info, listed=tables)
        staging = staging_table(connector.name, context.run.run_id)
        warehouse.ensure_table(staging, BIGQUERY_SCHEMA, listed=tables)
        try:
            loaded = warehouse.load_parquet_objects(staging, batches) if batches else 0
            context.log.info(f"loaded {loaded} readings from {len(batches)} batch(es)")
            merged = merge_staged_readings_then(warehouse, staging, unknown_meters_sql(staging))
        finally:
            warehouse.drop_table(staging)
        unknown_readings = {row["meter_id"]: row["readings"] for row in merged.report}
        metadata = {
            "readings_loaded": loaded,
            "dagster/row_count": loaded,
            "batches": len(batches),
            "merge_jobs": merged.statements,
            "table": warehouse.table_id(READINGS_TABLE),
            "unknown_meters": len(unknown_readings),
        }
        record_hours(context, dict.fromkeys(by_hour, metadata), idle=NO_READINGS, found=metadata)
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name=UNKNOWN_METERS_CHECK,
                    passed=not unknown_readings,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"readings_per_unknown_meter": unknown_readings},
                )
            ],
        )

    return warehouse_meter_links
