"""Taking an arrival hour's files in: freeze the set, check each file, move it, record it.

Nothing is lost and nothing is taken twice:
- an hour takes in only files uploaded before it ended (their timeCreated, which GCS sets
  and no uploader can), so a file waits for the first hour that ends after its upload,
  whichever run gets there first, and a backfill of past hours never takes a later upload;
- a file is claimed by one hour (a create-only claim object) before the hour's manifest
  freezes it, so two hours never take the same upload;
- the manifest is written create-only, so two runs of one hour agree on one set of files;
- a landing file is deleted only after its copy's checksum is verified, and only at the
  generation that was frozen; every step is safe to repeat, so a rerun of a crashed hour
  finishes the move instead of starting over;
- an accepted file's readings are kept as the check read them (checked/), and its register
  reads beside them if it carries any, so that the steps after the intake never parse or
  check the file again.

A range of hours (a backfill) lists the landing zone, the claims and the range's manifests
once, not once an hour, and records the hours with nothing to take in as one empty-hours
record per run of consecutive hours, not an empty manifest each: a year of hours is a few
listings and a write, not 35,000 requests, and a week leaves one object, not 168 folders.
"""

import bisect
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from b8760_assets.landing.checked_readings import (
    PARQUET_CONTENT_TYPE,
    CheckedReadings,
    write_register_reads,
)
from b8760_assets.landing.file_checks import (
    CheckedFile,
    KnownMeters,
    check_local_file,
    check_size,
)
from b8760_assets.landing.manifest import ACCEPTED, REJECTED, EmptyHours, Manifest, ManifestEntry
from b8760_assets.layout import RESERVED_NAMES, ConnectorLayout, hour_segment
from b8760_assets.partitions import HOUR
from b8760_assets.storage import (
    GenerationConflict,
    ObjectMissing,
    StorageError,
    StorageResource,
    StoredObject,
    verify_same_content,
)

Log = Callable[[str], None]
# What a run found waiting for an hour when it began: uploads, and the names of the claims.
Waiting = tuple[list[StoredObject], set[str]]


def take_in_hours(
    storage: StorageResource,
    layout: ConnectorLayout,
    hours: Sequence[datetime],
    *,
    meters: KnownMeters | None = None,
    log: Log = lambda message: None,
) -> list[Manifest]:
    """take_in_hour for each of `hours` (in order), listing once for all of them.

    Hours that ran before are read back (a crashed one is finished). Of the hours that never
    ran, each takes in the waiting files uploaded before it ended and after the hour before
    it in the range ended (a file goes to the first of them that ends after its upload);
    the hours that find nothing have their empty manifests written together. Whatever
    another run froze meanwhile is taken as it froze it.
    """
    meters = meters or KnownMeters.of(layout.connector, {})
    own = archive_folders(storage, layout, hours)[0]
    frozen = own | recorded_hours(storage, layout, hours)
    manifests: dict[datetime, Manifest] = {}
    new = sorted(hour for hour in hours if hour not in frozen)
    if new:
        claims = {claim.name for claim in storage.list(layout.bucket, layout.claims_prefix)}
        by_hour = first_hours(list(landing_files(storage, layout)), new)
        for hour, uploads in by_hour.items():
            manifests[hour] = take_in_hour(
                storage, layout, hour, meters=meters, log=log, waiting=(uploads, claims)
            )
        manifests.update(
            freeze_empty_hours(storage, layout, [hour for hour in new if hour not in by_hour])
        )
    ran = [hour for hour in hours if hour not in manifests]
    # Hours new to this run that it did not freeze were frozen by another meanwhile: which
    # have a manifest of their own is listed again.
    raced = any(hour not in frozen for hour in ran)
    read = read_manifests(storage, layout, ran, own=None if raced else own)
    for hour, (manifest, generation) in zip(ran, read, strict=True):
        manifests[hour] = finish_hour(
            storage, layout, hour, manifest, generation, meters=meters, log=log
        )
    return [manifests[hour] for hour in hours]


def first_hours(
    uploads: Iterable[StoredObject], hours: Sequence[datetime]
) -> dict[datetime, list[StoredObject]]:
    """The uploads each of `hours` (sorted) may take in: each upload goes to the first of
    them that ends after it was uploaded; uploads after the last one ended wait."""
    ends = [hour + HOUR for hour in hours]
    taken: dict[datetime, list[StoredObject]] = {}
    for upload in uploads:
        index = bisect.bisect_right(ends, uploaded_at(upload))
        if index < len(hours):
            taken.setdefault(hours[index], []).append(upload)
    return taken


def uploaded_at(upload: StoredObject) -> datetime:
    if upload.created is None:
        raise StorageError(f"{upload.uri} has no timeCreated; GCS sets it on every object")
    return upload.created


def frozen_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> set[datetime]:
    """Which of the hours have a manifest, from one listing of their archive folders."""
    return archived_hours(storage, layout, hours)[0]


def archived_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> tuple[set[datetime], set[datetime]]:
    """Of the hours, those with a manifest (their own or an empty-hours record) and those that
    archived an accepted file, from one listing of their archive folders and one of the
    empty-hours records, whatever the range's length."""
    own, files = archive_folders(storage, layout, hours)
    return own | recorded_hours(storage, layout, hours), files


def recorded_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> set[datetime]:
    """Of the hours, those an empty-hours record covers, from one listing of the records."""
    spans = [span for _, span in empty_records(storage, layout, hours)]
    return {hour for hour in hours if any(first <= hour <= last for first, last in spans)}


def archive_folders(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> tuple[set[datetime], set[datetime]]:
    """Of the hours, those with a manifest of their own and those that archived an accepted
    file, from one listing of their archive folders (raw/<hour>/)."""
    if not hours:
        return set(), set()
    prefix = layout.raw_prefix
    listed = storage.list(
        layout.bucket,
        prefix,
        start_offset=layout.archive_folder(min(hours)),
        end_offset=layout.archive_folder(max(hours) + HOUR),
    )
    manifests: set[datetime] = set()
    files: set[datetime] = set()
    for each in listed:
        hour = layout.archived_hour(each.name)
        if hour is None:
            continue
        (manifests if each.name == layout.manifest(hour) else files).add(hour)
    wanted = set(hours)
    return manifests & wanted, files & wanted


def empty_records(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> Iterable[tuple[str, tuple[datetime, datetime]]]:
    """The empty-hours records (name, first and last hour) that begin by the last of `hours`,
    from one listing: those that may cover any of them."""
    if not hours:
        return
    prefix = layout.empty_hours_prefix
    end = prefix + hour_segment(max(hours) + HOUR)
    for listed in storage.list(layout.bucket, prefix, end_offset=end):
        span = layout.empty_hours_span(listed.name)
        if span is not None:
            yield listed.name, span


def consecutive(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """The sorted hours as runs of consecutive hours: (first, last) each."""
    spans: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if spans and spans[-1][1] + HOUR == hour:
            spans[-1] = (spans[-1][0], hour)
        else:
            spans.append((hour, hour))
    return spans


def freeze_empty_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> dict[datetime, Manifest]:
    """The empty manifests of hours that take nothing in, recorded as one empty-hours record
    per run of consecutive hours, create-only and in parallel. Hours of a record another run
    wrote first, and any hour whose own manifest another run froze meanwhile, are left out
    (the caller reads them)."""
    if not hours:
        return {}
    frozen_at = datetime.now(UTC)

    def freeze(span: tuple[datetime, datetime]) -> bool:
        record = EmptyHours(layout.connector.name, *span, frozen_at)
        try:
            storage.write(
                layout.bucket,
                layout.empty_hours(*span),
                record.to_json(),
                content_type="application/json",
            )
        except GenerationConflict:
            return False
        return True

    spans = consecutive(hours)
    written = storage.in_parallel(freeze, spans)
    kept = [span for span, ok in zip(spans, written, strict=True) if ok]
    own = archive_folders(storage, layout, hours)[0]
    return {
        hour: Manifest(layout.connector.name, hour, frozen_at, ())
        for first, last in kept
        for hour in hours
        if first <= hour <= last and hour not in own
    }


def take_in_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    *,
    meters: KnownMeters | None = None,
    log: Log = lambda message: None,
    waiting: Waiting | None = None,
) -> Manifest:
    """The hour's manifest with every file moved to raw/ or rejected/; safe to repeat.

    `meters` are the connector's: values are stated in their meters' units, so that a value
    that would overflow there is refused (without them, values are checked as uploaded), and
    they say which meter reads each channel of a Green Button file. `waiting` is what
    take_in_hours found for an hour that had no manifest then."""
    meters = meters or KnownMeters.of(layout.connector, {})
    manifest, generation = freeze_hour(storage, layout, hour, waiting=waiting)
    return finish_hour(storage, layout, hour, manifest, generation, meters=meters, log=log)


def finish_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    manifest: Manifest,
    generation: int,
    *,
    meters: KnownMeters,
    log: Log = lambda message: None,
) -> Manifest:
    """Move the frozen hour's files not moved yet, then record their outcomes."""
    pending = [entry for entry in manifest.files if not entry.done]
    if not pending:
        return manifest
    log(f"{layout.connector.name} {hour_segment(hour)}: {len(pending)} file(s) to take in")
    for number, entry in enumerate(pending, start=1):
        done = move_file(storage, layout, hour, entry, meters)
        log(f"[{number}/{len(pending)}] {entry.name}: {describe(done)}")
        manifest = manifest.with_entry(done)
    try:
        storage.write(
            layout.bucket,
            layout.manifest(hour),
            manifest.to_json(),
            if_generation_match=generation,
            content_type="application/json",
        )
    except GenerationConflict:
        # Another run of the same hour recorded the outcomes first; both moved the same files.
        return read_manifest(storage, layout, hour)[0]
    return manifest


def describe(entry: ManifestEntry) -> str:
    if entry.rejection is not None:
        return f"rejected, {entry.rejection.rule}: {entry.rejection.message}"
    noticed = "".join(f"; {notice.rule}: {notice.message}" for notice in entry.notices)
    return f"accepted, {entry.readings} readings{noticed}"


def read_manifest(
    storage: StorageResource, layout: ConnectorLayout, hour: datetime
) -> tuple[Manifest, int]:
    """The hour's manifest and its generation: its own, or the empty one its empty-hours
    record stands for; ObjectMissing if the hour was never taken in."""
    try:
        return own_manifest(storage, layout, hour)
    except ObjectMissing:
        return recorded_manifests(storage, layout, [hour])[hour]


def read_manifests(
    storage: StorageResource,
    layout: ConnectorLayout,
    hours: Sequence[datetime],
    *,
    own: set[datetime] | None = None,
) -> list[tuple[Manifest, int]]:
    """read_manifest for each of the hours: those with a manifest of their own (`own`, or one
    listing says which) read in parallel, the others from the empty-hours records."""
    with_own = archive_folders(storage, layout, hours)[0] if own is None else own
    reading = [hour for hour in hours if hour in with_own]
    read = storage.in_parallel(lambda hour: own_manifest(storage, layout, hour), reading)
    found = dict(zip(reading, read, strict=True))
    found.update(recorded_manifests(storage, layout, [h for h in hours if h not in found]))
    return [found[hour] for hour in hours]


def recorded_manifests(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> dict[datetime, tuple[Manifest, int]]:
    """The empty manifests (and the records' generations) that empty-hours records hold for
    the hours, each record read once; ObjectMissing for an hour none covers."""
    found: dict[datetime, tuple[Manifest, int]] = {}
    for name, (first, last) in empty_records(storage, layout, hours):
        covered = [hour for hour in hours if first <= hour <= last and hour not in found]
        if covered:
            content = storage.read(layout.bucket, name)
            record = EmptyHours.from_json(content.data)
            found.update({h: (record.manifest(h), content.object.generation) for h in covered})
    missing = [hour for hour in hours if hour not in found]
    if missing:
        raise ObjectMissing(
            f"gs://{layout.bucket}/{layout.manifest(missing[0])} does not exist and no "
            f"empty-hours record covers {hour_segment(missing[0])}: never taken in"
        )
    return found


def own_manifest(
    storage: StorageResource, layout: ConnectorLayout, hour: datetime
) -> tuple[Manifest, int]:
    content = storage.read(layout.bucket, layout.manifest(hour))
    return Manifest.from_json(content.data), content.object.generation


def freeze_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    *,
    waiting: Waiting | None = None,
) -> tuple[Manifest, int]:
    """The hour's manifest and its generation: the existing one, or a new one holding every
    landing file uploaded before the hour ended and not claimed by another hour (from
    `waiting`, when the caller listed them)."""
    if waiting is None:
        try:
            return read_manifest(storage, layout, hour)
        except ObjectMissing:
            pass
        claims = {claim.name for claim in storage.list(layout.bucket, layout.claims_prefix)}
        uploads: Iterable[StoredObject] = first_hours(landing_files(storage, layout), [hour]).get(
            hour, []
        )
    else:
        uploads, claims = waiting
    entries = tuple(
        ManifestEntry(layout.file_name(upload.name), upload)
        for upload in uploads
        if claim(storage, layout, upload, hour, claims)
    )
    manifest = Manifest(layout.connector.name, hour, datetime.now(UTC), entries)
    try:
        written = storage.write(
            layout.bucket,
            layout.manifest(hour),
            manifest.to_json(),
            content_type="application/json",
        )
    except GenerationConflict:
        winner, generation = read_manifest(storage, layout, hour)
        taken = {(entry.name, entry.landing_object.generation) for entry in winner.files}
        release_claims(
            storage,
            layout,
            [e for e in entries if (e.name, e.landing_object.generation) not in taken],
        )
        return winner, generation
    return manifest, written.generation


def landing_files(storage: StorageResource, layout: ConnectorLayout) -> Iterable[StoredObject]:
    """The connector's uploads now in the landing zone, less the platform's own (readme.txt)."""
    for upload in storage.list(layout.landing_bucket, layout.landing_prefix):
        if is_upload(layout, upload):
            yield upload


def is_upload(layout: ConnectorLayout, listed: StoredObject) -> bool:
    """Whether an object of the connector's landing folder is an upload (not readme.txt)."""
    return layout.file_name(listed.name) not in RESERVED_NAMES


def claim(
    storage: StorageResource,
    layout: ConnectorLayout,
    upload: StoredObject,
    hour: datetime,
    existing_claims: set[str],
) -> bool:
    """Whether `hour` holds the claim on this exact upload, taking it if nobody has."""
    name = layout.claim(upload.generation, layout.file_name(upload.name))
    if name not in existing_claims:
        try:
            storage.write(layout.bucket, name, hour_segment(hour).encode())
            return True
        except GenerationConflict:
            pass
    return storage.read(layout.bucket, name).data.decode() == hour_segment(hour)


def release_claims(
    storage: StorageResource, layout: ConnectorLayout, entries: Iterable[ManifestEntry]
) -> None:
    for entry in entries:
        claim_object = storage.stat(
            layout.bucket, layout.claim(entry.landing_object.generation, entry.name)
        )
        if claim_object is not None:
            storage.delete(claim_object)


def move_file(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    entry: ManifestEntry,
    meters: KnownMeters,
) -> ManifestEntry:
    """Check one frozen file and keep its verdict (the checked readings of an accepted file,
    the reason of a refused one), copy it to raw/ or rejected/, verify the copy, then delete
    the landing object and its claim. Each step is safe to repeat."""
    source = entry.landing_object
    with tempfile.TemporaryDirectory(prefix="b8760-intake-") as folder:
        readings = Path(folder) / "checked.parquet"
        checked = check_frozen_file(storage, layout, hour, entry, meters, readings)
        registers = None
        if checked.rejection is None:  # accepted
            destination = layout.accepted(hour, entry.name)
            kept = storage.upload_file(
                layout.bucket,
                layout.checked_readings(hour, entry.name),
                readings,
                if_generation_match=None,
                content_type=PARQUET_CONTENT_TYPE,
            )
            if register_reads_path(readings).exists():
                registers = storage.upload_file(
                    layout.bucket,
                    layout.checked_registers(hour, entry.name),
                    register_reads_path(readings),
                    if_generation_match=None,
                    content_type=PARQUET_CONTENT_TYPE,
                ).name
        else:
            destination = layout.rejected(hour, entry.name)
            kept = write_if_missing(
                storage,
                layout.bucket,
                layout.rejection_reason(hour, entry.name),
                json.dumps(
                    {
                        "file": source.uri,
                        "rejected_as": f"gs://{layout.bucket}/{destination}",
                        **checked.rejection.to_json(),
                    },
                    indent=2,
                ).encode(),
            )
    try:
        archived = storage.copy(source, layout.bucket, destination)
    except ObjectMissing:
        # Deleted by an earlier attempt, which only deletes after a verified copy.
        archived = archived_copy(storage, layout.bucket, destination, source)
    storage.delete(source)
    release_claims(storage, layout, [entry])
    return replace(
        entry,
        outcome=ACCEPTED if checked.accepted else REJECTED,
        archived_as=archived.uri,
        readings=checked.count,
        rejection=checked.rejection,
        checked_readings=kept.name if checked.accepted else None,
        checked_registers=registers,
        notices=checked.notices,
    )


def register_reads_path(readings: Path) -> Path:
    """Where check_frozen_file keeps a file's register reads, beside its readings."""
    return readings.with_name("registers.parquet")


def check_frozen_file(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    entry: ManifestEntry,
    meters: KnownMeters,
    readings: Path,
) -> CheckedFile:
    """The landing check on exactly the frozen version: from the landing zone, or from its
    archive when an earlier attempt got as far as deleting it. Oversized files are refused
    by their listed size, without downloading them; others are downloaded to a temporary
    file and checked a batch at a time, so that memory does not grow with the file. The
    readings of an accepted file are written to `readings` (Parquet) as they are read, its
    register reads, if any, beside (register_reads_path)."""
    source = entry.landing_object
    too_large = check_size(source.size or 0, layout.connector)
    if too_large is not None:
        return CheckedFile(entry.name, None, None, too_large)
    path = readings.with_name("upload")
    try:
        storage.download(source.bucket, source.name, path, generation=source.generation)
    except ObjectMissing:
        for archive in (layout.accepted(hour, entry.name), layout.rejected(hour, entry.name)):
            copy = storage.stat(layout.bucket, archive)
            if copy is not None:
                storage.download(layout.bucket, archive, path, generation=copy.generation)
                break
        else:
            raise
    with CheckedReadings(readings) as kept:
        return check_local_file(
            entry.name,
            path,
            layout.connector,
            meters=meters,
            on_readings=kept.write,
            on_registers=partial(write_register_reads, register_reads_path(readings)),
        )


def archived_copy(
    storage: StorageResource, bucket: str, name: str, source: StoredObject
) -> StoredObject:
    copy = storage.stat(bucket, name)
    if copy is None:
        raise ObjectMissing(f"{source.uri} is gone and gs://{bucket}/{name} holds no copy of it")
    verify_same_content(source, copy)
    return copy


def write_if_missing(storage: StorageResource, bucket: str, name: str, data: bytes) -> StoredObject:
    """The object written create-only, or the one an earlier attempt wrote."""
    try:
        return storage.write(bucket, name, data, content_type="application/json")
    except GenerationConflict:
        existing = storage.stat(bucket, name)
        if existing is None:
            raise
        return existing
