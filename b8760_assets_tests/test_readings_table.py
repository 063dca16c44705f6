"""The readings table's MERGE (readings_table.py) on the local BigQuery emulator: whatever
order replays of an interval arrive in, `readings` ends with the greatest (upload time, source
file, line), as the reference newest_per_interval keeps it."""

import itertools

import polars as pl
import pytest

from b8760_assets.meter_registry import METERS_SCHEMA, METERS_TABLE
from b8760_assets.readings_schema import BIGQUERY_SCHEMA
from b8760_assets.readings_table import READINGS_TABLE, merge_readings_sql
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.reference import newest_per_interval
from b8760_assets_tests.standardized_rows import reading, standardized, utc

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


def merge(warehouse: WarehouseResource, rows: pl.DataFrame) -> None:
    warehouse.ensure_table("staging", BIGQUERY_SCHEMA)
    warehouse.load_rows("staging", rows.to_arrow(), write_disposition="WRITE_TRUNCATE")
    warehouse.query(merge_readings_sql("staging"))


@pytest.fixture
def tables(warehouse: WarehouseResource) -> WarehouseResource:
    """The warehouse with empty `readings` and `meters`."""
    warehouse.ensure_table(READINGS_TABLE, BIGQUERY_SCHEMA)
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
