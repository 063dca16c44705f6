"""The standardized readings' columns, each defined once: its name, its type in polars and in
BigQuery, whether it may be null, what it means, and whether it is part of an interval's key
or of a reading's version.

The same rows are a polars frame while they are standardized, an hour's Parquet batch in GCS,
the warehouse's `readings` table and the Columns tab of the assets that produce them; every
one of those schemas is derived here, so that a column added or renamed is added or renamed
in all of them at once.
"""

from dataclasses import dataclass

import dagster as dg
import polars as pl
from google.cloud import bigquery


@dataclass(frozen=True)
class Column:
    """One column of the readings. `key`: one reading per (connector, meter, interval start)
    survives a merge. `version`: the greatest version of an interval is the newest reading,
    the version columns compared in the order they are defined in."""

    name: str
    polars_type: pl.DataType
    bigquery_type: str
    description: str
    required: bool = True
    key: bool = False
    version: bool = False


CONNECTOR = Column(
    "connector", pl.String(), "STRING", "The connector that took the file in.", key=True
)
PARTICIPANT = Column(
    "participant", pl.String(), "STRING", "The participant operating the connector."
)
METER_ID = Column(
    "meter_id", pl.String(), "STRING", "The meter, as its meter XML names it.", key=True
)
INTERVAL_START = Column(
    "interval_start", pl.Datetime("us", "UTC"), "TIMESTAMP", "The interval's start, UTC.", key=True
)
INTERVAL_END = Column(
    "interval_end", pl.Datetime("us", "UTC"), "TIMESTAMP", "The interval's end, UTC."
)
VALUE = Column("value", pl.Float64(), "FLOAT64", "In the meter's unit, its multiplier applied.")
UNIT = Column(
    "unit",
    pl.String(),
    "STRING",
    "The meter's unit; the file's for a meter no meter XML describes.",
)
QUALITY = Column(
    "quality",
    pl.String(),
    "STRING",
    "A actual, E estimated, M missing; null where the file gave no flag.",
    required=False,
)
# local_start's text: wall-clock time with its offset, which tells apart a fall-back night's
# two 01:00s.
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
LOCAL_START = Column(
    "local_start",
    pl.String(),
    "STRING",
    "The start in the meter's time zone with its offset, e.g. 2021-11-08T09:00:00-05:00.",
)
METER_KNOWN = Column(
    "meter_known",
    pl.Boolean(),
    "BOOL",
    "False where no meter XML describes the meter: value and unit are as uploaded.",
)
VALIDATION = Column(
    "validation",
    pl.String(),
    "STRING",
    "The platform's verdict (docs/validation.md): validated, or questionable where the reading "
    "broke a rule, or estimated where the platform filled a gap; null where standardized "
    "before validation.",
    required=False,
)
FAILED_RULES = Column(
    "failed_rules",
    pl.String(),
    "STRING",
    "The validation rules the reading broke, comma-separated (e.g. spikes,limits); null if none.",
    required=False,
)
UPLOADED_AT = Column(
    "uploaded_at",
    pl.Datetime("us", "UTC"),
    "TIMESTAMP",
    "When the file was uploaded (its timeCreated in the landing zone): a later upload wins.",
    version=True,
)
ARRIVAL_HOUR = Column(
    "arrival_hour", pl.Datetime("us", "UTC"), "TIMESTAMP", "The hour whose run took the file in."
)
SOURCE_FILE = Column(
    "source_file", pl.String(), "STRING", "The file's name in the hour's manifest.", version=True
)
SOURCE_LINE = Column(
    "source_line", pl.Int64(), "INT64", "The reading's line in its file.", version=True
)

COLUMNS = (
    CONNECTOR,
    PARTICIPANT,
    METER_ID,
    INTERVAL_START,
    INTERVAL_END,
    VALUE,
    UNIT,
    QUALITY,
    LOCAL_START,
    METER_KNOWN,
    VALIDATION,
    FAILED_RULES,
    UPLOADED_AT,
    ARRIVAL_HOUR,
    SOURCE_FILE,
    SOURCE_LINE,
)
NAMES = tuple(column.name for column in COLUMNS)
# One reading per (connector, meter, interval start) survives a merge: the newest.
INTERVAL_KEY = tuple(column.name for column in COLUMNS if column.key)
# A reading's version: the greatest (upload time, source file, line) of an interval wins. A
# later upload wins whatever its file is called and whichever hour's run took it in (GCS sets
# timeCreated; no uploader can), and within a file a later line.
VERSION = tuple(column.name for column in COLUMNS if column.version)
# The verdict of an interval the platform estimated (validation/estimation.py) where no file
# brought a reading. It leads the version: any reading a file brought beats an estimate of
# its interval, whatever the upload times; between estimates VERSION decides.
ESTIMATED = "estimated"

POLARS_SCHEMA = pl.Schema({column.name: column.polars_type for column in COLUMNS})
# The hour's Parquet batch as polars converts the rows, every column nullable: the warehouse's
# REQUIRED modes are what refuse a null.
ARROW_SCHEMA = POLARS_SCHEMA.to_frame().to_arrow().schema
BIGQUERY_SCHEMA = [
    bigquery.SchemaField(
        column.name, column.bigquery_type, mode="REQUIRED" if column.required else "NULLABLE"
    )
    for column in COLUMNS
]
COLUMN_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(
            column.name,
            column.bigquery_type,
            description=column.description,
            constraints=dg.TableColumnConstraints(nullable=not column.required),
        )
        for column in COLUMNS
    ],
    constraints=dg.TableConstraints(
        other=[
            f"The newest reading of an interval ({', '.join(INTERVAL_KEY)}) is the one of the "
            f"greatest ({', '.join(VERSION)}); a reading from a file beats any estimate "
            f"({VALIDATION.name} = {ESTIMATED})."
        ]
    ),
)
