"""The hourly landing-zone sensor: a run per connector with new files, for the last complete hour.

A file uploaded during the current hour waits for the next tick after the hour ends: an hour
takes in only what was uploaded before it ended.

The landing zone holds only files not yet moved, and claims exist only while a move is in
flight, so a tick lists what is waiting, never the history. The cursor remembers the last
hour checked per connector, so each connector is listed at most once an hour; run keys
(`<connector>:<hour>`) make a connector-hour run at most once even if the cursor is lost.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

from b8760_assets.landing.intake import landing_files, uploaded_at
from b8760_assets.layout import ConnectorLayout, hour_segment
from b8760_assets.partitions import HOUR, floor_hour, partition_of_hour
from b8760_assets.storage import StorageResource

CONNECTOR_TAG = "b8760/connector"


def waiting_uploads(
    storage: StorageResource, layout: ConnectorLayout, before: datetime
) -> list[str]:
    """Names of the connector's uploads made before `before` (the end of the hour a run
    would take them in) that no arrival hour has claimed yet: a later upload waits for the
    hour it was uploaded in to end.

    The claims are listed only when something is waiting: a tick with nothing new lists the
    landing prefix alone, never the participant's bucket, whose listing costs the size of
    the bucket on the local storage emulator (real GCS lists by prefix).
    """
    names = [
        layout.file_name(upload.name)
        for upload in landing_files(storage, layout)
        if uploaded_at(upload) < before
    ]
    if not names:
        return []
    claimed = {
        layout.claimed_file(claim.name)
        for claim in storage.list(layout.bucket, layout.claims_prefix)
    }
    return [name for name in names if name not in claimed]


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
        requests = []
        for layout in layouts:
            name = layout.connector.name
            if checked.get(name, "") >= hour or last_complete_hour < layout.connector.start_hour:
                continue
            storage.ensure_bucket(layout.landing_bucket)
            storage.ensure_bucket(layout.bucket)
            waiting = waiting_uploads(storage, layout, before=last_complete_hour + HOUR)
            checked[name] = hour
            if not waiting:
                continue
            context.log.info(f"{name}: {len(waiting)} file(s) waiting; requesting hour {hour}")
            requests.append(
                dg.RunRequest(
                    run_key=f"{name}:{hour}",
                    partition_key=partition_of_hour(last_complete_hour),
                    asset_selection=list(assets_of[name]),
                    tags={CONNECTOR_TAG: name},
                )
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(checked, sort_keys=True))

    return landing_zone_sensor
