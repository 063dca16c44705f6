"""The warehouse's `readings` table: its name, its layout, and the MERGE that takes a run's
staged readings into it, all from the readings' columns (readings_schema).

The MERGE keeps the newest version of each interval, so that loading any hours' batches in
any order, any number of times, ends in the same table; on equal versions the staged row wins
(a replay under a corrected meter XML rewrites its readings). A reading's meter_known is
worked out again against `meters` as it is now: a meter described since its readings were
standardized is linked by the next replay.
"""

from b8760_assets.meter_registry import METERS_TABLE
from b8760_assets.readings_schema import (
    BIGQUERY_SCHEMA,
    COLUMNS,
    CONNECTOR,
    INTERVAL_KEY,
    INTERVAL_START,
    METER_ID,
    METER_KNOWN,
    NAMES,
    VERSION,
    Column,
)
from b8760_assets.warehouse import WarehouseResource

READINGS_TABLE = "readings"
# A staged reading (s) and its meter (m), null where no meter XML describes it.
LINK_TO_METERS = (
    f"LEFT JOIN {METERS_TABLE} m "
    f"ON m.connector = s.{CONNECTOR.name} AND m.meter_id = s.{METER_ID.name}"
)


def ensure_readings_table(warehouse: WarehouseResource) -> None:
    """`readings`, hour-partitioned on the interval start and clustered by meter: a MERGE of
    a range of hours touches only those hours' partitions."""
    warehouse.ensure_table(
        READINGS_TABLE,
        BIGQUERY_SCHEMA,
        hour_partitioned_on=INTERVAL_START.name,
        clustered_by=[CONNECTOR.name, METER_ID.name],
    )


def merge_readings_sql(staging: str) -> str:
    """Newest version per key from staging, linked to `meters`, merged into `readings`."""
    on = " AND ".join(f"t.{name} = n.{name}" for name in INTERVAL_KEY)
    updates = ", ".join(f"{column.name} = n.{column.name}" for column in COLUMNS if not column.key)
    return f"""
        MERGE {READINGS_TABLE} t
        USING (
            SELECT {", ".join(_linked(column) for column in COLUMNS)}
            FROM {staging} s
            {LINK_TO_METERS}
            QUALIFY ROW_NUMBER() OVER (
                PARTITION BY {", ".join(f"s.{name}" for name in INTERVAL_KEY)}
                ORDER BY {", ".join(f"s.{name} DESC" for name in VERSION)}
            ) = 1
        ) n
        ON {on}
        WHEN MATCHED AND {_not_older("n", "t")} THEN UPDATE SET {updates}
        WHEN NOT MATCHED THEN INSERT ({", ".join(NAMES)})
            VALUES ({", ".join(f"n.{name}" for name in NAMES)})
    """


def _linked(column: Column) -> str:
    """A staged column as the MERGE takes it: meter_known from the reading's meter, now."""
    if column == METER_KNOWN:
        return f"m.meter_id IS NOT NULL AS {METER_KNOWN.name}"
    return f"s.{column.name}"


def _not_older(new: str, old: str) -> str:
    """SQL for `new`'s VERSION >= `old`'s, column by column (BigQuery has no row comparison)."""
    condition = f"{new}.{VERSION[-1]} >= {old}.{VERSION[-1]}"
    for column in reversed(VERSION[:-1]):
        condition = (
            f"({new}.{column} > {old}.{column} "
            f"OR ({new}.{column} = {old}.{column} AND {condition}))"
        )
    return condition
