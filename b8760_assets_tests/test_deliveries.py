"""Late connectors: quiet hours against each connector's cadence, checked by the hourly schedule
on a real instance and in the runs that take files in."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets.config import load_platform
from b8760_assets.landing.deliveries import (
    DELIVERIES_JOB,
    DELIVERIES_SCHEDULE,
    DELIVERY_CHECK,
    quiet_hours,
)
from b8760_assets.layout import hour_segment
from b8760_assets.partitions import HOUR, floor_hour, partition_of_hour
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets_tests.config_files import copy_sample_platform, replace_in
from b8760_assets_tests.landing_files import GOOD_CSV, upload
from b8760_assets_tests.own_platform import OwnPlatform, own_platform

EXT_CONN1 = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
HOURLY = replace(EXT_CONN1, delivery_cadence="hourly", delivery_grace_hours=1)
DAILY = replace(EXT_CONN1, delivery_cadence="daily", delivery_grace_hours=1)
DELIVERED = datetime(2022, 3, 1, 14, tzinfo=UTC)
BAD_UNIT_CSV = (
    SAMPLE_PLATFORM_DIR / "uploads/ext_conn1/chicago_2022-03-02_bad_unit.csv"
).read_bytes()


def test_an_hourly_connector_quiet_past_its_grace_is_late_and_names_the_hours() -> None:
    quiet = quiet_hours(HOURLY, DELIVERED, DELIVERED - 48 * HOUR, DELIVERED + 3 * HOUR)

    assert quiet.late
    assert quiet.hours == [DELIVERED + HOUR, DELIVERED + 2 * HOUR, DELIVERED + 3 * HOUR]
    assert quiet.describe() == (
        "ext_conn1: no file in 3 arrival hour(s), 2022-03-01T15:00:00 to 2022-03-01T17:00:00, "
        "since its last file, in the hour 2022-03-01T14:00:00; its cadence (hourly, 1 grace "
        "hour(s)) allows 1 in a row"
    )


def test_an_hourly_connector_within_its_grace_is_on_time() -> None:
    assert not quiet_hours(HOURLY, DELIVERED, DELIVERED, DELIVERED + HOUR).late
    assert not quiet_hours(HOURLY, DELIVERED, DELIVERED, DELIVERED).late


@pytest.mark.parametrize(("quiet", "late"), [(3, False), (24, False), (25, True)])
def test_a_daily_connector_is_quiet_for_a_day_and_its_grace(quiet: int, late: bool) -> None:
    assert quiet_hours(DAILY, DELIVERED, DELIVERED, DELIVERED + quiet * HOUR).late is late


def test_a_connector_that_never_delivered_is_quiet_from_its_first_hour() -> None:
    first = HOURLY.start_hour

    quiet = quiet_hours(HOURLY, None, first, first + 2 * HOUR)

    assert (quiet.late, len(quiet.hours), quiet.hours[0]) == (True, 3, first)
    assert "in every hour looked at" in quiet.describe()


def cadences(tmp_path: Path, **of_connector: str) -> Path:
    """A copy of the sample platform in which the named connectors expect these cadences."""
    root = copy_sample_platform(tmp_path)
    for name, cadence in of_connector.items():
        replace_in(
            root / "connectors" / name / "properties.xml",
            "</properties>",
            f'  <entry key="delivery.cadence">{cadence}</entry>\n</properties>',
        )
    return root


def checked_deliveries(
    platform: OwnPlatform, instance: dg.DagsterInstance, at: datetime
) -> dict[str, dg.AssetCheckEvaluation]:
    """The schedule's tick at `at` and the run it asks for: each connector's evaluation."""
    schedule = platform.defs.resolve_schedule_def(DELIVERIES_SCHEDULE)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    [request] = schedule.evaluate_tick(context).run_requests or []
    run = platform.defs.resolve_job_def(DELIVERIES_JOB).execute_in_process(
        run_config=request.run_config, instance=instance
    )
    assert run.success
    return {e.asset_key.path[0]: e for e in run.get_asset_check_evaluations()}


def test_the_schedule_finds_the_hourly_connector_late_and_the_daily_one_on_time(
    storage: StorageResource, tmp_path: Path
) -> None:
    platform = own_platform(storage, root=cadences(tmp_path, ext_conn1="hourly", coned="daily"))
    platform.register_meters()
    for name in ("ext_conn1", "coned"):
        upload(storage, platform.layouts[name], f"{name}.csv", GOOD_CSV, at=DELIVERED + HOUR / 4)
        assert platform.run(name, DELIVERED).success

    with dg.instance_for_test() as instance:
        found = checked_deliveries(platform, instance, DELIVERED + 4 * HOUR + HOUR / 3)
        a_day_later = checked_deliveries(platform, instance, DELIVERED + 30 * HOUR + HOUR / 3)

    assert set(found) == {"ext_conn1", "coned"}  # ext_conn10 expects no cadence
    late, on_time = found["ext_conn1"], found["coned"]
    assert (late.passed, late.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert late.metadata["missing_hours"].value == [
        hour_segment(DELIVERED + n * HOUR) for n in (1, 2, 3)
    ]
    assert late.metadata["last_delivery_hour"].value == hour_segment(DELIVERED)
    assert "no file in 3 arrival hour(s), 2022-03-01T15:00:00 to 2022-03-01T17:00:00" in (
        late.description or ""
    )
    assert on_time.passed
    assert on_time.metadata["hours_missing"].value == 3
    # The last file is found a day's listing further back, and 29 quiet hours are too many.
    assert not a_day_later["coned"].passed
    assert a_day_later["coned"].metadata["last_delivery_hour"].value == hour_segment(DELIVERED)
    assert a_day_later["coned"].metadata["hours_missing"].value == 29


def test_a_rejected_file_is_a_delivery_and_the_hours_run_checks_it(
    storage: StorageResource, tmp_path: Path
) -> None:
    """The run the landing-zone sensor asks for (the definitions' asset job, as the daemon
    launches it) checks the connector's deliveries after its intake: a late connector's
    warning clears with its next file, even a rejected one."""
    platform = own_platform(storage, root=cadences(tmp_path, ext_conn1="hourly"))
    layout = platform.layouts["ext_conn1"]
    last_complete = floor_hour(datetime.now(UTC)) - HOUR
    upload(storage, layout, "bad_unit.csv", BAD_UNIT_CSV, at=last_complete + timedelta(minutes=5))
    platform.register_meters()
    chain = platform.defs.resolve_asset_graph().get_all_asset_keys()
    job = platform.defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={key for key in chain if key.path[0] == "ext_conn1"}
    )

    with dg.instance_for_test() as instance:
        run = job.execute_in_process(
            partition_key=partition_of_hour(last_complete), instance=instance
        )

    assert run.success
    [intake] = run.asset_materializations_for_node("ext_conn1__raw_landing_files")
    assert intake.metadata["rejected"].value == 1
    [evaluation] = [e for e in run.get_asset_check_evaluations() if e.check_name == DELIVERY_CHECK]
    assert evaluation.passed
    assert evaluation.metadata["last_delivery_hour"].value == hour_segment(last_complete)
