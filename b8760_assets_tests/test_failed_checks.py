"""failed_checks.py on a real instance: an hour's latest outcome is the evaluation of the
latest run planned to check it, for a run of one hour or of a range."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from b8760_assets.failed_checks import failed_check_hours, run_failed_checks
from b8760_assets.partitions import HOUR, PARTITION_KEY_FORMAT, partition_of_hour, range_run_tags

H = datetime(2022, 3, 1, tzinfo=UTC)
KEY = dg.AssetCheckKey(dg.AssetKey(["c", "a"]), "rule")


@dg.asset(
    key=KEY.asset_key,
    partitions_def=dg.HourlyPartitionsDefinition(
        start_date=H.strftime(PARTITION_KEY_FORMAT), fmt=PARTITION_KEY_FORMAT, timezone="UTC"
    ),
    check_specs=[dg.AssetCheckSpec(KEY.name, asset=KEY.asset_key)],
)
def checked(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    passed = context.run.tags.get("passes") == "yes"
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=passed)])


def run(instance: dg.DagsterInstance, hours: list[datetime], passes: bool) -> str:
    tags = {"passes": "yes" if passes else "no"}
    if len(hours) == 1:
        partition = {"partition_key": partition_of_hour(hours[0])}
    else:
        partition, tags = {}, {**tags, **range_run_tags(hours[0], hours[-1])}
    result = dg.materialize([checked], instance=instance, tags=tags, **partition)
    assert result.success
    return result.run_id


def test_the_latest_run_planned_for_an_hour_decides() -> None:
    hours = [H + n * HOUR for n in range(6)]
    with dg.instance_for_test() as instance:
        run(instance, hours[0:1], passes=False)
        run(instance, hours[2:5], passes=False)  # one run over three hours
        run(instance, hours[3:4], passes=True)  # a later run passes one of them
        run(instance, hours[5:6], passes=True)
        assert failed_check_hours(instance, [KEY], hours) == {
            "rule": [hours[0], hours[2], hours[4]]
        }
        assert failed_check_hours(instance, [KEY], hours[1:2]) == {}
        later = [H + timedelta(days=1)]  # never checked
        assert failed_check_hours(instance, [KEY], later) == {}
        assert failed_check_hours(instance, [KEY], []) == {}


def test_a_runs_own_hours_have_its_own_outcomes() -> None:
    """What the completeness picture of a run's standardize step reads for the run's hours:
    the run's evaluations, whichever hours they were planned for."""
    hours = [H + n * HOUR for n in range(3)]
    with dg.instance_for_test() as instance:
        failing = run(instance, hours, passes=False)
        passing = run(instance, hours, passes=True)
        assert run_failed_checks(instance, failing, [KEY], set(hours)) == {"rule": hours}
        assert run_failed_checks(instance, passing, [KEY], set(hours)) == {}
        other = dg.AssetCheckKey(KEY.asset_key, "another")
        assert run_failed_checks(instance, failing, [other], set(hours)) == {}
