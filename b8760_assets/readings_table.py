"""The warehouse's `readings` table: its name, its layout, and the MERGE that takes a run's
staged readings into it, all from the readings' columns (readings_schema).

The MERGE keeps the newest version of each interval (a reading from a file before any
estimate, then the latest upload), so that loading any hours' batches in
any order, any number of times, ends in the same table; on equal versions the staged row wins
(a replay under a corrected meter XML rewrites its readings). A reading's meter_known is
worked out again against `meters` as it is now: a meter described since its readings were
standardized is linked by the next replay.

The table is partitioned by MONTH of the interval start: BigQuery gives a partition only to
times from 1960 to 2159, so it never has more than 2,402 (its limit is 10,000, and 30 years
of hours would be 262,980), and one MERGE of any range touches fewer than one job may (4,000).
Clustering by connector, meter and interval start keeps a meter's readings of a month
together. Limits: warehouse_limits.py.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from b8760_assets.meter_registry import METERS_TABLE
from b8760_assets.readings_schema import (
    BIGQUERY_SCHEMA,
    COLUMNS,
    CONNECTOR,
    ESTIMATED,
    INTERVAL_KEY,
    INTERVAL_START,
    METER_ID,
    METER_KNOWN,
    NAMES,
    VALIDATION,
    VERSION,
    Column,
)
from b8760_assets.warehouse import (
    WarehouseLayoutMismatch,
    WarehouseResource,
    WarehouseSchemaMismatch,
    timestamp_literal,
)
from b8760_assets.warehouse_limits import TimePartitioning

READINGS_TABLE = "readings"
READINGS_PARTITIONING = TimePartitioning(INTERVAL_START.name, "MONTH")
READINGS_CLUSTERING = (CONNECTOR.name, METER_ID.name, INTERVAL_START.name)
# Where `b8760 warehouse migrate` keeps the rows while `readings` is made again.
MIGRATING_TABLE = f"{READINGS_TABLE}_migrating"
# A staged reading (s) and its meter (m), null where no meter XML describes it.
LINK_TO_METERS = (
    f"LEFT JOIN {METERS_TABLE} m "
    f"ON m.connector = s.{CONNECTOR.name} AND m.meter_id = s.{METER_ID.name}"
)


def ensure_readings_table(
    warehouse: WarehouseResource, listed: Collection[str] | None = None
) -> None:
    """`readings` in its layout; WarehouseLayoutMismatch for one made in another. `listed`:
    the dataset's tables, just listed (WarehouseResource.ensure_table)."""
    warehouse.ensure_table(
        READINGS_TABLE,
        BIGQUERY_SCHEMA,
        partitioning=READINGS_PARTITIONING,
        clustered_by=READINGS_CLUSTERING,
        listed=listed,
    )


@dataclass(frozen=True)
class Merged:
    """What merge_staged_readings_then did: its MERGE statements, and the rows of the query
    that followed them in the same script."""

    statements: int
    report: list[dict[str, Any]]


def merge_staged_readings(
    warehouse: WarehouseResource,
    staging: str,
    partitioning: TimePartitioning = READINGS_PARTITIONING,
    *,
    relink: bool = True,
) -> int:
    """MERGE the staged readings into `readings` (merge_staged_readings_then); the MERGE
    statements it took. relink=False keeps the staged meter_known (rows of `readings`
    itself, migrating)."""
    return merge_staged_readings_then(
        warehouse, staging, None, partitioning, relink=relink
    ).statements


def merge_staged_readings_then(
    warehouse: WarehouseResource,
    staging: str,
    report_sql: str | None,
    partitioning: TimePartitioning = READINGS_PARTITIONING,
    *,
    relink: bool = True,
) -> Merged:
    """MERGE the staged readings into `readings` in as many statements as the per-job
    partition limit needs (one for any range in the readings' layout), then run report_sql
    (a SELECT of the staged rows), all in one script after the query of the staged range.

    One script is one job to insert and wait for instead of one per statement; BigQuery
    still runs each statement as a child job, so the DML limits (one MERGE per span, each
    under MAX_PARTITIONS_PER_JOB) and the cost are those of separate jobs. Each span's
    bounds are constants in the MERGE's ON condition, so BigQuery reads only the partitions
    of `readings` the staged readings fall in, not the whole table (a filter on the target
    decides nothing here: no key of the span can match a reading outside it)."""
    [extent] = warehouse.query(
        f"SELECT MIN({INTERVAL_START.name}) AS first, MAX({INTERVAL_START.name}) AS last "
        f"FROM {staging}"
    )
    if extent["first"] is None:
        return Merged(0, [])
    spans = list(partitioning.spans(extent["first"], extent["last"]))
    statements = []
    for start, end in spans:
        warehouse.refuse_past_limits(
            READINGS_TABLE, partitioning, start, end - timedelta(microseconds=1)
        )
        statements.append(
            merge_readings_sql(
                staging, relink=relink, start=timestamp_literal(start), end=timestamp_literal(end)
            )
        )
    report = warehouse.query(";\n".join([*statements, *([report_sql] if report_sql else [])]))
    return Merged(len(spans), report)


def migrate_readings_table(warehouse: WarehouseResource, log: Callable[[str], None]) -> None:
    """Copy `readings` into the platform's layout: its rows to MIGRATING_TABLE, the table
    made again, the rows merged back. Each step can be run again after a crash: a MIGRATING
    table left behind is what an interrupted migration still has to merge back."""
    tables = warehouse.list_tables()
    if READINGS_TABLE in tables:
        try:
            ensure_readings_table(warehouse)
        except WarehouseLayoutMismatch as mismatch:
            log(f"{mismatch.args[0].split('. ')[0]}.")
            _copy_aside(warehouse, log, NAMES)
        except WarehouseSchemaMismatch as mismatch:
            _copy_aside(warehouse, log, _columns_kept(mismatch, log))
        else:
            if MIGRATING_TABLE not in tables:
                log(f"{warehouse.table_id(READINGS_TABLE)} is in the platform's layout already.")
                return
    elif MIGRATING_TABLE not in tables:
        log(f"no table {warehouse.table_id(READINGS_TABLE)}: the first run makes it.")
        return
    ensure_readings_table(warehouse)
    jobs = merge_staged_readings(warehouse, MIGRATING_TABLE, relink=False)
    [count] = warehouse.query(f"SELECT COUNT(*) AS n FROM {READINGS_TABLE}")
    warehouse.drop_table(MIGRATING_TABLE)
    log(
        f"{warehouse.table_id(READINGS_TABLE)} made again, partitioned by "
        f"{READINGS_PARTITIONING.unit} on {READINGS_PARTITIONING.column} and clustered by "
        f"{', '.join(READINGS_CLUSTERING)}: {count['n']} readings merged back in {jobs} job(s)."
    )


def _columns_kept(mismatch: WarehouseSchemaMismatch, log: Callable[[str], None]) -> list[str]:
    """The columns of a `readings` made before some nullable columns were added (the
    validation verdicts): those it has, the added ones left null. Any other difference is
    refused as it was found."""
    required = {column.name for column in COLUMNS if column.required}
    if mismatch.extra or required & set(mismatch.missing):
        raise mismatch
    log(f"readings has no column {', '.join(mismatch.missing)}: copied with them left null.")
    return [name for name in NAMES if name in mismatch.existing]


def _copy_aside(
    warehouse: WarehouseResource, log: Callable[[str], None], columns: Sequence[str]
) -> None:
    """`readings`' rows (these columns of them) into MIGRATING_TABLE, counted, then
    `readings` dropped."""
    warehouse.drop_table(MIGRATING_TABLE)  # of an attempt that died before its copy was whole
    warehouse.ensure_table(MIGRATING_TABLE, BIGQUERY_SCHEMA)
    listed = ", ".join(columns)
    warehouse.query(
        f"INSERT INTO {MIGRATING_TABLE} ({listed}) SELECT {listed} FROM {READINGS_TABLE}"
    )
    [copied] = warehouse.query(f"SELECT COUNT(*) AS n FROM {MIGRATING_TABLE}")
    [source] = warehouse.query(f"SELECT COUNT(*) AS n FROM {READINGS_TABLE}")
    if copied != source:
        raise RuntimeError(
            f"copied {copied['n']} of {source['n']} readings to {MIGRATING_TABLE}; "
            f"{READINGS_TABLE} is left as it was: run the migration again"
        )
    warehouse.drop_table(READINGS_TABLE)
    log(f"{copied['n']} readings copied to {warehouse.table_id(MIGRATING_TABLE)}.")


def merge_readings_sql(
    staging: str, *, relink: bool = True, start: str = "@span_start", end: str = "@span_end"
) -> str:
    """Newest version per key from staging, linked to `meters`, merged into `readings`: the
    staged readings whose interval starts from `start` until `end` (SQL: parameters by
    default, or constants)."""
    on = " AND ".join(f"t.{name} = n.{name}" for name in INTERVAL_KEY)
    updates = ", ".join(f"{column.name} = n.{column.name}" for column in COLUMNS if not column.key)
    return f"""
        MERGE {READINGS_TABLE} t
        USING (
            SELECT {", ".join(_linked(column, relink) for column in COLUMNS)}
            FROM {staging} s
            {LINK_TO_METERS}
            WHERE s.{INTERVAL_START.name} >= {start} AND s.{INTERVAL_START.name} < {end}
            QUALIFY ROW_NUMBER() OVER (
                PARTITION BY {", ".join(f"s.{name}" for name in INTERVAL_KEY)}
                ORDER BY {", ".join(f"{term} DESC" for term in _version_terms("s"))}
            ) = 1
        ) n
        ON {on}
            AND t.{INTERVAL_START.name} >= {start} AND t.{INTERVAL_START.name} < {end}
        WHEN MATCHED AND {_not_older("n", "t")} THEN UPDATE SET {updates}
        WHEN NOT MATCHED THEN INSERT ({", ".join(NAMES)})
            VALUES ({", ".join(f"n.{name}" for name in NAMES)})
    """


def _linked(column: Column, relink: bool) -> str:
    """A staged column as the MERGE takes it: meter_known from the reading's meter, now."""
    if column == METER_KNOWN and relink:
        return f"m.meter_id IS NOT NULL AS {METER_KNOWN.name}"
    return f"s.{column.name}"


def _version_terms(row: str) -> list[str]:
    """SQL for a row's version, compared term by term: 1 for a reading from a file, 0 for an
    estimate (readings_schema.ESTIMATED), then VERSION's columns."""
    from_a_file = f"CASE WHEN {row}.{VALIDATION.name} = '{ESTIMATED}' THEN 0 ELSE 1 END"
    return [from_a_file, *(f"{row}.{name}" for name in VERSION)]


def _not_older(new: str, old: str) -> str:
    """SQL for `new`'s version >= `old`'s, term by term (BigQuery has no row comparison)."""
    terms = list(zip(_version_terms(new), _version_terms(old), strict=True))
    condition = f"{terms[-1][0]} >= {terms[-1][1]}"
    for newer, older in reversed(terms[:-1]):
        condition = f"({newer} > {older} OR ({newer} = {older} AND {condition}))"
    return condition
