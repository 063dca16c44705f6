"""The warehouse: BigQuery in production, the local stack's bqemulator otherwise.

Everything the platform does in the warehouse goes through `WarehouseResource`, so the
few things the emulator cannot do (streaming inserts, multipart loads, the Storage Read
API, partitioning in DDL) are avoided in one place: tables are created through the API,
rows arrive by Parquet load jobs on the resumable path, results come back over REST.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests
from dagster_gcp import BigQueryResource
from google.api_core.exceptions import Conflict, NotFound, PreconditionFailed, RetryError
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY
from pydantic import Field

from b8760_assets.local_stack import LOCAL_PROJECT, emulator_endpoint
from b8760_assets.warehouse_limits import (
    MAX_PARTITIONS_PER_JOB,
    MAX_PARTITIONS_PER_TABLE,
    TimePartitioning,
    WarehouseLimitExceeded,
)

# Each API call, its retries included: the client's own defaults wait for an answer for ever
# and retry an unreachable warehouse for ten minutes (a run once sat 900 s with no output).
WAREHOUSE_REQUEST_TIMEOUT_S = 120.0
# Read-modify-writes of a dataset's access entries before giving up on concurrent changes.
MAX_ACCESS_ATTEMPTS = 5
# A load or query job from its start to its end; a year's MERGE takes about 76 s on the
# local stack (BENCHMARKS.md).
WAREHOUSE_JOB_TIMEOUT_S = 30 * 60.0

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
        self.existing, self.extra, self.missing = existing, extra, missing
        super().__init__(
            f"table {table} has columns {', '.join(existing)}; the platform writes "
            f"{', '.join(wanted)} (extra: {', '.join(extra) or 'none'}; missing: "
            f"{', '.join(missing) or 'none'}). Migrate the table to the platform's columns, "
            "or drop it to have it made again (on the local stack: make clean)"
        )


class NotAView(Exception):
    """A table where the platform keeps a view: replacing it would lose its rows."""


@dataclass(frozen=True)
class AccessChange:
    """A dataset's access entries (REST JSON) before and after an edit; written is False
    when the edit changed nothing, in which case nothing was sent."""

    dataset: str
    before: list[dict]
    after: list[dict]
    written: bool


class WarehouseLayoutMismatch(Exception):
    """A table made by an earlier version of the platform, partitioned or clustered otherwise."""

    def __init__(
        self,
        table: str,
        existing: bigquery.Table,
        partitioning: TimePartitioning,
        clustered_by: Sequence[str],
    ) -> None:
        found = existing.time_partitioning
        was = _by(found.type_, found.field) if found else "by nothing"
        super().__init__(
            f"table {table} is partitioned {was}, clustered by "
            f"{', '.join(existing.clustering_fields or []) or 'nothing'}; the platform lays it "
            f"out partitioned {_by(partitioning.unit, partitioning.column)}, clustered by "
            f"{', '.join(clustered_by) or 'nothing'}. Copy it into that layout with "
            "`b8760 warehouse migrate` (docs/warehouse.md), or drop it to have it made again "
            "(on the local stack: make clean)"
        )


def _by(unit: str, column: str) -> str:
    return f"by {unit} on {column}"


def _laid_out(
    table: bigquery.Table, partitioning: TimePartitioning, clustered_by: Sequence[str]
) -> bool:
    clustering = list(table.clustering_fields or [])
    return partitioning.describes(table) and clustering == list(clustered_by)


class WarehouseUnavailable(Exception):
    """A warehouse call that got no answer in time, or no connection; the message names it."""


class WarehouseResource(BigQueryResource):
    """The platform's BigQuery dataset (`dataset`) and the operations it needs on it.

    `project` unset means an emulator, at `emulator_url`; `resources.warehouse_resource`
    chooses between the two, as the code location's root does.
    """

    dataset: str = Field(default="b8760", description="Dataset that holds the platform's tables.")
    emulator_url: str | None = Field(
        default=None,
        description="BigQuery emulator endpoint, used when no project is set.",
    )
    request_timeout_s: float = Field(
        default=WAREHOUSE_REQUEST_TIMEOUT_S,
        description="Seconds one API call may take, its retries included.",
    )
    job_timeout_s: float = Field(
        default=WAREHOUSE_JOB_TIMEOUT_S,
        description="Seconds a load or query job may take, from its start to its end.",
    )

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        if self.project is not None:
            with super().get_client() as client:
                yield client
            return
        client = bigquery.Client(
            project=LOCAL_PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": emulator_endpoint(self.emulator_url, "bigquery")},
            location=self.location,
        )
        try:
            yield client
        finally:
            client.close()

    @property
    def project_id(self) -> str:
        """The project the tables are in: the emulator's own without a GCP project."""
        return self.project or LOCAL_PROJECT

    def table_id(self, table: str) -> str:
        """`dataset.table`, the form queries and load jobs take."""
        return f"{self.dataset}.{table}"

    def ensure_table(
        self,
        table: str,
        schema: Sequence[bigquery.SchemaField],
        *,
        partitioning: TimePartitioning | None = None,
        clustered_by: Sequence[str] = (),
        listed: Collection[str] | None = None,
    ) -> None:
        """Create the dataset and table if missing (through the API: the emulator ignores
        partitioning written in DDL); a table that exists must have the schema's columns and,
        where a partitioning is given, that partitioning and clustering.

        `listed`, the dataset's tables as the caller just listed them, saves the calls that
        would find the same out again: a table among them is only read and checked, and a
        dataset that holds any table is not created."""
        with self.get_client() as client, self._answering(f"creating {self.table_id(table)}"):
            if not listed:
                client.create_dataset(self.dataset, exists_ok=True, **self._limits())
            definition = bigquery.Table(f"{client.project}.{self.table_id(table)}", schema=schema)
            if partitioning:
                definition.time_partitioning = partitioning.as_bigquery()
            if clustered_by:
                definition.clustering_fields = list(clustered_by)
            if listed is None or table not in listed:
                try:
                    client.create_table(definition, **self._limits())
                    return
                except Conflict:
                    pass
            existing = client.get_table(definition, **self._limits())
            names = [field.name for field in existing.schema]
            if names != [field.name for field in schema]:
                raise WarehouseSchemaMismatch(self.table_id(table), names, schema)
            if partitioning and not _laid_out(existing, partitioning, clustered_by):
                raise WarehouseLayoutMismatch(
                    self.table_id(table), existing, partitioning, clustered_by
                )

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
        what = f"loading {rows.num_rows} rows into {self.table_id(table)}"
        with self.get_client() as client, self._answering(what):
            job = client.load_table_from_file(
                buffer,
                self.table_id(table),
                job_config=parquet_load(write_disposition),
                timeout=self.request_timeout_s,
            )
            self._wait(job)
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
        what = f"loading {len(uris)} object(s) into {self.table_id(table)}"
        with self.get_client() as client, self._answering(what):
            job = client.load_table_from_uri(
                list(uris),
                self.table_id(table),
                job_config=parquet_load(write_disposition),
                **self._limits(),
            )
            self._wait(job)
            return job.output_rows or 0

    def list_tables(self) -> list[str]:
        """The names of the dataset's tables; none before the dataset is made."""
        with self.get_client() as client, self._answering(f"listing the tables of {self.dataset}"):
            try:
                listed = client.list_tables(self.dataset, **self._limits())
                return [item.table_id for item in listed]
            except NotFound:
                return []

    def drop_table(self, table: str) -> None:
        with self.get_client() as client, self._answering(f"dropping {self.table_id(table)}"):
            table_id = f"{client.project}.{self.table_id(table)}"
            client.delete_table(table_id, not_found_ok=True, **self._limits())

    def ensure_view(self, dataset: str, view: str, sql: str) -> str:
        """Create the dataset and the view if missing and give the view this SQL; what was
        done: created, replaced or unchanged. The emulator never returns a view's SQL, so
        there a view is replaced every time."""
        with self.get_client() as client, self._answering(f"writing view {dataset}.{view}"):
            client.create_dataset(dataset, exists_ok=True, **self._limits())
            definition = bigquery.Table(f"{client.project}.{dataset}.{view}")
            definition.view_query = sql
            try:
                client.create_table(definition, **self._limits())
                return "created"
            except Conflict:
                existing = client.get_table(definition, **self._limits())
            if existing.table_type != "VIEW":
                raise NotAView(
                    f"{dataset}.{view} is a {existing.table_type}, where the platform keeps a "
                    "view; move its rows elsewhere and drop it"
                )
            if existing.view_query == sql:
                return "unchanged"
            existing.view_query = sql
            client.update_table(existing, ["view_query"], **self._limits())
            return "replaced"

    def view_query(self, dataset: str, view: str) -> str | None:
        """A view's SQL; None when there is no such view."""
        with self.get_client() as client, self._answering(f"reading view {dataset}.{view}"):
            try:
                table = client.get_table(f"{client.project}.{dataset}.{view}", **self._limits())
            except NotFound:
                return None
            return table.view_query

    def dataset_access(self, dataset: str) -> list[dict] | None:
        """The dataset's access entries as the REST API has them; None without the dataset."""
        with self.get_client() as client, self._answering(f"reading {dataset}'s access"):
            try:
                found = client.get_dataset(f"{client.project}.{dataset}", **self._limits())
            except NotFound:
                return None
            return [access_json(entry) for entry in found.access_entries]

    def change_dataset_access(
        self, dataset: str, edit: Callable[[list[dict]], list[dict]]
    ) -> AccessChange:
        """Apply edit to the dataset's access entries, at the etag read: a concurrent change
        is never overwritten, the edit is made again on it."""
        with self.get_client() as client, self._answering(f"changing {dataset}'s access"):
            for _ in range(MAX_ACCESS_ATTEMPTS):
                found = client.get_dataset(f"{client.project}.{dataset}", **self._limits())
                before = [access_json(entry) for entry in found.access_entries]
                after = edit(before)
                if same_access(before, after):
                    return AccessChange(dataset, before, after, written=False)
                found.access_entries = [bigquery.AccessEntry.from_api_repr(e) for e in after]
                try:
                    client.update_dataset(found, ["access_entries"], **self._limits())
                except PreconditionFailed:
                    continue
                return AccessChange(dataset, before, after, written=True)
        raise WarehouseUnavailable(
            f"dataset {dataset}: its access changed under every one of {MAX_ACCESS_ATTEMPTS} "
            "attempts to write it; run the command again"
        )

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL with named parameters (`@name`); rows come back as dicts over REST."""
        parameters = [query_parameter(name, value) for name, value in (params or {}).items()]
        with self.get_client() as client, self._answering(f"the query `{sql_head(sql)}`"):
            config = bigquery.QueryJobConfig(
                default_dataset=f"{client.project}.{self.dataset}", query_parameters=parameters
            )
            # No job retry: the client's re-inserts a failed query for ten minutes whatever
            # the timeouts; a failed MERGE fails the run, and its rerun repeats it.
            job = client.query(sql, job_config=config, job_retry=None, **self._limits())
            return [dict(row.items()) for row in self._wait(job)]

    def modify(
        self,
        sql: str,
        params: Mapping[str, Any],
        *,
        table: str,
        partitioning: TimePartitioning,
        first: datetime,
        last: datetime,
    ) -> None:
        """Run a statement that modifies `table`'s rows with times from first to last, unless
        production BigQuery would refuse it for the partitions it touches (refuse_past_limits)."""
        self.refuse_past_limits(table, partitioning, first, last)
        self.query(sql, params)

    def refuse_past_limits(
        self, table: str, partitioning: TimePartitioning, first: datetime, last: datetime
    ) -> None:
        """WarehouseLimitExceeded, naming the limit, for a statement modifying `table`'s rows
        with times from first to last that production BigQuery would refuse for the partitions
        it touches (the emulator would not); called before anything is sent."""
        touched = partitioning.partitions(first, last)
        where = (
            f"{self.table_id(table)} from {first.isoformat()} to {last.isoformat()} touches "
            f"{touched:,} {partitioning.unit} partitions"
        )
        if touched > MAX_PARTITIONS_PER_TABLE:
            raise WarehouseLimitExceeded(
                f"a job on {where}: more than a table may have (BigQuery's limit, "
                f"{MAX_PARTITIONS_PER_TABLE:,}); partition the table by a longer unit"
            )
        if touched > MAX_PARTITIONS_PER_JOB:
            raise WarehouseLimitExceeded(
                f"a job on {where}: more than one job may modify (BigQuery's limit, "
                f"{MAX_PARTITIONS_PER_JOB:,}); split it by TimePartitioning.spans"
            )

    def _retry(self) -> Retry:
        return DEFAULT_RETRY.with_timeout(self.request_timeout_s)

    def _limits(self) -> dict[str, Any]:
        """The timeout and bounded retry of one API call, as the client's calls take them."""
        return {"timeout": self.request_timeout_s, "retry": self._retry()}

    def _wait(self, job: bigquery.LoadJob | bigquery.QueryJob) -> Any:
        """The job's result, waited for at most job_timeout_s; each poll is retried within
        request_timeout_s."""
        return job.result(retry=self._retry(), timeout=self.job_timeout_s)

    @contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        """An unanswered or unconnected call as a WarehouseUnavailable that says which call,
        after how long, and what to do; errors the warehouse answered with pass unchanged."""
        try:
            yield
        except (RetryError, TimeoutError, requests.RequestException) as error:
            raise WarehouseUnavailable(
                f"warehouse: {what} got no answer within {self.request_timeout_s:.0f} s per "
                f"call and {self.job_timeout_s:.0f} s per job ({type(error).__name__}: {error}). "
                f"Is the warehouse up? {self._where_to_look()}"
            ) from error

    def _where_to_look(self) -> str:
        if self.project is not None:
            return f"Look at project {self.project}'s BigQuery jobs; a rerun repeats the call."
        return (
            "On the local stack, `b8760 local status` says whether bqemulator runs and where "
            "its log is; the run's retry starts it again."
        )


def sql_head(sql: str) -> str:
    """The statement's first words, enough to tell a MERGE from the check's SELECT."""
    words = re.sub(r"\s+", " ", sql).strip()
    return words if len(words) <= 40 else words[:40] + "..."


def access_json(entry: bigquery.AccessEntry) -> dict:
    """An access entry as REST JSON, without the empty role the client gives a view."""
    return {key: value for key, value in entry.to_api_repr().items() if value is not None}


def same_access(before: Sequence[dict], after: Sequence[dict]) -> bool:
    """Whether two lists of access entries grant the same, in whatever order."""
    return {json.dumps(e, sort_keys=True) for e in before} == {
        json.dumps(e, sort_keys=True) for e in after
    }


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


def timestamp_literal(moment: datetime) -> str:
    """A TIMESTAMP constant for SQL the platform writes itself (never a user's value): where a
    statement cannot take parameters (bqemulator passes none to a script), and where BigQuery
    must see a constant to prune partitions."""
    return f"TIMESTAMP '{moment.astimezone(UTC).isoformat(sep=' ')}'"


def arrow_schema(schema: Sequence[bigquery.SchemaField]) -> pa.Schema:
    """The Arrow schema whose Parquet loads into a table of this BigQuery schema."""
    return pa.schema(
        pa.field(field.name, ARROW_TYPES[field.field_type], nullable=field.mode != "REQUIRED")
        for field in schema
    )
