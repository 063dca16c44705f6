"""The warehouse: BigQuery in production, the local stack's bqemulator otherwise.

Everything the platform does in the warehouse goes through `WarehouseResource`, so the
few things the emulator cannot do (streaming inserts, multipart loads, the Storage Read
API, partitioning in DDL) are avoided in one place: tables are created through the API,
rows arrive by Parquet load jobs on the resumable path, results come back over REST.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from dagster_gcp import BigQueryResource
from google.api_core.exceptions import Conflict
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from pydantic import Field

from b8760_assets import local_stack

ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INT64": pa.int64(),
    "FLOAT64": pa.float64(),
    "BOOL": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}
QUERY_PARAMETER_TYPES: dict[type[bool | int | float | str | datetime | date], str] = {
    bool: "BOOL",
    int: "INT64",
    float: "FLOAT64",
    str: "STRING",
    datetime: "TIMESTAMP",
    date: "DATE",
}


class WarehouseSchemaMismatch(Exception):
    """A table made by an earlier version of the platform, with other columns."""

    def __init__(
        self, table: str, existing: list[str], schema: Sequence[bigquery.SchemaField]
    ) -> None:
        wanted = [field.name for field in schema]
        extra = [name for name in existing if name not in wanted]
        missing = [name for name in wanted if name not in existing]
        super().__init__(
            f"table {table} has columns {', '.join(existing)}; the platform writes "
            f"{', '.join(wanted)} (extra: {', '.join(extra) or 'none'}; missing: "
            f"{', '.join(missing) or 'none'}). Migrate the table to the platform's columns, "
            "or drop it to have it made again (on the local stack: make clean)"
        )


class WarehouseResource(BigQueryResource):
    """The platform's BigQuery dataset (`dataset`) and the operations it needs on it.

    `project` unset means the local stack: the BigQuery emulator is started on first use
    (or found running) and shared with every other process on the machine.
    """

    dataset: str = Field(default="b8760", description="Dataset that holds the platform's tables.")
    emulator_url: str | None = Field(
        default=None,
        description="BigQuery emulator endpoint; unset uses the local stack's bqemulator.",
    )

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        if self.project is not None:
            with super().get_client() as client:
                yield client
            return
        endpoint = self.emulator_url or local_stack.ensure_running("bigquery")
        client = bigquery.Client(
            project=local_stack.LOCAL_PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint},
            location=self.location,
        )
        try:
            yield client
        finally:
            client.close()

    def table_id(self, table: str) -> str:
        """`dataset.table`, the form queries and load jobs take."""
        return f"{self.dataset}.{table}"

    def ensure_table(
        self,
        table: str,
        schema: Sequence[bigquery.SchemaField],
        *,
        hour_partitioned_on: str | None = None,
        clustered_by: Sequence[str] = (),
    ) -> None:
        """Create the dataset and table if missing (through the API: the emulator ignores
        partitioning written in DDL); a table that exists must have the schema's columns."""
        with self.get_client() as client:
            client.create_dataset(self.dataset, exists_ok=True)
            definition = bigquery.Table(f"{client.project}.{self.table_id(table)}", schema=schema)
            if hour_partitioned_on:
                definition.time_partitioning = bigquery.TimePartitioning(
                    type_=bigquery.TimePartitioningType.HOUR, field=hour_partitioned_on
                )
            if clustered_by:
                definition.clustering_fields = list(clustered_by)
            try:
                client.create_table(definition)
            except Conflict:
                existing = [field.name for field in client.get_table(definition).schema]
                if existing != [field.name for field in schema]:
                    raise WarehouseSchemaMismatch(self.table_id(table), existing, schema) from None

    def load_rows(
        self,
        table: str,
        rows: pa.Table,
        *,
        write_disposition: str = bigquery.WriteDisposition.WRITE_APPEND,
    ) -> int:
        """Load an Arrow table as Parquet through a load job; returns the rows loaded.

        The upload takes the resumable path (no size given): the emulator rejects small
        multipart loads, and production BigQuery accepts either.
        """
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        buffer.seek(0)
        with self.get_client() as client:
            job = client.load_table_from_file(
                buffer, self.table_id(table), job_config=parquet_load(write_disposition)
            )
            job.result()
        return rows.num_rows

    def load_parquet_objects(
        self,
        table: str,
        uris: Sequence[str],
        *,
        write_disposition: str = bigquery.WriteDisposition.WRITE_APPEND,
    ) -> int:
        """Load Parquet objects straight from GCS (gs:// URIs) in one load job; rows loaded.

        The data never passes through this process: BigQuery reads the objects (the local
        emulator reads them from the storage emulator's folder).
        """
        with self.get_client() as client:
            job = client.load_table_from_uri(
                list(uris), self.table_id(table), job_config=parquet_load(write_disposition)
            )
            job.result()
            return job.output_rows or 0

    def drop_table(self, table: str) -> None:
        with self.get_client() as client:
            client.delete_table(f"{client.project}.{self.table_id(table)}", not_found_ok=True)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL with named parameters (`@name`); rows come back as dicts over REST."""
        parameters = [query_parameter(name, value) for name, value in (params or {}).items()]
        with self.get_client() as client:
            config = bigquery.QueryJobConfig(
                default_dataset=f"{client.project}.{self.dataset}", query_parameters=parameters
            )
            result = client.query(sql, job_config=config).result()
            return [dict(row.items()) for row in result]


def parquet_load(write_disposition: str) -> bigquery.LoadJobConfig:
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET, write_disposition=write_disposition
    )


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    """A typed BigQuery parameter for a Python value; unknown types are a caller's error."""
    for python_type, bigquery_type in QUERY_PARAMETER_TYPES.items():
        if type(value) is python_type:
            return bigquery.ScalarQueryParameter(name, bigquery_type, value)
    raise TypeError(f"query parameter @{name}: no BigQuery type for {type(value).__name__}")


def arrow_schema(schema: Sequence[bigquery.SchemaField]) -> pa.Schema:
    """The Arrow schema whose Parquet loads into a table of this BigQuery schema."""
    return pa.schema(
        pa.field(field.name, ARROW_TYPES[field.field_type], nullable=field.mode != "REQUIRED")
        for field in schema
    )
