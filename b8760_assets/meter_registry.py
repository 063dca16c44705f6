"""The meter registry: the platform's meter XML files as the warehouse's `meters` table.

Readings are linked to meters through this table, so it is rebuilt whole from the XML
files on every materialization: the XML is the source of truth, the table a copy of it.
"""

from collections.abc import Sequence

import dagster as dg
import pyarrow as pa
from google.cloud import bigquery

from b8760_assets.config import Meter, Platform
from b8760_assets.warehouse import WarehouseResource, arrow_schema

METERS_TABLE = "meters"
METERS_SCHEMA = [
    bigquery.SchemaField("connector", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("meter_id", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("participant", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("commodity", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("unit", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("multiplier", "FLOAT64", mode="REQUIRED"),
    bigquery.SchemaField("timezone", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("site", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("source_file", "STRING", mode="REQUIRED"),
]


def meters_table(meters: Sequence[Meter]) -> pa.Table:
    """One row per meter, in the columns of METERS_SCHEMA."""
    rows = [
        {
            "connector": m.connector,
            "meter_id": m.id,
            "participant": m.participant,
            "commodity": m.commodity,
            "unit": m.unit,
            "multiplier": m.multiplier,
            "timezone": m.timezone,
            "site": m.site,
            "source_file": f"{m.source.name}:{m.line}",
        }
        for m in meters
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema(METERS_SCHEMA))


def build_meter_registry(platform: Platform) -> dg.AssetsDefinition:
    """The `meters` table of the platform's meter XML files."""

    @dg.asset(
        key=["warehouse", METERS_TABLE],
        group_name="meter_registry",
        kinds={"bigquery", "xml"},
        description="Meters described by the platform's meter XML files, one row per meter.",
    )
    def meter_registry(warehouse: WarehouseResource) -> dg.MaterializeResult:
        warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA, clustered_by=["connector"])
        loaded = warehouse.load_rows(
            METERS_TABLE,
            meters_table(platform.meters),
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        per_connector = {name: len(platform.meters_of(name)) for name in platform.connectors}
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": loaded,
                "table": warehouse.table_id(METERS_TABLE),
                "platform_dir": str(platform.root),
                "meters_per_connector": per_connector,
            }
        )

    return meter_registry
