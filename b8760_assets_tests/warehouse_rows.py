"""Rows of the warehouse's readings table, as many as a test needs, for loads and MERGEs."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from b8760_assets.readings_schema import BIGQUERY_SCHEMA
from b8760_assets.warehouse import arrow_schema

START = datetime(2022, 3, 1, tzinfo=UTC)
VALUES = {
    "STRING": lambda i: f"m{i % 100}",
    "INT64": lambda i: i,
    "FLOAT64": lambda i: float(i),
    "BOOL": lambda i: True,
    "TIMESTAMP": lambda i: START + timedelta(minutes=15 * (i // 100)),
}


def readings_rows(count: int) -> pa.Table:
    """`count` readings of distinct keys (100 meters, 15 minutes apart), whatever columns
    BIGQUERY_SCHEMA has."""
    columns = {
        field.name: [VALUES[field.field_type](i) for i in range(count)] for field in BIGQUERY_SCHEMA
    }
    return pa.table(columns, schema=arrow_schema(BIGQUERY_SCHEMA))
