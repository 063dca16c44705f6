"""The readings table (readings_table.py) on the local BigQuery emulator: whatever order
replays of an interval arrive in, `readings` ends with the greatest (upload time, source
file, line), as the reference newest_per_interval keeps it; its layout holds BigQuery's
partition limits, which the emulator does not enforce, and an earlier layout migrates."""

import importlib
import itertools
from datetime import datetime, timedelta

import polars as pl
import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.meter_registry import METERS_SCHEMA, METERS_TABLE
from b8760_assets.readings_schema import BIGQUERY_SCHEMA, ESTIMATED, NAMES
from b8760_assets.readings_table import (
    MIGRATING_TABLE,
    READINGS_CLUSTERING,
    READINGS_PARTITIONING,
    READINGS_TABLE,
    Merged,
    ensure_readings_table,
    merge_readings_sql,
    merge_staged_readings,
    merge_staged_readings_then,
    migrate_readings_table,
)
from b8760_assets.warehouse import (
    WarehouseLayoutMismatch,
    WarehouseResource,
    WarehouseSchemaMismatch,
)
from b8760_assets.warehouse_limits import (
    MAX_PARTITIONS_PER_JOB,
    MAX_PARTITIONS_PER_TABLE,
    PARTITIONED_FROM,
    PARTITIONED_UNTIL,
    TimePartitioning,
    WarehouseLimitExceeded,
)
from b8760_assets_tests.reference import newest_per_interval
from b8760_assets_tests.standardized_rows import reading, standardized, utc

VERDICT_COLUMNS = ["validation", "failed_rules"]
WAREHOUSE_CLI = importlib.import_module("b8760_assets.cli.warehouse")

START = utc(2021, 11, 8, 14)
# Each a replay of the same interval: a later upload beats any name, "a.csv" is older than
# "a.csv.1" (a prefix), and line 10 beats line 9.
ORIGINS = [
    (utc(2021, 11, 8, 15), "z.csv", 9),
    (utc(2021, 11, 8, 16), "a.csv", 9),
    (utc(2021, 11, 8, 16), "a.csv.1", 9),
    (utc(2021, 11, 8, 16), "a.csv.1", 10),
]


def replay(hour, file, line) -> pl.DataFrame:
    return standardized(
        reading("3", START, float(line), line=line), uploaded_at=hour, source_file=file
    )


def stage(warehouse: WarehouseResource, rows: pl.DataFrame, table: str = "staging") -> None:
    warehouse.ensure_table(table, BIGQUERY_SCHEMA)
    warehouse.load_rows(table, rows.to_arrow(), write_disposition="WRITE_TRUNCATE")


def merge(warehouse: WarehouseResource, rows: pl.DataFrame, **partitioning) -> int:
    stage(warehouse, rows)
    return merge_staged_readings(warehouse, "staging", **partitioning)


def at_starts(*starts) -> pl.DataFrame:
    """One reading of meter 3 at each start."""
    readings = (reading("3", start, 1.0, line=line) for line, start in enumerate(starts, 2))
    return standardized(*readings, uploaded_at=utc(2023, 1, 1, 0))


def rows_of(warehouse: WarehouseResource) -> list[dict]:
    return warehouse.query(f"SELECT * FROM {READINGS_TABLE} ORDER BY interval_start")


@pytest.fixture
def tables(warehouse: WarehouseResource) -> WarehouseResource:
    """The warehouse with empty `readings` and `meters`."""
    ensure_readings_table(warehouse)
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    return warehouse


@pytest.mark.parametrize("order", list(itertools.permutations(range(4)))[::5])
def test_the_newest_origin_wins_in_any_order(
    tables: WarehouseResource, order: tuple[int, ...]
) -> None:
    warehouse = tables
    first, *rest = [replay(*ORIGINS[i]) for i in order]
    merge(warehouse, pl.concat([first, rest[0]]))  # two of one key in one batch
    for rows in rest[1:]:
        merge(warehouse, rows)

    [row] = warehouse.query(f"SELECT uploaded_at, source_file, source_line FROM {READINGS_TABLE}")
    newest = newest_per_interval(pl.concat(replay(*origin) for origin in ORIGINS))
    assert (row["uploaded_at"], row["source_file"], row["source_line"]) == max(ORIGINS)
    assert newest.select("uploaded_at", "source_file", "source_line").row(0) == max(ORIGINS)


@pytest.mark.parametrize("batches", ["together", "real first", "estimate first"])
def test_a_reading_from_a_file_beats_a_later_estimate(
    tables: WarehouseResource, batches: str
) -> None:
    """In one batch (the MERGE's QUALIFY) or in two in either order: an estimate of an
    interval loses to its real reading, however much later its version."""
    real = replay(*ORIGINS[0]).with_columns(validation=pl.lit("validated"))
    estimate = replay(*max(ORIGINS)).with_columns(validation=pl.lit(ESTIMATED))
    staged = {
        "together": [pl.concat([estimate, real])],
        "real first": [real, estimate],
        "estimate first": [estimate, real],
    }[batches]
    for rows in staged:
        merge(tables, rows)

    [row] = tables.query(f"SELECT validation, source_file, source_line FROM {READINGS_TABLE}")
    assert (row["validation"], row["source_file"], row["source_line"]) == ("validated", "z.csv", 9)
    kept = newest_per_interval(pl.concat(staged))
    assert kept.select("validation", "source_file").row(0) == ("validated", "z.csv")


def test_a_replay_after_a_meter_xml_correction_rewrites_its_readings(
    tables: WarehouseResource,
) -> None:
    """Same versions, new values (the multiplier was corrected): the replayed rows win, as
    docs/downloading.md promises and merge_meter_hour_document does."""
    rows = replay(*ORIGINS[0])  # 9 kWh on line 9, times meter 3's multiplier of 40
    values = f"SELECT value FROM {READINGS_TABLE}"
    merge(tables, rows)
    assert tables.query(values) == [{"value": 360.0}]

    merge(tables, rows.with_columns(value=pl.col("value") / 40))

    assert tables.query(values) == [{"value": 9.0}]


def test_the_layout_holds_30_years_of_readings_within_bigquerys_partition_limits(
    tables: WarehouseResource,
) -> None:
    with tables.get_client() as client:
        table = client.get_table(f"{client.project}.{tables.table_id(READINGS_TABLE)}")
    assert (table.time_partitioning.type_, table.time_partitioning.field) == (
        "MONTH",
        "interval_start",
    )
    assert table.clustering_fields == ["connector", "meter_id", "interval_start"]
    thirty_years = (utc(2021, 1, 1, 0), utc(2050, 12, 31, 23))
    assert READINGS_PARTITIONING.partitions(*thirty_years) == 360 <= MAX_PARTITIONS_PER_TABLE
    assert TimePartitioning("interval_start", "HOUR").partitions(*thirty_years) == 262_968
    assert TimePartitioning("interval_start", "DAY").partitions(*thirty_years) == 10_957
    # Whatever the readings' times (0001 to 9999 pass the landing check), every month from
    # 1960 to 2159 and one partition for the rest: one MERGE job, under both limits.
    everything = (utc(1, 1, 1, 0), utc(9999, 12, 31, 22))
    assert READINGS_PARTITIONING.partitions(*everything) == 2_401 <= MAX_PARTITIONS_PER_JOB
    assert len(list(READINGS_PARTITIONING.spans(*everything))) == 1


@pytest.mark.parametrize("unit", ["HOUR", "DAY", "MONTH", "YEAR"])
def test_spans_cover_a_range_each_within_the_per_job_limit(unit: str) -> None:
    partitioning = TimePartitioning("interval_start", unit)  # type: ignore[arg-type]
    first, last = PARTITIONED_FROM - timedelta(days=400), PARTITIONED_UNTIL + timedelta(days=1)
    if unit == "HOUR":
        first, last = utc(2000, 1, 1, 0), utc(2002, 1, 1, 0)
    spans = list(partitioning.spans(first, last))

    assert spans[0][0] == first and spans[-1][1] == last + timedelta(microseconds=1)
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(spans))
    us = timedelta(microseconds=1)
    assert max(partitioning.partitions(a, b - us) for a, b in spans) <= MAX_PARTITIONS_PER_JOB
    assert (len(spans) > 1) == (partitioning.partitions(first, last) > MAX_PARTITIONS_PER_JOB)


def test_a_merge_over_more_partitions_than_a_job_may_modify_is_split(
    warehouse: WarehouseResource,
) -> None:
    """With day partitions, readings 2000, 2011 and 2022 span 8,036 days: three jobs."""
    by_day = TimePartitioning("interval_start", "DAY")
    warehouse.ensure_table(READINGS_TABLE, BIGQUERY_SCHEMA, partitioning=by_day)
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    starts = [utc(2000, 1, 1, 0), utc(2011, 1, 1, 0), utc(2022, 1, 1, 0)]

    assert merge(warehouse, at_starts(*starts), partitioning=by_day) == 3

    assert [row["interval_start"] for row in rows_of(warehouse)] == starts


@pytest.mark.parametrize("unit", ["MONTH", "DAY"])
def test_replays_of_readings_far_apart_keep_one_reading_per_interval(
    warehouse: WarehouseResource, unit: str
) -> None:
    """Readings from year 1 to 9999: by month one MERGE, by day one per span of 4,000 days, in
    one script. Each MERGE is bounded to its span's partitions of `readings` (constants in its
    ON condition): a bound that left out a key already there would insert it twice."""
    partitioning = TimePartitioning("interval_start", unit)  # type: ignore[arg-type]
    warehouse.ensure_table(READINGS_TABLE, BIGQUERY_SCHEMA, partitioning=partitioning)
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    starts = [utc(1, 1, 1, 0), utc(1960, 1, 1, 0), utc(2011, 1, 1, 0), utc(9999, 12, 31, 22)]

    def replay(uploaded_at: datetime) -> list[tuple]:
        rows = at_starts(*starts).with_columns(uploaded_at=pl.lit(uploaded_at))
        merge(warehouse, rows, partitioning=partitioning)
        return [(row["interval_start"], row["uploaded_at"]) for row in rows_of(warehouse)]

    first = replay(utc(2023, 1, 1, 0))
    newer = replay(utc(2024, 1, 1, 0))
    older = replay(utc(2022, 1, 1, 0))

    assert first == [(start, utc(2023, 1, 1, 0)) for start in starts]
    assert newer == older == [(start, utc(2024, 1, 1, 0)) for start in starts]


def test_the_report_runs_after_the_merge_in_its_script(tables: WarehouseResource) -> None:
    count = f"SELECT COUNT(*) AS n FROM {READINGS_TABLE}"
    stage(tables, at_starts(utc(2021, 11, 8, 14), utc(2021, 12, 8, 14)))

    assert merge_staged_readings_then(tables, "staging", count) == Merged(1, [{"n": 2}])

    stage(tables, at_starts())
    assert merge_staged_readings_then(tables, "staging", count) == Merged(0, [])


def test_a_job_past_a_partition_limit_is_refused_before_it_is_sent(
    tables: WarehouseResource,
) -> None:
    by_day = TimePartitioning("interval_start", "DAY")
    stage(tables, at_starts(utc(2000, 1, 1, 0), utc(2011, 1, 1, 0)))
    everything = {"span_start": utc(1, 1, 1, 0), "span_end": utc(9999, 1, 1, 0)}

    def refusal(first: datetime) -> str:
        """What the warehouse says of a MERGE of the staged days from `first` to 2011."""
        with pytest.raises(WarehouseLimitExceeded) as refused:
            tables.modify(
                merge_readings_sql("staging"),
                everything,
                table=READINGS_TABLE,
                partitioning=by_day,
                first=first,
                last=utc(2011, 1, 1, 0),
            )
        return str(refused.value)

    per_job, per_table = refusal(utc(2000, 1, 1, 0)), refusal(utc(1970, 1, 1, 0))

    assert "touches 4,019 DAY partitions: more than one job may modify" in per_job
    assert "(BigQuery's limit, 4,000)" in per_job
    assert "touches 14,976 DAY partitions: more than a table may have" in per_table
    assert "(BigQuery's limit, 10,000)" in per_table
    assert rows_of(tables) == []  # neither was sent


def test_a_readings_table_of_an_earlier_layout_is_refused_then_migrated(
    warehouse: WarehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """readings as the platform made it before (hour partitions, two clustering columns):
    the warehouse step refuses it, naming the command, and the command copies it over as it
    is (meter_known included, though `meters` describes none of its meters now)."""
    warehouse.ensure_table(
        READINGS_TABLE,
        BIGQUERY_SCHEMA,
        partitioning=TimePartitioning("interval_start", "HOUR"),
        clustered_by=["connector", "meter_id"],
    )
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    starts = [utc(2021, 11, 8, 14), utc(2021, 12, 8, 14)]
    stage(warehouse, at_starts(*starts), table="earlier")
    warehouse.query(f"INSERT INTO {READINGS_TABLE} SELECT * FROM earlier")
    before = rows_of(warehouse)

    with pytest.raises(WarehouseLayoutMismatch) as refused:
        ensure_readings_table(warehouse)
    assert "is partitioned by HOUR on interval_start, clustered by connector, meter_id" in str(
        refused.value
    )
    assert "`b8760 warehouse migrate`" in str(refused.value)

    monkeypatch.setattr(WAREHOUSE_CLI, "warehouse_resource", lambda project: warehouse)
    migrated = CliRunner().invoke(main, ["warehouse", "migrate"])
    again = CliRunner().invoke(main, ["warehouse", "migrate"])

    assert migrated.exit_code == 0, migrated.output
    assert "2 readings copied to" in migrated.output
    assert "2 readings merged back in 1 job(s)" in migrated.output
    ensure_readings_table(warehouse)  # in the layout now
    assert rows_of(warehouse) == before
    assert MIGRATING_TABLE not in warehouse.list_tables()
    assert "in the platform's layout already" in again.output
    assert list(before[0]) == list(NAMES) and READINGS_CLUSTERING[-1] == "interval_start"


def test_a_migration_that_stopped_after_dropping_readings_is_finished(
    warehouse: WarehouseResource,
) -> None:
    """Killed between dropping `readings` and merging its rows back: the rows are in the
    migrating table, and the next run of the command merges them back."""
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    stage(warehouse, at_starts(utc(2021, 11, 8, 14)), table=MIGRATING_TABLE)
    printed: list[str] = []

    migrate_readings_table(warehouse, printed.append)

    assert [row["interval_start"] for row in rows_of(warehouse)] == [utc(2021, 11, 8, 14)]
    assert "1 readings merged back in 1 job(s)" in printed[-1]
    assert MIGRATING_TABLE not in warehouse.list_tables()


def test_a_readings_table_without_the_validation_columns_is_migrated_with_them_null(
    warehouse: WarehouseResource,
) -> None:
    """readings as the platform made it before validation: the warehouse step refuses it,
    and `b8760 warehouse migrate` makes it again with the verdict columns, left null."""
    before = [field for field in BIGQUERY_SCHEMA if field.name not in VERDICT_COLUMNS]
    warehouse.ensure_table(
        READINGS_TABLE, before, partitioning=READINGS_PARTITIONING, clustered_by=READINGS_CLUSTERING
    )
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    rows = at_starts(utc(2021, 11, 8, 14), utc(2021, 12, 8, 14)).drop(VERDICT_COLUMNS)
    warehouse.load_rows(READINGS_TABLE, rows.to_arrow())
    with pytest.raises(WarehouseSchemaMismatch) as refused:
        ensure_readings_table(warehouse)
    assert "missing: validation, failed_rules" in str(refused.value)
    printed: list[str] = []

    migrate_readings_table(warehouse, printed.append)

    ensure_readings_table(warehouse)
    after = rows_of(warehouse)
    assert [(row["interval_start"], row["value"]) for row in after] == [
        (utc(2021, 11, 8, 14), 40.0),  # meter 3's multiplier
        (utc(2021, 12, 8, 14), 40.0),
    ]
    assert {(row["validation"], row["failed_rules"]) for row in after} == {(None, None)}
    assert printed[0] == (
        "readings has no column validation, failed_rules: copied with them left null."
    )


def test_a_readings_table_missing_a_required_column_is_refused_by_the_migration(
    warehouse: WarehouseResource,
) -> None:
    before = [field for field in BIGQUERY_SCHEMA if field.name != "meter_known"]
    warehouse.ensure_table(
        READINGS_TABLE, before, partitioning=READINGS_PARTITIONING, clustered_by=READINGS_CLUSTERING
    )

    with pytest.raises(WarehouseSchemaMismatch):
        migrate_readings_table(warehouse, print)

    assert READINGS_TABLE in warehouse.list_tables()
