"""The meter-hour objects participants download (docs/downloading.md is their contract):

    gs://<participant bucket>/<connector>/standardized/<meter id>/<YYYY-MM-DDTHH:00:00>

one per meter and UTC hour in which readings' intervals start, holding the newest reading of
each interval. A write merges the hour's rows into what the object holds, keeping the
greatest version (the latest upload) per interval, so replaying any set of arrival hours, in
any order, any number of times, leaves the same bytes; equal bytes let the caller skip the
write.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from b8760_assets.layout import meter_hour_name, meter_hour_names
from b8760_assets.readings_schema import (
    ARRIVAL_HOUR,
    CONNECTOR,
    INTERVAL_END,
    INTERVAL_START,
    LOCAL_START,
    METER_ID,
    METER_KNOWN,
    PARTICIPANT,
    QUALITY,
    SOURCE_FILE,
    SOURCE_LINE,
    UNIT,
    UPLOADED_AT,
    VALUE,
    Column,
)
from b8760_assets.standardized.normalize import UTC_FORMAT

# An upload time as the JSON holds it: fixed width to the microsecond, so that text order is
# time order.
UPLOADED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%6fZ"

CONTENT_TYPE = "application/json"
METADATA_PREFIX = "b8760-"

# What names an object: its meter and the UTC hour its intervals start in. Its rows also
# share the participant: together they are the object's identity, the JSON's first fields.
_HOUR = pl.col(INTERVAL_START.name).dt.truncate("1h").alias("hour")
_NAME_KEY = (pl.col(CONNECTOR.name), pl.col(METER_ID.name), _HOUR)
_IDENTITY_FIELDS = ("connector", "participant", "meter_id", "hour")
# Rows turned into Python values at a time when documents are built for many objects.
DOCUMENT_ROWS = 20_000

# The intervals as the JSON holds them, decoded before they become standardized rows again.
_INTERVALS_SCHEMA = pl.Schema(
    {
        "start": pl.String(),
        "end": pl.String(),
        "local_start": pl.String(),
        "value": pl.Float64(),
        "unit": pl.String(),
        "quality": pl.String(),
        "meter_known": pl.Boolean(),
        "arrival_hour": pl.String(),
        "version": pl.Struct(
            {"uploaded_at": pl.String, "source_file": pl.String, "line": pl.Int64}
        ),
    }
)


@dataclass(frozen=True, eq=False)
class MeterHour:
    """A decoded meter-hour object; rows are its intervals as readings_schema.POLARS_SCHEMA."""

    connector: str
    participant: str
    meter_id: str
    hour: datetime
    unit: str | None
    meter_known: bool
    rows: pl.DataFrame


def meter_hour_batches(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Standardized rows by the object they go to: their meter and the UTC hour their
    intervals start in (a 14:45–15:00 interval belongs to 14:00).

    Sorted once and cut into zero-copy slices: a year of a meter is 8760 objects, and
    partition_by spends tens of microseconds building each.
    """
    ordered = rows.sort(*_NAME_KEY, maintain_order=True)
    batches, offset = {}, 0
    objects = ordered.group_by(*_NAME_KEY, maintain_order=True).len()
    for connector, meter_id, hour, length in objects.iter_rows():
        batches[meter_hour_name(connector, meter_id, hour)] = ordered.slice(offset, length)
        offset += length
    return batches


def _utc_text(column: Column, text_format: str = UTC_FORMAT) -> pl.Expr:
    return pl.col(column.name).dt.strftime(text_format)


def _records(rows: pl.DataFrame) -> pl.DataFrame:
    """Per row: the identity fields of its object, then its interval as the JSON holds it
    (each field named as docs/downloading.md names it, from its column of the readings)."""
    return rows.select(
        connector=CONNECTOR.name,
        participant=PARTICIPANT.name,
        meter_id=METER_ID.name,
        hour=_HOUR.dt.strftime(UTC_FORMAT),
        interval=pl.struct(
            start=_utc_text(INTERVAL_START),
            end=_utc_text(INTERVAL_END),
            local_start=LOCAL_START.name,
            value=VALUE.name,
            unit=UNIT.name,
            quality=QUALITY.name,
            meter_known=METER_KNOWN.name,
            arrival_hour=_utc_text(ARRIVAL_HOUR),
            version=pl.struct(
                uploaded_at=_utc_text(UPLOADED_AT, UPLOADED_AT_FORMAT),
                source_file=SOURCE_FILE.name,
                line=SOURCE_LINE.name,
            ),
        ),
    )


def _document(rows: pl.DataFrame) -> dict:
    """One meter-hour's rows as an object's JSON document, before merging."""
    return _document_of(_records(rows).rows())


def _document_of(records: list[tuple]) -> dict:
    identities = {record[:-1] for record in records}
    if len(identities) != 1:
        raise ValueError(
            "a meter-hour object holds the rows of exactly one meter and hour; "
            f"got rows of {sorted(identities)}"
        )
    return {
        **dict(zip(_IDENTITY_FIELDS, identities.pop(), strict=True)),
        "intervals": [record[-1] for record in records],
    }


def _identity(document: dict) -> tuple[str, ...]:
    return tuple(document[field] for field in _IDENTITY_FIELDS)


def _version_key(interval: dict) -> tuple[str, str, int]:
    """An interval's version in the order of readings_schema.VERSION: upload time (fixed-width
    UTC text, to the microsecond), then source file, then line."""
    origin = interval["version"]
    return origin["uploaded_at"], origin["source_file"], origin["line"]


def decode_meter_hour(data: bytes) -> MeterHour:
    """A meter-hour object's content, with its intervals back as standardized rows."""
    document = json.loads(data)
    intervals = pl.DataFrame(document["intervals"], schema=_INTERVALS_SCHEMA)
    origin = pl.col("version").struct
    rows = intervals.select(
        connector=pl.lit(document["connector"]),
        participant=pl.lit(document["participant"]),
        meter_id=pl.lit(document["meter_id"]),
        interval_start=pl.col("start").str.to_datetime(UTC_FORMAT, time_zone="UTC", time_unit="us"),
        interval_end=pl.col("end").str.to_datetime(UTC_FORMAT, time_zone="UTC", time_unit="us"),
        value="value",
        unit="unit",
        quality="quality",
        local_start="local_start",
        meter_known="meter_known",
        uploaded_at=origin.field("uploaded_at").str.to_datetime(
            UPLOADED_AT_FORMAT, time_zone="UTC", time_unit="us"
        ),
        arrival_hour=pl.col("arrival_hour").str.to_datetime(
            UTC_FORMAT, time_zone="UTC", time_unit="us"
        ),
        source_file=origin.field("source_file"),
        source_line=origin.field("line"),
    )
    return MeterHour(
        connector=document["connector"],
        participant=document["participant"],
        meter_id=document["meter_id"],
        hour=datetime.strptime(document["hour"], UTC_FORMAT).replace(tzinfo=UTC),
        unit=document["unit"],
        meter_known=document["meter_known"],
        rows=rows,
    )


def meter_hour_documents(rows: pl.DataFrame) -> Iterator[tuple[str, dict]]:
    """(object name, document) for each meter-hour object the rows go to, as merge_meter_hour
    builds them one object at a time: here in one pass over the rows, a slice of
    DOCUMENT_ROWS at a time (a polars call per object would cost more than its merge)."""
    ordered = rows.sort(*_NAME_KEY, maintain_order=True).with_columns(
        name=meter_hour_names(*_NAME_KEY)
    )
    name = ""  # no object's name: the first row starts an object
    records: list[tuple] = []
    for part in ordered.iter_slices(DOCUMENT_ROWS):
        for row_name, record in zip(part["name"], _records(part).iter_rows(), strict=True):
            if row_name != name:
                if records:
                    yield name, _document_of(records)
                name, records = row_name, []
            records.append(record)
    if records:
        yield name, _document_of(records)


def merge_meter_hour(existing: bytes | None, rows: pl.DataFrame) -> bytes:
    """The object's new content: its intervals and rows (one meter-hour's, as
    meter_hour_batches gives them), the greatest version of each interval winning, sorted by
    start and encoded the same way every time.

    On equal versions the rows win: a replay under a corrected meter XML rewrites its readings.
    Merged in Python, not polars: an object holds at most 12 intervals, and a polars call per
    step would cost more than the whole merge.
    """
    return merge_meter_hour_document(existing, _document(rows))


def merge_meter_hour_document(existing: bytes | None, incoming: dict) -> bytes:
    """merge_meter_hour with the rows already a document (meter_hour_documents)."""
    intervals = incoming["intervals"]
    if existing is not None:
        current = json.loads(existing)
        if _identity(current) != _identity(incoming):
            raise ValueError(
                f"rows of {_identity(incoming)} cannot merge into the object of "
                f"{_identity(current)}"
            )
        intervals = current["intervals"] + intervals
    newest: dict[str, dict] = {}
    for interval in intervals:
        kept = newest.get(interval["start"])
        if kept is None or _version_key(interval) >= _version_key(kept):
            newest[interval["start"]] = interval
    merged = [newest[start] for start in sorted(newest)]
    units = {interval["unit"] for interval in merged}
    document = {
        **{field: incoming[field] for field in _IDENTITY_FIELDS},
        "unit": units.pop() if len(units) == 1 else None,
        "meter_known": all(interval["meter_known"] for interval in merged),
        "intervals": merged,
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def meter_hour_metadata(content: bytes) -> dict[str, str]:
    """The object's GCS custom metadata: what it is, readable without downloading it."""
    document = json.loads(content)
    return {
        f"{METADATA_PREFIX}connector": document["connector"],
        f"{METADATA_PREFIX}meter": document["meter_id"],
        f"{METADATA_PREFIX}hour": document["hour"],
        f"{METADATA_PREFIX}intervals": str(len(document["intervals"])),
    }
