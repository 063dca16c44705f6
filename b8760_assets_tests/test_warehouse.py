"""WarehouseResource against the session's real bqemulator, through google-cloud-bigquery."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from google.cloud import bigquery

from b8760_assets.warehouse import (
    WarehouseLayoutMismatch,
    WarehouseResource,
    WarehouseSchemaMismatch,
    arrow_schema,
    query_parameter,
)
from b8760_assets.warehouse_limits import TimePartitioning

SCHEMA = [
    bigquery.SchemaField("connector", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("meter_id", "STRING", mode="REQUIRED"),
    bigquery.SchemaField("interval_start", "TIMESTAMP", mode="REQUIRED"),
    bigquery.SchemaField("value", "FLOAT64"),
]
HOUR = datetime(2021, 11, 8, 14, tzinfo=UTC)


def rows(*values: float) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"connector": "coned", "meter_id": "3", "interval_start": HOUR, "value": v}
            for v in values
        ],
        schema=arrow_schema(SCHEMA),
    )


def test_table_is_partitioned_and_clustered(warehouse: WarehouseResource) -> None:
    by_hour = TimePartitioning("interval_start", "HOUR")
    warehouse.ensure_table("readings", SCHEMA, partitioning=by_hour, clustered_by=["connector"])
    # A second call changes nothing; one without a layout does not look at it.
    warehouse.ensure_table("readings", SCHEMA, partitioning=by_hour, clustered_by=["connector"])
    warehouse.ensure_table("readings", SCHEMA)
    with warehouse.get_client() as client:
        table = client.get_table(f"{client.project}.{warehouse.table_id('readings')}")
    assert table.time_partitioning.type_ == "HOUR"
    assert table.time_partitioning.field == "interval_start"
    assert table.clustering_fields == ["connector"]
    assert [field.name for field in table.schema] == [field.name for field in SCHEMA]


def test_a_table_of_other_columns_is_a_clear_error(warehouse: WarehouseResource) -> None:
    """Such as `readings` made before its version column was dropped: a MERGE into it would
    fail on a column the platform no longer writes."""
    older = [*SCHEMA, bigquery.SchemaField("version", "STRING", mode="REQUIRED")]
    warehouse.ensure_table("readings", older)

    with pytest.raises(WarehouseSchemaMismatch) as raised:
        warehouse.ensure_table("readings", SCHEMA)

    message = str(raised.value)
    assert f"table {warehouse.table_id('readings')} has columns" in message
    assert "(extra: version; missing: none)" in message
    assert "make clean" in message


def test_tables_just_listed_are_checked_and_the_others_made(
    warehouse: WarehouseResource,
) -> None:
    """With `listed` (the warehouse step's one listing), a listed table is still checked
    against its layout and columns, and one not listed is made."""
    by_hour = TimePartitioning("interval_start", "HOUR")
    warehouse.ensure_table("readings", SCHEMA)  # unpartitioned
    listed = warehouse.list_tables()

    with pytest.raises(WarehouseLayoutMismatch):
        warehouse.ensure_table("readings", SCHEMA, partitioning=by_hour, listed=listed)
    with pytest.raises(WarehouseSchemaMismatch):
        warehouse.ensure_table("readings", SCHEMA[:-1], listed=listed)
    warehouse.ensure_table("staging", SCHEMA, listed=listed)
    warehouse.ensure_table("staging", SCHEMA, listed=listed)  # made meanwhile: checked

    assert sorted(warehouse.list_tables()) == ["readings", "staging"]


def test_load_appends_or_replaces(warehouse: WarehouseResource) -> None:
    warehouse.ensure_table(
        "readings", SCHEMA, partitioning=TimePartitioning("interval_start", "HOUR")
    )
    assert warehouse.load_rows("readings", rows(1.5, 2.5)) == 2
    warehouse.load_rows("readings", rows(4.0))
    assert warehouse.query("SELECT SUM(value) AS total FROM readings") == [{"total": 8.0}]
    warehouse.load_rows(
        "readings", rows(10.0), write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE
    )
    assert warehouse.query("SELECT value FROM readings") == [{"value": 10.0}]


def test_query_takes_typed_parameters(warehouse: WarehouseResource) -> None:
    warehouse.ensure_table("readings", SCHEMA)
    warehouse.load_rows("readings", rows(1.0, 2.0, 3.0))
    result = warehouse.query(
        "SELECT COUNT(*) AS n, MIN(interval_start) AS first FROM readings"
        " WHERE meter_id = @meter AND value >= @at_least AND interval_start >= @hour",
        {"meter": "3", "at_least": 2.0, "hour": HOUR},
    )
    assert result == [{"n": 2, "first": HOUR}]


def test_query_parameter_types() -> None:
    assert query_parameter("d", date(2021, 11, 8)).type_ == "DATE"
    assert query_parameter("t", HOUR).type_ == "TIMESTAMP"
    assert query_parameter("n", 3).type_ == "INT64"
    assert query_parameter("b", True).type_ == "BOOL"
    with pytest.raises(TypeError, match="@x: no BigQuery type for list"):
        query_parameter("x", [1])


def test_local_mode_uses_the_local_stack(warehouse: WarehouseResource, stack_env: dict) -> None:
    with warehouse.get_client() as client:
        assert client._connection.API_BASE_URL == (
            f"http://127.0.0.1:{stack_env['B8760_BIGQUERY_PORT']}"
        )
