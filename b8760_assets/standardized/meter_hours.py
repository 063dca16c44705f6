"""The meter-hour objects participants download (docs/downloading.md is their contract):

    gs://<participant bucket>/<connector>/standardized/<meter id>/<YYYY-MM-DDTHH:00:00>

one per meter and UTC hour in which readings' intervals start, holding the newest reading of
each interval. A write merges the hour's rows into what the object holds, keeping the
greatest version (the latest upload) per interval, so replaying any set of arrival hours, in
any order, any number of times, leaves the same bytes; equal bytes let the caller skip the
write.
"""

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import polars as pl

from b8760_assets.layout import (
    ConnectorLayout,
    hour_segment,
    meter_hour_names,
    meter_hours_folder,
    standardized_folder,
)
from b8760_assets.partitions import HOUR
from b8760_assets.readings_schema import (
    ARRIVAL_HOUR,
    CONNECTOR,
    ESTIMATED,
    FAILED_RULES,
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
    VALIDATION,
    VALUE,
    Column,
)
from b8760_assets.standardized.normalize import UTC_FORMAT
from b8760_assets.storage import StorageResource

# An upload time as the JSON holds it: fixed width to the microsecond, so that text order is
# time order.
UPLOADED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%6fZ"

# The object's format, its first field: raised when a change would break a parser written
# from docs/downloading.md (a field removed, renamed or retyped), not when one is added.
FORMAT_VERSION = 1
CONTENT_TYPE = "application/json"
METADATA_PREFIX = "b8760-"

# What names an object: its meter and the UTC hour its intervals start in. Its rows also
# share the participant: together they are the object's identity, the JSON's first fields.
_HOUR = pl.col(INTERVAL_START.name).dt.truncate("1h").alias("hour")
_NAME_KEY = (pl.col(CONNECTOR.name), pl.col(METER_ID.name), _HOUR)
_IDENTITY_FIELDS = ("connector", "participant", "meter_id", "hour")
# The last instant before an end: the hour holding it is the last an [start, end) overlaps.
LAST_INSTANT = timedelta(microseconds=1)
# Rows turned into Python values at a time when documents are built for many objects.
DOCUMENT_ROWS = 20_000


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
            validation=VALIDATION.name,
            failed_rules=FAILED_RULES.name,
            meter_known=METER_KNOWN.name,
            arrival_hour=_utc_text(ARRIVAL_HOUR),
            version=pl.struct(
                uploaded_at=_utc_text(UPLOADED_AT, UPLOADED_AT_FORMAT),
                source_file=SOURCE_FILE.name,
                line=SOURCE_LINE.name,
            ),
        ),
    )


def _document_of(records: list[tuple]) -> dict:
    """One object's document, before merging, from its rows' records (_records)."""
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


def _version_key(interval: dict) -> tuple[bool, str, str, int]:
    """An interval's version as readings_schema orders it: a reading from a file before an
    estimate (ESTIMATED), then VERSION's upload time (fixed-width UTC text, to the
    microsecond), source file and line."""
    origin = interval["version"]
    from_a_file = interval.get("validation") != ESTIMATED
    return from_a_file, origin["uploaded_at"], origin["source_file"], origin["line"]


def meter_hour_documents(rows: pl.DataFrame) -> Iterator[tuple[str, dict]]:
    """(object name, document) for each meter-hour object standardized rows go to: their
    meter and the UTC hour their intervals start in (a 14:45–15:00 interval belongs to 14:00).

    In one pass over the rows, a slice of DOCUMENT_ROWS at a time: a year of a meter is 8760
    objects, and a polars call per object would cost more than its merge."""
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


def merge_meter_hour_document(existing: bytes | None, incoming: dict) -> bytes:
    """The object's new content: merged_meter_hour's document, encoded."""
    return encode_meter_hour(merged_meter_hour(existing, incoming))


def merged_meter_hour(existing: bytes | None, incoming: dict) -> dict:
    """The object's new document: its intervals and the incoming document's (one of
    meter_hour_documents'), the greatest version of each interval winning, sorted by start.

    On equal versions the incoming interval wins: a replay under a corrected meter XML
    rewrites its readings. Merged in Python, not polars: an object holds at most 12
    intervals, and a polars call per step would cost more than the whole merge.
    """
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
    return {
        "format": FORMAT_VERSION,
        **{field: incoming[field] for field in _IDENTITY_FIELDS},
        "unit": units.pop() if len(units) == 1 else None,
        "meter_known": all(interval["meter_known"] for interval in merged),
        "intervals": merged,
    }


def encode_meter_hour(document: dict) -> bytes:
    """A document as its object holds it, encoded the same way every time."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def meter_hour_metadata(content: bytes) -> dict[str, str]:
    """The object's GCS custom metadata: what it is, readable without downloading it."""
    return document_metadata(json.loads(content))


def document_metadata(document: dict) -> dict[str, str]:
    """meter_hour_metadata of a document not encoded yet."""
    return {
        f"{METADATA_PREFIX}connector": document["connector"],
        f"{METADATA_PREFIX}meter": document["meter_id"],
        f"{METADATA_PREFIX}hour": document["hour"],
        f"{METADATA_PREFIX}intervals": str(len(document["intervals"])),
    }


def meter_hour_readings(content: bytes) -> list[dict]:
    """A meter-hour object's intervals as rows of the readings' columns (readings_schema,
    the warehouse's `readings`): what `b8760 download` writes as CSV or Parquet."""
    document = json.loads(content)
    _utc = datetime.fromisoformat  # every time in the object is ISO 8601 in UTC, with Z
    return [
        {
            CONNECTOR.name: document["connector"],
            PARTICIPANT.name: document["participant"],
            METER_ID.name: document["meter_id"],
            INTERVAL_START.name: _utc(interval["start"]),
            INTERVAL_END.name: _utc(interval["end"]),
            VALUE.name: interval["value"],
            UNIT.name: interval["unit"],
            QUALITY.name: interval["quality"],
            LOCAL_START.name: interval["local_start"],
            METER_KNOWN.name: interval["meter_known"],
            VALIDATION.name: interval.get("validation"),  # absent before validation existed
            FAILED_RULES.name: interval.get("failed_rules"),
            UPLOADED_AT.name: _utc(interval["version"]["uploaded_at"]),
            ARRIVAL_HOUR.name: _utc(interval["arrival_hour"]),
            SOURCE_FILE.name: interval["version"]["source_file"],
            SOURCE_LINE.name: interval["version"]["line"],
        }
        for interval in document["intervals"]
    ]


def stored_meter_ids(storage: StorageResource, bucket: str, connector: str) -> list[str]:
    """The meters with objects under the connector's standardized/ folder (one delimited
    listing, not their objects)."""
    prefix = standardized_folder(connector)
    return [folder.removeprefix(prefix).rstrip("/") for folder in storage.folders(bucket, prefix)]


def stored_meter_hours(
    storage: StorageResource,
    bucket: str,
    connector: str,
    meter_ids: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[str]:
    """The names of the meters' objects for the UTC hours that [start, end) overlaps, meter
    by meter: a listing per meter (in parallel), of those hours only (names sort as their
    hours do)."""

    def of_meter(meter_id: str) -> list[str]:
        folder = meter_hours_folder(connector, meter_id)
        listed = storage.list(
            bucket,
            folder,
            start_offset=folder + hour_segment(start),
            end_offset=folder + hour_segment(end - LAST_INSTANT + HOUR),
        )
        return [each.name for each in listed]

    return [each for names in storage.in_parallel(of_meter, meter_ids) for each in names]


Span = tuple[str, str, str]  # an interval's meter id, start and end, as the JSON holds them


def spans(content: bytes) -> list[Span]:
    """The intervals a meter-hour object holds readings of: estimates are left out, so that
    completeness counts what connectors delivered, not what the platform filled in."""
    return document_spans(json.loads(content))


def document_spans(document: dict) -> list[Span]:
    """spans of a document not encoded yet."""
    return [
        (document["meter_id"], each["start"], each["end"])
        for each in document["intervals"]
        if each.get("validation") != ESTIMATED
    ]


class MergedSpans:
    """The intervals of the meter-hour objects as a run's merges left them, by object name,
    so that a picture of the run's days reads again only the objects the run did not touch.
    Recorded as the merge's threads write; forget_before lets go of older hours, and keeps
    them from being recorded at all: a merge of a year of many meters would otherwise hold
    each of its objects until it ends (a 1 GB file's merge of 500,000 rows, 500,000
    records)."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Span]] = {}
        self.first = ""  # the hour segment of the earliest object kept

    def _kept(self, name: str) -> bool:
        return name.rsplit("/", 1)[1] >= self.first  # names end in their hour, sorting as it

    def record(self, name: str, document: dict) -> None:
        if self._kept(name):
            self.by_name[name] = document_spans(document)

    def forget_before(self, hour: datetime) -> None:
        self.first = max(self.first, hour_segment(hour))
        self.by_name = {name: held for name, held in self.by_name.items() if self._kept(name)}


def stored_intervals(
    storage: StorageResource,
    layout: ConnectorLayout,
    meter_ids: Sequence[str],
    start: datetime,
    end: datetime,
    merged: MergedSpans | None = None,
) -> pl.DataFrame:
    """(meter_id, interval_start, interval_end) of every interval the meters' objects hold for
    the UTC hours that [start, end) overlaps: those `merged` holds as they are, the others
    read in parallel."""
    held = {} if merged is None else merged.by_name
    names = stored_meter_hours(storage, layout.bucket, layout.connector.name, meter_ids, start, end)
    unread = [name for name in names if name not in held]
    read = storage.in_parallel(lambda each: spans(storage.read(layout.bucket, each).data), unread)
    rows = [row for name in names if name in held for row in held[name]]
    rows += [row for each in read for row in each]
    columns = (METER_ID.name, INTERVAL_START.name, INTERVAL_END.name)
    text = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    return text.select(
        METER_ID.name,
        *(
            pl.col(column.name).str.to_datetime(UTC_FORMAT, time_unit="us", time_zone="UTC")
            for column in (INTERVAL_START, INTERVAL_END)
        ),
    )
