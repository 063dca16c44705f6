"""Raw landing files: the first asset of each connector's chain.

A thin shell around `intake.take_in_hours`: Dagster picks the arrival hours (one partition
or a backfilled range, in one run), the intake moves the files, and the hour's outcome
comes back as metadata and as the rejected-files check, so the UI shows what happened: each
hour that took files in its own figures and manifest, each hour of a range that found none
the quiet hour it was, as the landing-zone sensor records one.
"""

import functools
from collections.abc import Mapping, Sequence

import dagster as dg

from b8760_assets.config import Meter
from b8760_assets.landing.file_checks import FORMATS, KnownMeters
from b8760_assets.landing.formats import Finding
from b8760_assets.landing.intake import take_in_hours
from b8760_assets.landing.manifest import ACCEPTED, REJECTED, Manifest, ManifestEntry
from b8760_assets.landing.sensors import quiet_hour_metadata
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import chain_asset, hours_of_run, record_hours
from b8760_assets.storage import StorageResource

RAW_LANDING_FILES = "raw_landing_files"
REJECTED_FILES_CHECK = "no_rejected_files"


def raw_landing_files_key(layout: ConnectorLayout) -> dg.AssetKey:
    return dg.AssetKey([layout.connector.name, RAW_LANDING_FILES])


def build_raw_landing_files(
    layout: ConnectorLayout, meters: Mapping[str, Meter]
) -> dg.AssetsDefinition:
    """The intake of a connector's files; `meters` (by id) say which values would overflow
    once stated in their meters' units, so that such a file is refused at the landing check,
    and which meter reads each channel of a Green Button file."""
    connector = layout.connector

    @functools.cache
    def known() -> KnownMeters:
        """Worked out at the connector's first run, not when the code location loads: its
        unit conversions cost about 5 ms a connector, 7 s of loading 1,500 (BENCHMARKS.md)."""
        return KnownMeters.of(connector, meters)

    @chain_asset(
        connector,
        RAW_LANDING_FILES,
        checks=[(REJECTED_FILES_CHECK, "Every file of the hour passed the landing check.")],
        kinds={"gcs", *(FORMATS[name].kind for name in connector.formats)},
        description=(
            f"Files {connector.name} uploaded to "
            f"`gs://{layout.landing_bucket}/{layout.landing_prefix}`, taken in by arrival hour: "
            "checked, then archived under "
            f"`gs://{connector.bucket}/{layout.raw_prefix}` or quarantined under `rejected/`. "
            "An hour in which nothing was uploaded is recorded by the landing-zone sensor, "
            "without a run, as a quiet hour (files: 0)."
        ),
    )
    def raw_landing_files(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        storage.ensure_bucket(layout.landing_bucket)
        storage.ensure_bucket(layout.bucket)
        manifests = take_in_hours(
            storage,
            layout,
            hours_of_run(context),
            meters=known(),
            log=context.log.info,
        )
        record_hours(
            context,
            {
                manifest.arrival_hour: {
                    **intake_metadata([manifest]),
                    **manifest_link(storage, layout, [manifest]),
                }
                for manifest in manifests
                if manifest.files
            },
            idle=quiet_hour_metadata(),
            found={**intake_metadata(manifests), **manifest_link(storage, layout, manifests)},
        )
        return dg.MaterializeResult(check_results=[rejected_files_check(manifests)])

    return raw_landing_files


def intake_metadata(manifests: list[Manifest]) -> dict[str, int | dg.MetadataValue]:
    entries = [entry for manifest in manifests for entry in manifest.files]

    def total_bytes(outcome: str) -> int:
        return sum(e.landing_object.size or 0 for e in entries if e.outcome == outcome)

    return {
        "files": len(entries),
        "accepted": sum(e.outcome == ACCEPTED for e in entries),
        "rejected": sum(e.outcome == REJECTED for e in entries),
        "accepted_bytes": total_bytes(ACCEPTED),
        "rejected_bytes": total_bytes(REJECTED),
        "readings": sum(e.readings or 0 for e in entries),
        "dagster/row_count": sum(e.readings or 0 for e in entries),
        "hours": len(manifests),
        "rejected_files": dg.MetadataValue.md(rejections_table(manifests)),
        "notices": dg.MetadataValue.md(notices_table(manifests)),
    }


def manifest_link(
    storage: StorageResource, layout: ConnectorLayout, manifests: list[Manifest]
) -> dict[str, dg.MetadataValue]:
    """The hour's manifest (every file's outcome), a click away: an hour's figures link to it;
    a range's figures together (when none of its hours took a file in) name their folder."""
    if len(manifests) == 1:
        name = layout.manifest(manifests[0].arrival_hour)
        return {"manifest": dg.MetadataValue.url(storage.page_url(layout.bucket, name))}
    return {"manifests": dg.MetadataValue.text(f"gs://{layout.bucket}/{layout.raw_prefix}")}


def rejections_table(manifests: list[Manifest]) -> str:
    """Each rejected file of the hours, with its rule, line and message."""
    found = [(m, e, e.rejection) for m in manifests for e in m.files if e.rejection is not None]
    return _findings_table(found, "No file was rejected.")


def notices_table(manifests: list[Manifest]) -> str:
    """The readings accepted files held that the platform did not take in, and why."""
    found = [(m, e, notice) for m in manifests for e in m.files for notice in e.notices]
    return _findings_table(found, "Every reading of the accepted files was taken in.")


def _findings_table(found: Sequence[tuple[Manifest, ManifestEntry, Finding]], none: str) -> str:
    rows = [
        f"| {manifest.arrival_hour:%Y-%m-%dT%H:00} | `{entry.name}` | {finding.rule} "
        f"| {finding.line or ''} | {finding.message.replace('|', '/')} |"
        for manifest, entry, finding in found
    ]
    if not rows:
        return none
    return "\n".join(["| hour | file | rule | line | message |", "|---|---|---|---|---|", *rows])


def rejected_files_check(manifests: list[Manifest]) -> dg.AssetCheckResult:
    """A warning, not an error: rejected files are kept in quarantine and the rest flows on.
    The reasons are a table (file, rule, line, message), shown as it is in the check's view."""
    rejected = sum(e.rejection is not None for manifest in manifests for e in manifest.files)
    return dg.AssetCheckResult(
        check_name=REJECTED_FILES_CHECK,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected": rejected,
            "reasons": dg.MetadataValue.md(rejections_table(manifests)),
        },
    )
