"""The readings' columns, defined once in readings_schema: every schema derived from them
names the same columns in the same order with types that agree, rows go through the warehouse
unchanged, and the assets that write readings show those columns in Dagster."""

import polars as pl

from b8760_assets.definitions import defs
from b8760_assets.readings_schema import (
    ARROW_SCHEMA,
    BIGQUERY_SCHEMA,
    COLUMN_SCHEMA,
    COLUMNS,
    INTERVAL_KEY,
    NAMES,
    POLARS_SCHEMA,
    VERSION,
)
from b8760_assets.warehouse import WarehouseResource, arrow_schema
from b8760_assets_tests.standardized_rows import reading, standardized, utc

REQUIRED = {column.name for column in COLUMNS if column.required}


def test_every_schema_names_every_column_once_in_the_same_order() -> None:
    assert len(set(NAMES)) == len(COLUMNS)
    assert tuple(POLARS_SCHEMA.names()) == NAMES
    assert tuple(ARROW_SCHEMA.names) == NAMES
    assert tuple(field.name for field in BIGQUERY_SCHEMA) == NAMES
    assert tuple(column.name for column in COLUMN_SCHEMA.columns) == NAMES


def test_the_key_and_the_version_are_the_designs() -> None:
    """DESIGN.md: a write keeps the newest version of each (meter, interval); a later upload
    wins, then a later file name, then a later line."""
    assert INTERVAL_KEY == ("connector", "meter_id", "interval_start")
    assert VERSION == ("uploaded_at", "source_file", "source_line")


def test_the_key_and_the_version_are_never_null() -> None:
    assert set(INTERVAL_KEY) | set(VERSION) <= REQUIRED
    assert {field.name for field in BIGQUERY_SCHEMA if field.mode == "REQUIRED"} == REQUIRED
    shown_required = {
        column.name for column in COLUMN_SCHEMA.columns if not column.constraints.nullable
    }
    assert shown_required == REQUIRED


def test_the_polars_arrow_and_bigquery_types_agree() -> None:
    """The hour's batch and a Parquet file of the warehouse's columns read back as the
    standardized rows' types."""
    assert pl.from_arrow(ARROW_SCHEMA.empty_table()).schema == POLARS_SCHEMA
    assert pl.from_arrow(arrow_schema(BIGQUERY_SCHEMA).empty_table()).schema == POLARS_SCHEMA
    shown = {column.name: column.type for column in COLUMN_SCHEMA.columns}
    assert shown == {field.name: field.field_type for field in BIGQUERY_SCHEMA}


def test_standardized_rows_load_into_the_warehouse_unchanged(warehouse: WarehouseResource) -> None:
    rows = standardized(
        reading("3", utc(2021, 11, 8, 14), 1.25, line=2),
        reading("99", utc(2021, 11, 8, 14, 15), 3.5, "gal", line=3, quality=None),
        uploaded_at=utc(2021, 11, 8, 14, 52, 7, 318000),
        source_file="coned_2021-11-08.csv",
    )
    warehouse.ensure_table("loaded", BIGQUERY_SCHEMA)
    warehouse.load_rows("loaded", rows.to_arrow().cast(ARROW_SCHEMA))

    loaded = warehouse.query(f"SELECT * FROM loaded ORDER BY {', '.join(INTERVAL_KEY)}")
    assert loaded == rows.sort(INTERVAL_KEY).rows(named=True)


def test_the_assets_that_write_readings_show_their_columns(stack_env: dict) -> None:
    graph = defs().resolve_asset_graph()
    writers = {"standardized_readings", "warehouse_meter_links"}
    chains = [key for key in graph.get_all_asset_keys() if key.path[-1] in writers]
    assert len(chains) == 2 * 3  # both assets of each of the sample platform's connectors
    for key in chains:
        assert graph.get(key).metadata["dagster/column_schema"] == COLUMN_SCHEMA
    others = graph.get_all_asset_keys() - set(chains)
    assert all("dagster/column_schema" not in graph.get(key).metadata for key in others)
