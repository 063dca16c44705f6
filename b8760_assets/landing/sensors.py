"""The hourly landing-zone sensor: a run per connector with new files, for the last complete hour.

A file uploaded during the current hour waits for the next tick after the hour ends: an hour
takes in only what was uploaded before it ended.

The landing zone holds only files not yet moved, and claims exist only while a move is in
flight, so a tick lists what is waiting, never the history: one listing of the landing zone
for every connector, and a connector's claims only when something of it waits. The cursor
remembers the last hour checked per connector, so each connector is looked at at most once
an hour; run keys (`<connector>:<hour>`) make a connector-hour run at most once even if the
cursor is lost.

A connector with nothing waiting had a quiet hour: the tick records each asset of its chain as
materialized for that hour, without a run (files: 0), so that the partitions view says
"Missing" only for hours the platform never looked at (the daemon down, or before it watched
the connector) and a failed run stands out among green hours. Its cost: one event per asset
per quiet hour, at most 72 per connector-day (docs/scaling.md).
"""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

from b8760_assets.landing.intake import is_upload, uploaded_at
from b8760_assets.layout import ConnectorLayout, hour_segment
from b8760_assets.meter_links import hold_readings_merge_pool
from b8760_assets.partitions import HOUR, floor_hour, partition_of_hour
from b8760_assets.storage import StorageResource

CONNECTOR_TAG = "b8760/connector"
QUIET_HOUR = "No file was waiting when this hour ended: a quiet hour, nothing to take in."


def quiet_hour(key: dg.AssetKey, hour: datetime) -> dg.AssetMaterialization:
    """An hour in which the connector uploaded nothing, recorded as what it is: done, empty.
    Metadata only, no tags or description: a tag costs the instance another row per event
    (about 1.4 KB, benchmark 10)."""
    return dg.AssetMaterialization(
        asset_key=key,
        partition=partition_of_hour(hour),
        metadata=quiet_hour_metadata(),
    )


def quiet_hour_metadata() -> dict[str, int | str]:
    """What a quiet hour's materialization says, the sensor's record of it or a range run's."""
    return {"files": 0, "dagster/row_count": 0, "quiet_hour": QUIET_HOUR}


def waiting_uploads(
    storage: StorageResource, layouts: Sequence[ConnectorLayout], before: datetime
) -> dict[str, list[str]]:
    """Per connector with any, the names of its uploads made before `before` (the end of the
    hour a run would take them in) that no arrival hour has claimed yet: a later upload
    waits for the hour it was uploaded in to end.

    The landing zone holds only what is waiting (and each connector's readme.txt), so it is
    listed once for all the connectors, whatever their number; the claims of a connector
    are listed only when something of it is waiting.
    """
    by_bucket: dict[str, dict[str, ConnectorLayout]] = {}
    for layout in layouts:
        by_bucket.setdefault(layout.landing_bucket, {})[layout.landing_prefix] = layout
    uploads: dict[str, list[str]] = {}
    for bucket, of_prefix in by_bucket.items():
        storage.ensure_bucket(bucket)
        for upload in storage.list(bucket, ""):
            owner = of_prefix.get(upload.name.split("/", 1)[0] + "/")
            if owner and is_upload(owner, upload) and uploaded_at(upload) < before:
                uploads.setdefault(owner.connector.name, []).append(owner.file_name(upload.name))
    waiting = {}
    for layout in layouts:
        if names := uploads.get(layout.connector.name):
            storage.ensure_bucket(layout.bucket)
            claimed = {
                layout.claimed_file(claim.name)
                for claim in storage.list(layout.bucket, layout.claims_prefix)
            }
            if unclaimed := [name for name in names if name not in claimed]:
                waiting[layout.connector.name] = unclaimed
    return waiting


def build_landing_zone_sensor(
    layouts: Sequence[ConnectorLayout],
    assets_of: Mapping[str, Sequence[dg.AssetKey]],
    *,
    minimum_interval_seconds: int = 300,
) -> dg.SensorDefinition:
    """One sensor for all connectors; `assets_of[connector]` are the assets a run materializes."""

    @dg.sensor(
        name="landing_zone_sensor",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=[key for keys in assets_of.values() for key in keys],
        description="Each hour, a run per connector with files waiting in the landing zone.",
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, storage: StorageResource
    ) -> dg.SensorResult:
        last_complete_hour = floor_hour(datetime.now(UTC)) - HOUR
        hour = hour_segment(last_complete_hour)
        checked = json.loads(context.cursor or "{}")
        due = [
            layout
            for layout in layouts
            if checked.get(layout.connector.name, "") < hour
            and last_complete_hour >= layout.connector.start_hour
        ]
        waiting = waiting_uploads(storage, due, before=last_complete_hour + HOUR) if due else {}
        requests: list[dg.RunRequest] = []
        quiet: list[dg.AssetMaterialization] = []
        for layout in due:
            name = layout.connector.name
            checked[name] = hour
            if name not in waiting:
                quiet.extend(quiet_hour(key, last_complete_hour) for key in assets_of[name])
                continue
            context.log.info(
                f"{name}: {len(waiting[name])} file(s) waiting; requesting hour {hour}"
            )
            requests.append(
                dg.RunRequest(
                    run_key=f"{name}:{hour}",
                    partition_key=partition_of_hour(last_complete_hour),
                    asset_selection=list(assets_of[name]),
                    tags={CONNECTOR_TAG: name},
                )
            )
        if requests:
            hold_readings_merge_pool(context.instance)
        return dg.SensorResult(
            run_requests=requests, asset_events=quiet, cursor=json.dumps(checked, sort_keys=True)
        )

    return landing_zone_sensor
