"""Standardized readings: the second asset of each connector's chain.

Reads the readings the landing check kept of each hour's accepted files (checked/, never the
files themselves: a file is parsed and checked once), normalizes them (UTC, the meter's unit
and multiplier, a version per row), writes each hour's rows as one Parquet batch for the
warehouse, and merges the readings into the meter-hour objects participants download.
The merge is compare-and-swap per object, newest version per interval, so concurrent runs
and replays in any order end in the same objects.

Each hour's rows are validated (b8760_assets.validation) before they are written anywhere:
the batch and the objects carry every reading's verdict, and the asset's checks report what
the rules found (validation_checks.py).

Memory does not grow with a file or a range of hours: a file's readings are downloaded to a
temporary file and read a batch at a time, an hour's rows wait for validation in bounded
memory (hour_rows.py), and validated rows wait for the meter-hour merge only up to MERGE_ROWS
(one merge, for a run of ordinary size). A
range of hours lists its archive folders and batches once: only the hours that accepted a
file are read, and an hour without readings writes no batch.
"""

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from b8760_assets.completeness import day_start
from b8760_assets.completeness_pictures import markdown
from b8760_assets.config import Meter
from b8760_assets.connector_report import connector_picture
from b8760_assets.landing.assets import raw_landing_files_key
from b8760_assets.landing.checked_readings import PARQUET_CONTENT_TYPE, read_checked_readings
from b8760_assets.landing.intake import archived_hours, read_manifest
from b8760_assets.landing.manifest import ACCEPTED, ManifestEntry
from b8760_assets.layout import ConnectorLayout
from b8760_assets.object_updates import ObjectUpdate, update_each
from b8760_assets.partitions import HOUR, chain_asset, hours_of_run, record_hours
from b8760_assets.readings_schema import (
    ARROW_SCHEMA,
    COLUMN_SCHEMA,
    ESTIMATED,
    INTERVAL_START,
    VALIDATION,
)
from b8760_assets.standardized.hour_rows import HourRows
from b8760_assets.standardized.meter_hours import (
    CONTENT_TYPE,
    MergedSpans,
    document_metadata,
    encode_meter_hour,
    merged_meter_hour,
    meter_hour_documents,
    meter_hour_metadata,
)
from b8760_assets.standardized.normalize import Normalized, Normalizer
from b8760_assets.standardized.register_check import RegisterCheck
from b8760_assets.standardized.validation_checks import (
    CHECK_SPECS,
    ValidationTotals,
    check_results,
    meter_limits,
    thresholds,
)
from b8760_assets.storage import (
    GenerationConflict,
    ObjectMissing,
    StorageResource,
)
from b8760_assets.validation import Validation, validate

STANDARDIZED_READINGS = "standardized_readings"
UNIT_CHECK = "units_convert_to_meter_units"
# Standardized rows held for the meter-hour merge before they are merged and written.
MERGE_ROWS = 100_000
# Readings of unconvertible units kept as examples for the check (all are counted).
EXAMPLES = 20
# Local days a materialization's completeness picture covers at most: the last its readings
# start in (each costs a listing per meter, and a read of each object the run did not merge).
PICTURE_DAYS = 7
COMPLETENESS = "completeness"
# What a run's hour whose files gave no readings (a quiet hour of a range, say) records.
NO_READINGS = {"readings": 0, "dagster/row_count": 0}


@dataclass
class MergeOutcome:
    """What merging rows into their meter-hour objects did."""

    objects: int = 0
    written: int = 0
    unchanged: int = 0
    retries: int = 0
    seconds: float = 0.0

    def add(self, other: "MergeOutcome") -> None:
        self.objects += other.objects
        self.written += other.written
        self.unchanged += other.unchanged
        self.retries += other.retries
        self.seconds += other.seconds


@dataclass
class StandardizedTotals:
    """What a run standardized, for its metadata and its check."""

    readings: int = 0
    estimated: int = 0  # intervals validation/estimation.py filled, beside the readings
    meters: set[str] = field(default_factory=set)
    unknown_meters: set[str] = field(default_factory=set)
    merged: MergeOutcome = field(default_factory=MergeOutcome)
    batches: int = 0
    unconvertible: int = 0
    examples: list[pl.DataFrame] = field(default_factory=list)
    # The earliest and latest interval starts standardized, and the merged objects' intervals
    # of the days the completeness picture may show.
    first: datetime | None = None
    last: datetime | None = None
    spans: MergedSpans = field(default_factory=MergedSpans)
    validation: ValidationTotals = field(default_factory=ValidationTotals)
    # The arrival hours whose files gave readings.
    hours: set[datetime] = field(default_factory=set)

    def add_rows(self, normalized: Normalized) -> None:
        rows = normalized.rows
        if rows.height:
            starts = pl.col(INTERVAL_START.name)
            first, last = rows.select(starts.min().alias("first"), starts.max()).row(0)
            self.first = first if self.first is None else min(self.first, first)
            self.last = last if self.last is None else max(self.last, last)
        self.readings += rows.height
        self.meters.update(rows["meter_id"].unique().to_list())
        self.unknown_meters.update(
            rows.filter(~pl.col("meter_known"))["meter_id"].unique().to_list()
        )
        refused = normalized.unconvertible
        if refused.height:
            self.unconvertible += refused.height
            if sum(each.height for each in self.examples) < EXAMPLES:
                self.examples.append(refused.head(EXAMPLES))


class MeterHourChange:
    """One meter-hour object's change in a merge: its merged content, and that content's
    metadata and intervals (recorded in `spans`, the last call's being the one written) taken
    from the document before it was encoded rather than parsed back from the bytes, which
    cost two JSON parses per object on the writers' threads."""

    def __init__(self, name: str, incoming: dict, spans: MergedSpans | None) -> None:
        self.name, self.incoming, self.spans = name, incoming, spans
        self._document: dict | None = None
        self._content: bytes | None = None

    def __call__(self, existing: bytes | None) -> bytes:
        document = merged_meter_hour(existing, self.incoming)
        self._document, self._content = document, encode_meter_hour(document)
        if self.spans is not None:
            self.spans.record(self.name, document)
        return self._content

    def metadata(self, content: bytes) -> dict[str, str]:
        if self._document is not None and content is self._content:
            return document_metadata(self._document)
        return meter_hour_metadata(content)


def merge_meter_hours(
    storage: StorageResource, bucket: str, rows: pl.DataFrame, spans: MergedSpans | None = None
) -> MergeOutcome:
    """Merge standardized rows into their meter-hour objects (compare-and-swap, the newest
    version of each interval winning, whatever order rows come in), recording the objects'
    intervals in `spans` if given."""
    started = time.perf_counter()
    changes = (
        MeterHourChange(name, document, spans) for name, document in meter_hour_documents(rows)
    )
    updates = (
        ObjectUpdate(change.name, change, CONTENT_TYPE, change.metadata) for change in changes
    )
    outcome = MergeOutcome()
    for each in update_each(storage, bucket, updates):
        outcome.objects += 1
        outcome.written += each.written
        outcome.unchanged += not each.written
        outcome.retries += each.retries
    outcome.seconds = time.perf_counter() - started
    return outcome


class MeterHourMerge:
    """Standardized rows on their way to the meter-hour objects: held until MERGE_ROWS, then
    merged, so that memory stays bounded while a run of ordinary size merges once."""

    def __init__(self, storage: StorageResource, bucket: str, totals: StandardizedTotals) -> None:
        self.storage, self.bucket, self.totals = storage, bucket, totals
        self.held: list[pl.DataFrame] = []
        self.height = 0

    def add(self, rows: pl.DataFrame) -> None:
        self.held.append(rows)
        self.height += rows.height
        if self.height >= MERGE_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.held:
            rows = pl.concat(self.held)
            self.held, self.height = [], 0
            totals = self.totals
            # None before the picture's first day can be in it; totals.last already counts
            # every file of the hour being merged, and only grows with later hours.
            if totals.last is not None:
                totals.spans.forget_before(totals.last - timedelta(days=PICTURE_DAYS + 1))
            totals.merged.add(merge_meter_hours(self.storage, self.bucket, rows, totals.spans))


class HourBatch:
    """An arrival hour's standardized rows as a local Parquet file, written as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, ARROW_SCHEMA, compression="zstd")
        self._writer.write_table(rows.to_arrow().cast(ARROW_SCHEMA))
        self.rows += rows.height

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def accepted_files(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> dict[datetime, list[ManifestEntry]]:
    """The files each hour accepted: from one listing of the hours' archive folders, then the
    manifests of the hours that archived any file (an hour whose folder holds only its
    manifest accepted none). ObjectMissing for an hour that was never taken in."""
    frozen, archived = archived_hours(storage, layout, hours)
    missing = [hour for hour in hours if hour not in frozen]
    if missing:
        raise ObjectMissing(
            f"gs://{layout.bucket}/{layout.manifest(missing[0])} does not exist: "
            f"{len(missing)} of the {len(hours)} hour(s) were never taken in; materialize "
            f"{layout.connector.name}/raw_landing_files for them first"
        )
    with_files = [hour for hour in hours if hour in archived]
    manifests = storage.in_parallel(
        lambda hour: read_manifest(storage, layout, hour)[0], with_files
    )
    found: dict[datetime, list[ManifestEntry]] = {hour: [] for hour in hours}
    for hour, manifest in zip(with_files, manifests, strict=True):
        found[hour] = [entry for entry in manifest.files if entry.outcome == ACCEPTED]
    return found


def standardize_hours(
    storage: StorageResource,
    layout: ConnectorLayout,
    meters: Mapping[str, Meter],
    hours: Sequence[datetime],
) -> StandardizedTotals:
    """Standardize the hours' accepted files: each hour's batch, and the meter-hour objects."""
    normalizer = Normalizer(layout.connector, meters)
    validator = partial(
        validate,
        limits=meter_limits(meters),
        thresholds=thresholds(layout.connector),
        default_zone=layout.connector.timezone,
    )
    totals = StandardizedTotals()
    registers = RegisterCheck.of(normalizer, meters, totals.validation)
    merge = MeterHourMerge(storage, layout.bucket, totals)
    batches = {
        batch.name: batch
        for batch in storage.list(
            layout.bucket,
            layout.batches_prefix,
            start_offset=layout.batch(min(hours)),
            end_offset=layout.batch(max(hours) + HOUR),
        )
    }
    for hour, files in accepted_files(storage, layout, hours).items():
        rows = standardize_hour(
            storage, layout, (normalizer, validator, registers), hour, files, merge, totals
        )
        if rows:
            totals.hours.add(hour)
        earlier = batches.get(layout.batch(hour))
        if not rows and earlier is not None:
            # The hour's files give no readings now (a meter's unit changed, say): the batch
            # an earlier run wrote must not reach the warehouse again.
            try:
                storage.delete(earlier)
            except GenerationConflict:
                pass  # rewritten meanwhile by another run of the hour, which stands
    merge.flush()
    return totals


def standardize_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    steps: tuple[Normalizer, Callable[[pl.DataFrame], Validation], RegisterCheck | None],
    hour: datetime,
    files: Sequence[ManifestEntry],
    merge: MeterHourMerge,
    totals: StandardizedTotals,
) -> int:
    """Standardize one hour's accepted files (normalize, then validate all of the hour's
    rows) into its batch (written if it has rows) and the meter-hour merge, and check each
    file's register reads against its intervals; the rows standardized."""
    normalizer, validator, registers = steps
    with tempfile.TemporaryDirectory(prefix="b8760-standardize-") as folder:
        batch = HourBatch(Path(folder) / "batch.parquet")
        hour_rows = HourRows(Path(folder))

        def take(normalized: Normalized) -> None:
            hour_rows.add(normalized.rows)
            totals.add_rows(normalized)

        try:
            for entry in files:
                standardize_file(
                    storage, layout, normalizer, hour, entry, Path(folder), take, registers
                )
            for rows in hour_rows.parts():
                validated = validator(rows)
                batch.write(validated.rows)
                merge.add(validated.rows)
                totals.validation.add(validated.cases)
                totals.estimated += validated.rows.filter(
                    pl.col(VALIDATION.name) == ESTIMATED
                ).height
        finally:
            batch.close()
        if batch.rows:
            storage.upload_file(
                layout.bucket,
                layout.batch(hour),
                batch.path,
                if_generation_match=None,
                content_type=PARQUET_CONTENT_TYPE,
            )
            totals.batches += 1
        return batch.rows


def standardize_file(
    storage: StorageResource,
    layout: ConnectorLayout,
    normalizer: Normalizer,
    hour: datetime,
    entry: ManifestEntry,
    folder: Path,
    take: Callable[[Normalized], None],
    registers: RegisterCheck | None = None,
) -> None:
    """Download one accepted file's checked readings and normalize them a batch at a time;
    with `registers`, hold its register reads, if any, to the sums of its intervals."""
    if entry.checked_readings is None:
        raise ObjectMissing(
            f"the manifest gs://{layout.bucket}/{layout.manifest(hour)} names no checked "
            f"readings for {entry.name} (taken in by an older version of the platform); "
            "on the local stack, `make clean` starts afresh"
        )
    path = folder / "checked.parquet"
    storage.download(layout.bucket, entry.checked_readings, path)
    normalize = partial(
        normalizer.normalize,
        arrival_hour=hour,
        source_file=entry.name,
        uploaded_at=entry.uploaded_at,
    )
    sums = None if registers is None else registers.of_file(storage, layout, entry, folder)
    for normalized in read_checked_readings(path, normalize):
        take(normalized)
        if sums is not None:
            sums.add(normalized.rows)
    path.unlink()
    if registers is not None and sums is not None:
        registers.report(sums)


def picture_window(totals: StandardizedTotals, timezone: str) -> tuple[datetime, datetime]:
    """The local days (in `timezone`) the run's readings start in, the last PICTURE_DAYS at
    most, whole: a file that stops short of its day's end shows the rest of the day missing."""
    assert totals.first is not None and totals.last is not None
    zone = ZoneInfo(timezone)
    last = totals.last.astimezone(zone).date()
    first = max(totals.first.astimezone(zone).date(), last - timedelta(days=PICTURE_DAYS - 1))
    return day_start(first, timezone), day_start(last + timedelta(days=1), timezone)


def completeness_markdown(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    layout: ConnectorLayout,
    meters: Mapping[str, Meter],
    totals: StandardizedTotals,
    hours: Sequence[datetime],
) -> dg.MetadataValue:
    """The completeness picture of the run's meters over the days its readings touched, with
    the connector's failed checks in those days and the run's hours (this run's unit check
    among them, not recorded yet)."""
    start, end = picture_window(totals, layout.connector.timezone)
    check_keys = [
        key
        for key in context.job_def.asset_layer.asset_graph.asset_check_keys
        if key.asset_key.path[0] == layout.connector.name
    ]
    picture = connector_picture(
        storage,
        context.instance,
        layout,
        list(meters.values()),
        totals.meters,
        check_keys,
        start,
        end,
        arrival_hours=hours,
        pending={UNIT_CHECK: hours} if totals.unconvertible else None,
        run_id=context.run.run_id,
        merged=totals.spans,
    )
    return dg.MetadataValue.md(markdown(picture))


def build_standardized_readings(
    layout: ConnectorLayout, meters: Mapping[str, Meter]
) -> dg.AssetsDefinition:
    connector = layout.connector

    @chain_asset(
        connector,
        STANDARDIZED_READINGS,
        deps=[raw_landing_files_key(layout)],
        checks=[
            (UNIT_CHECK, "Every reading's unit converts to its meter's unit (VEE)."),
            *CHECK_SPECS,
        ],
        kinds={"gcs", "parquet"},
        column_schema=COLUMN_SCHEMA,
        description=(
            f"{connector.name}'s readings, one object per meter per UTC hour at "
            f"`gs://{connector.bucket}/{layout.standardized_prefix}<meter>/<hour>`, and "
            f"each arrival hour's rows at `batches/<hour>.parquet`."
        ),
    )
    def standardized_readings(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        hours = hours_of_run(context)
        totals = standardize_hours(storage, layout, meters, hours)
        merged = totals.merged
        context.log.info(
            f"{totals.readings} readings from {len(hours)} hour(s) merged into "
            f"{merged.objects} meter-hour objects"
        )
        examples = pl.concat(totals.examples).head(EXAMPLES) if totals.examples else None
        picture = (
            {COMPLETENESS: completeness_markdown(context, storage, layout, meters, totals, hours)}
            if totals.readings
            else {}
        )
        metadata = {
            **picture,
            "readings": totals.readings,
            "dagster/row_count": totals.readings,
            "estimated_intervals": totals.estimated,
            "meters": len(totals.meters),
            "unknown_meters": len(totals.unknown_meters),
            "meter_hours": merged.objects,
            "objects_written": merged.written,
            "objects_unchanged": merged.unchanged,
            "objects_per_second": (
                round(merged.objects / merged.seconds, 1) if merged.objects else 0.0
            ),
            "swap_retries": merged.retries,
            "batches": totals.batches,
        }
        record_hours(
            context,
            dict.fromkeys(totals.hours, metadata),
            idle=NO_READINGS,
            found=metadata,
        )
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name=UNIT_CHECK,
                    passed=totals.unconvertible == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "readings_left_out": totals.unconvertible,
                        "examples": dg.MetadataValue.md("" if examples is None else str(examples)),
                    },
                ),
                *check_results(totals.validation),
            ],
        )

    return standardized_readings
