"""The landing-zone connector in Dagster: the raw-landing-files asset with `materialize()`,
the sensor with `build_sensor_context` on a real instance, both on the real fake-gcs-server."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from b8760_assets.landing.assets import (
    REJECTED_FILES_CHECK,
    build_raw_landing_files,
    raw_landing_files_key,
)
from b8760_assets.landing.intake import take_in_hour
from b8760_assets.landing.sensors import (
    CONNECTOR_TAG,
    QUIET_HOUR,
    build_landing_zone_sensor,
)
from b8760_assets.layout import ConnectorLayout, hour_segment
from b8760_assets.meter_links import READINGS_MERGE_POOL, READINGS_MERGES_AT_ONCE
from b8760_assets.partitions import (
    HOUR,
    floor_hour,
    partition_of_hour,
    range_run_tags,
)
from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import BAD_VALUE_CSV, GOOD_CSV, upload

H = datetime(2022, 3, 1, 14, tzinfo=UTC)


def test_materializing_an_hour_records_what_happened(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    upload(storage, layout, "good.csv", GOOD_CSV)
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV)
    asset = build_raw_landing_files(layout, {})

    result = dg.materialize(
        [asset], partition_key=partition_of_hour(H), resources={"storage": storage}
    )

    assert result.success
    [materialization] = result.asset_materializations_for_node(asset.op.name)
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert (metadata["files"], metadata["accepted"], metadata["rejected"]) == (2, 1, 1)
    assert metadata["readings"] == 3
    assert metadata["accepted_bytes"] == len(GOOD_CSV)
    assert "| `bad.csv` | csv.bad_value | 3 |" in metadata["rejected_files"]
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == REJECTED_FILES_CHECK
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["rejected"].value == 1
    assert "| `bad.csv` | csv.bad_value | 3 |" in check.metadata["reasons"].value


def test_a_range_of_hours_is_one_run(storage: StorageResource, layout: ConnectorLayout) -> None:
    upload(storage, layout, "good.csv", GOOD_CSV)
    asset = build_raw_landing_files(layout, {})
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset],
            instance=instance,
            resources={"storage": storage},
            tags=range_run_tags(H, H + 3 * HOUR),
        )
        assert result.success
        assert len(instance.get_run_records()) == 1
    # The first hour took the file; the later ones found nothing new.
    for hour, expected in [(H, ["good.csv"]), (H + HOUR, []), (H + 3 * HOUR, [])]:
        assert [e.name for e in take_in_hour(storage, layout, hour).files] == expected


def test_a_range_run_gives_each_hour_its_own_figures(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    """An hour that took a file in carries its own figures and manifest; an hour that found
    nothing reads as the quiet hour it was, as the sensor records one (not the run's figures
    copied onto every hour of the range)."""
    upload(storage, layout, "first.csv", GOOD_CSV, at=H + timedelta(minutes=10))
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV, at=H + 2 * HOUR + timedelta(minutes=10))
    asset = build_raw_landing_files(layout, {})

    result = dg.materialize(
        [asset], resources={"storage": storage}, tags=range_run_tags(H, H + 3 * HOUR)
    )

    assert result.success
    by_hour = {
        m.partition: {key: value.value for key, value in m.metadata.items()}
        for m in result.asset_materializations_for_node(asset.op.name)
    }
    assert sorted(by_hour) == [partition_of_hour(H + n * HOUR) for n in range(4)]
    took, rejected = by_hour[partition_of_hour(H)], by_hour[partition_of_hour(H + 2 * HOUR)]
    assert (took["files"], took["accepted"], took["readings"]) == (1, 1, 3)
    assert took["manifest"] == storage.page_url(layout.bucket, layout.manifest(H))
    assert (rejected["files"], rejected["rejected"]) == (1, 1)
    assert "| `bad.csv` | csv.bad_value | 3 |" in rejected["rejected_files"]
    for quiet in (H + HOUR, H + 3 * HOUR):
        assert by_hour[partition_of_hour(quiet)] == {
            "files": 0,
            "dagster/row_count": 0,
            "quiet_hour": QUIET_HOUR,
        }
    [check] = result.get_asset_check_evaluations()  # the run's, as before
    assert not check.passed and check.metadata["rejected"].value == 1


def test_a_range_that_ends_in_the_current_hour_fails_naming_its_end(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    upload(storage, layout, "good.csv", GOOD_CSV, at=datetime.now(UTC) - 2 * HOUR)
    asset = build_raw_landing_files(layout, {})
    current = floor_hour(datetime.now(UTC))

    result = dg.materialize(
        [asset],
        resources={"storage": storage},
        tags=range_run_tags(current - 2 * HOUR, current),
        raise_on_error=False,
    )

    assert not result.success
    message = result.failure_data_for_node(asset.op.name).error.message
    assert f"partition {partition_of_hour(current)} is not a complete hour" in message
    assert f"end the range at {partition_of_hour(current - HOUR)}" in message
    # Refused before anything was taken in: no manifest, the upload still waiting.
    assert list(storage.list(layout.bucket, "")) == []
    assert [o.name for o in storage.list(layout.landing_bucket, "")] == ["ext_conn1/good.csv"]


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None,
             storage: StorageResource) -> dg.SensorResult:  # fmt: skip
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"storage": storage}
    )
    return sensor(context)


def test_sensor_requests_one_run_per_connector_hour(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    quiet = replace(layout, connector=replace(layout.connector, name="ext_conn10"))
    keys = {each.connector.name: [raw_landing_files_key(each)] for each in (layout, quiet)}
    sensor = build_landing_zone_sensor([layout, quiet], keys)
    upload(storage, layout, "good.csv", GOOD_CSV)
    upload(storage, layout, "readme.txt", b"not a data file")
    last_complete_hour = floor_hour(datetime.now(UTC)) - HOUR

    with dg.instance_for_test() as instance:
        first = evaluate(sensor, instance, None, storage)
        [request] = first.run_requests
        assert request.run_key == f"ext_conn1:{hour_segment(last_complete_hour)}"
        assert request.partition_key == partition_of_hour(last_complete_hour)
        assert request.asset_selection == keys["ext_conn1"]
        assert request.tags[CONNECTOR_TAG] == "ext_conn1"
        # Both connectors were looked at for that hour; the cursor says so.
        assert json.loads(first.cursor) == {
            "ext_conn1": hour_segment(last_complete_hour),
            "ext_conn10": hour_segment(last_complete_hour),
        }

        # A second tick in the same hour requests nothing, even with more files waiting.
        upload(storage, layout, "more.csv", GOOD_CSV)
        assert evaluate(sensor, instance, first.cursor, storage).run_requests == []
        # With the cursor lost, the run key is the same: Dagster launches it at most once.
        again = evaluate(sensor, instance, None, storage)
        assert [r.run_key for r in again.run_requests] == [request.run_key]


def test_the_sensor_gives_the_merge_pool_its_slots_before_it_asks_for_runs(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    # Left to Dagster, the slots are made at the first claims, which race on PostgreSQL.
    sensor = build_landing_zone_sensor([layout], {"ext_conn1": [raw_landing_files_key(layout)]})
    upload(storage, layout, "good.csv", GOOD_CSV)

    with dg.instance_for_test() as instance:
        pool = instance.event_log_storage.get_concurrency_info(READINGS_MERGE_POOL)
        assert pool.slot_count == 0
        assert evaluate(sensor, instance, None, storage).run_requests
        pool = instance.event_log_storage.get_concurrency_info(READINGS_MERGE_POOL)
        assert pool.slot_count == READINGS_MERGES_AT_ONCE


def test_a_quiet_hour_is_recorded_done_for_the_whole_chain_without_a_run(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    """A connector with nothing waiting: its chain's assets are materialized for the hour by
    the tick's events (as the daemon reports them), once, with no run; a connector with a file
    waiting gets its run, and no quiet record."""
    quiet = replace(layout, connector=replace(layout.connector, name="ext_conn10"))
    chain = ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
    keys = {
        each.connector.name: [dg.AssetKey([each.connector.name, name]) for name in chain]
        for each in (layout, quiet)
    }
    sensor = build_landing_zone_sensor([layout, quiet], keys)
    upload(storage, layout, "good.csv", GOOD_CSV)
    hour = partition_of_hour(floor_hour(datetime.now(UTC)) - HOUR)

    with dg.instance_for_test() as instance:
        first = evaluate(sensor, instance, None, storage)
        for event in first.asset_events:
            instance.report_runless_asset_event(event)
        assert evaluate(sensor, instance, first.cursor, storage).asset_events == []

        assert [r.tags[CONNECTOR_TAG] for r in first.run_requests] == ["ext_conn1"]
        assert instance.get_runs() == []
        for key in keys["ext_conn10"]:
            assert instance.get_materialized_partitions(key) == {hour}
            [record] = instance.fetch_materializations(key, limit=10).records
            materialization = record.asset_materialization
            assert materialization.metadata["files"].value == 0
            assert materialization.metadata["quiet_hour"].value == QUIET_HOUR
        for key in keys["ext_conn1"]:
            assert instance.get_materialized_partitions(key) == set()


def test_a_tick_lists_the_landing_zone_once_whatever_the_connectors(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two bucket checks and a listing per connector made a tick of 1,500 connectors 4,500
    requests; it is one listing of the landing zone, and the claims of who has files."""
    layouts = [
        replace(layout, connector=replace(layout.connector, name=f"ext_conn{number}"))
        for number in range(1, 31)
    ]
    busy = layouts[9]  # ext_conn10, whose folder ext_conn1/ is a prefix of
    upload(storage, busy, "good.csv", GOOD_CSV)
    upload(storage, layouts[0], "readme.txt", b"not a data file")
    sensor = build_landing_zone_sensor(
        layouts, {each.connector.name: [raw_landing_files_key(each)] for each in layouts}
    )
    calls: list[tuple[str, ...]] = []
    for name in ("ensure_bucket", "list"):
        real = getattr(StorageResource, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            calls.append((_name, *args))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(StorageResource, name, counted)

    with dg.instance_for_test() as instance:
        [request] = evaluate(sensor, instance, None, storage).run_requests

    assert request.tags[CONNECTOR_TAG] == "ext_conn10"
    assert calls == [
        ("ensure_bucket", layout.landing_bucket),
        ("list", layout.landing_bucket, ""),
        ("ensure_bucket", layout.bucket),
        ("list", layout.bucket, "ext_conn10/claims/"),
    ]


def test_sensor_skips_files_an_hour_has_claimed(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file frozen by a failed run is that hour's to finish (a retry), not a new hour's."""
    sensor = build_landing_zone_sensor([layout], {"ext_conn1": [raw_landing_files_key(layout)]})
    upload(storage, layout, "stuck.csv", GOOD_CSV)
    monkeypatch.setattr(StorageResource, "delete", lambda self, obj: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        take_in_hour(storage, layout, H)
    with dg.instance_for_test() as instance:
        assert evaluate(sensor, instance, None, storage).run_requests == []


def test_sensor_leaves_an_upload_of_the_current_hour_for_the_next_tick(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    """The last complete hour may take in only what was uploaded before it ended."""
    sensor = build_landing_zone_sensor([layout], {"ext_conn1": [raw_landing_files_key(layout)]})
    this_hour = floor_hour(datetime.now(UTC))
    upload(storage, layout, "now.csv", GOOD_CSV, at=this_hour + timedelta(seconds=1))
    with dg.instance_for_test() as instance:
        assert evaluate(sensor, instance, None, storage).run_requests == []
        upload(storage, layout, "earlier.csv", GOOD_CSV, at=this_hour - timedelta(seconds=1))
        [request] = evaluate(sensor, instance, None, storage).run_requests
    assert request.partition_key == partition_of_hour(this_hour - HOUR)
