"""Taking an arrival hour's files in: freeze the set, check each file, move it, record it.

Nothing is lost and nothing is taken twice:
- a file is claimed by one hour (a create-only claim object) before the hour's manifest
  freezes it, so two hours never take the same upload, and a file uploaded after the freeze
  waits for the next hour;
- the manifest is written create-only, so two runs of one hour agree on one set of files;
- a landing file is deleted only after its copy's checksum is verified, and only at the
  generation that was frozen; every step is safe to repeat, so a rerun of a crashed hour
  finishes the move instead of starting over.

A range of hours (a backfill) lists the landing zone, the claims and the range's manifests
once, not once an hour, and writes the manifests of the hours with nothing to take in all
at once: a year of hours is a few listings and one parallel write, not 35,000 requests.
"""

import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from b8760_assets.landing.file_checks import (
    MANIFEST_NAME,
    RESERVED_NAMES,
    CheckedFile,
    check_local_file,
    check_size,
)
from b8760_assets.landing.layout import ConnectorLayout
from b8760_assets.landing.manifest import ACCEPTED, REJECTED, Manifest, ManifestEntry
from b8760_assets.partitions import HOUR, HOUR_SEGMENT_FORMAT, hour_segment
from b8760_assets.storage import (
    GenerationConflict,
    ObjectMissing,
    StorageResource,
    StoredObject,
    verify_same_content,
)

Log = Callable[[str], None]
# What a run saw waiting when it began: the connector's uploads and the names of the claims.
Waiting = tuple[list[StoredObject], set[str]]


def take_in_hours(
    storage: StorageResource,
    layout: ConnectorLayout,
    hours: Sequence[datetime],
    *,
    log: Log = lambda message: None,
) -> list[Manifest]:
    """take_in_hour for each of `hours` (in order), listing once for all of them.

    Hours that ran before are read back (a crashed one is finished). Of the hours that never
    ran, the first takes in what was waiting when the run began; the others find nothing
    (files uploaded during the run wait for the next hour's run), so their empty manifests
    are written together. Whatever another run froze meanwhile is taken as it froze it.
    """
    frozen = frozen_hours(storage, layout, hours)
    manifests: dict[datetime, Manifest] = {}
    new = [hour for hour in hours if hour not in frozen]
    if new:
        first, *rest = new
        claims = {claim.name for claim in storage.list(layout.bucket, layout.claims_prefix)}
        waiting = (list(landing_files(storage, layout)), claims)
        manifests[first] = take_in_hour(storage, layout, first, log=log, waiting=waiting)
        manifests.update(freeze_empty_hours(storage, layout, rest))
    ran = [hour for hour in hours if hour not in manifests]
    read = storage.in_parallel(lambda hour: read_manifest(storage, layout, hour), ran)
    for hour, (manifest, generation) in zip(ran, read, strict=True):
        manifests[hour] = finish_hour(storage, layout, hour, manifest, generation, log=log)
    return [manifests[hour] for hour in hours]


def frozen_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> set[datetime]:
    """Which of the hours have a manifest, from one listing of their archive folders."""
    return archived_hours(storage, layout, hours)[0]


def archived_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> tuple[set[datetime], set[datetime]]:
    """Of the hours, those with a manifest and those that archived an accepted file, from one
    listing of their archive folders (raw/<hour>/), whatever the range's length."""
    if not hours:
        return set(), set()
    prefix = layout.raw_prefix
    listed = storage.list(
        layout.bucket,
        prefix,
        start_offset=layout.manifest(min(hours)).removesuffix(MANIFEST_NAME),
        end_offset=layout.manifest(max(hours) + HOUR).removesuffix(MANIFEST_NAME),
    )
    manifests, files = set(), set()
    for each in listed:
        segment = each.name.removeprefix(prefix).split("/", 1)[0]
        try:
            hour = datetime.strptime(segment, HOUR_SEGMENT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue
        (manifests if each.name == layout.manifest(hour) else files).add(hour)
    wanted = set(hours)
    return manifests & wanted, files & wanted


def freeze_empty_hours(
    storage: StorageResource, layout: ConnectorLayout, hours: Sequence[datetime]
) -> dict[datetime, Manifest]:
    """Empty manifests for hours that take nothing in, written create-only and in parallel;
    an hour whose manifest another run wrote first is left out (the caller reads it)."""
    frozen_at = datetime.now(UTC)

    def freeze(hour: datetime) -> Manifest | None:
        manifest = Manifest(layout.connector.name, hour, frozen_at, ())
        try:
            storage.write(
                layout.bucket,
                layout.manifest(hour),
                manifest.to_json(),
                content_type="application/json",
            )
        except GenerationConflict:
            return None
        return manifest

    written = storage.in_parallel(freeze, hours)
    return {hour: manifest for hour, manifest in zip(hours, written, strict=True) if manifest}


def take_in_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    *,
    log: Log = lambda message: None,
    waiting: Waiting | None = None,
) -> Manifest:
    """The hour's manifest with every file moved to raw/ or rejected/; safe to repeat.

    `waiting` is what take_in_hours listed for an hour that had no manifest then."""
    manifest, generation = freeze_hour(storage, layout, hour, waiting=waiting)
    return finish_hour(storage, layout, hour, manifest, generation, log=log)


def finish_hour(
    storage: StorageResource,
    layout: ConnectorLayout,
    hour: datetime,
    manifest: Manifest,
    generation: int,
    *,
    log: Log = lambda message: None,
) -> Manifest:
    """Move the frozen hour's files not moved yet, then record their outcomes."""
    pending = [entry for entry in manifest.files if not entry.done]
    if not pending:
        return manifest
    log(f"{layout.connector.name} {hour_segment(hour)}: {len(pending)} file(s) to take in")
    for number, entry in enumerate(pending, start=1):
        done = move_file(storage, layout, hour, entry)
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
    return f"accepted, {entry.readings} readings"


def read_manifest(
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
    landing file not claimed by another hour (from `waiting`, when the caller listed them)."""
    if waiting is None:
        try:
            return read_manifest(storage, layout, hour)
        except ObjectMissing:
            pass
        claims = {claim.name for claim in storage.list(layout.bucket, layout.claims_prefix)}
        uploads: Iterable[StoredObject] = landing_files(storage, layout)
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
        if layout.file_name(upload.name) not in RESERVED_NAMES:
            yield upload


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
    storage: StorageResource, layout: ConnectorLayout, hour: datetime, entry: ManifestEntry
) -> ManifestEntry:
    """Check one frozen file, copy it to raw/ or rejected/ (with its reason), verify the copy,
    then delete the landing object and its claim. Each step is safe to repeat."""
    source = entry.landing_object
    checked = check_frozen_file(storage, layout, hour, entry)
    if checked.accepted:
        destination = layout.accepted(hour, entry.name)
    else:
        destination = layout.rejected(hour, entry.name)
        write_if_missing(
            storage,
            layout.bucket,
            layout.rejection_reason(hour, entry.name),
            json.dumps({"file": source.uri, **checked.rejection.to_json()}, indent=2).encode(),
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
    )


def check_frozen_file(
    storage: StorageResource, layout: ConnectorLayout, hour: datetime, entry: ManifestEntry
) -> CheckedFile:
    """The landing check on exactly the frozen version: from the landing zone, or from its
    archive when an earlier attempt got as far as deleting it. Oversized files are refused
    by their listed size, without downloading them; others are downloaded to a temporary
    file and checked a batch at a time, so that memory does not grow with the file."""
    source = entry.landing_object
    too_large = check_size(source.size or 0, layout.connector)
    if too_large is not None:
        return CheckedFile(entry.name, None, None, too_large)
    with tempfile.TemporaryDirectory(prefix="b8760-intake-") as folder:
        path = Path(folder) / "upload"
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
        return check_local_file(entry.name, path, layout.connector)


def archived_copy(
    storage: StorageResource, bucket: str, name: str, source: StoredObject
) -> StoredObject:
    copy = storage.stat(bucket, name)
    if copy is None:
        raise ObjectMissing(f"{source.uri} is gone and gs://{bucket}/{name} holds no copy of it")
    verify_same_content(source, copy)
    return copy


def write_if_missing(storage: StorageResource, bucket: str, name: str, data: bytes) -> None:
    try:
        storage.write(bucket, name, data, content_type="application/json")
    except GenerationConflict:
        pass
