"""The meter registry: the platform's meter XML files as the warehouse's `meters` table.

Readings are linked to meters through this table, so it is rebuilt whole from the XML
files on every materialization: the XML is the source of truth, the table a copy of it.
Its code version is a digest of the XML files, so that the UI shows the table stale once a
file changes, and its automation condition rebuilds it then (and when it was never built).
"""

import hashlib
from collections.abc import Sequence

import dagster as dg
import pyarrow as pa
from google.cloud import bigquery

from b8760_assets.config import Meter, Platform
from b8760_assets.warehouse import WarehouseResource, arrow_schema

METERS_TABLE = "meters"
REGISTRY_KEY = dg.AssetKey(["warehouse", METERS_TABLE])
REGISTRY_AUTOMATION = "meter_registry_automation"
# On the automation sensor's tick after a code location loads changed meter XML, or the
# first tick when the table was never built; never while a build is in progress.
REBUILD = (
    dg.AutomationCondition.code_version_changed() | dg.AutomationCondition.missing().newly_true()
) & ~dg.AutomationCondition.in_progress()
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


def meter_xml_version(platform: Platform) -> str:
    """A digest of every meter XML file, its name and bytes: a file changed, added or removed
    changes it (a few milliseconds for 1,500 files, BENCHMARKS.md)."""
    digest = hashlib.sha256()
    for path in sorted({meter.source for meter in platform.meters}):
        digest.update(f"{path.relative_to(platform.root)}\0".encode())
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_meter_registry(platform: Platform) -> dg.AssetsDefinition:
    """The `meters` table of the platform's meter XML files."""

    @dg.asset(
        key=REGISTRY_KEY,
        group_name="meter_registry",
        kinds={"bigquery", "xml"},
        code_version=meter_xml_version(platform),
        automation_condition=REBUILD,
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


def build_registry_automation() -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates the registry's condition, running from the start (Dagster's
    default automation sensor is not)."""
    return dg.AutomationConditionSensorDefinition(
        REGISTRY_AUTOMATION,
        target=dg.AssetSelection.assets(REGISTRY_KEY),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Rebuilds warehouse/meters when the meter XML files change.",
    )
