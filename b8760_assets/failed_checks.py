"""The arrival hours whose data-quality checks failed, from the Dagster instance's asset check
evaluations: what the completeness pictures mark.

In Dagster 1.13 a check's evaluation in a partitioned run carries no partition: the hours a
run checked are its planned evaluations'. So an hour's latest outcome is the evaluation of the
latest run planned to check it (a run that died before evaluating leaves the hour unknown).
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from b8760_assets.partitions import hour_of_partition, partition_of_hour

DECIDED = {
    AssetCheckExecutionRecordStatus.SUCCEEDED: True,
    AssetCheckExecutionRecordStatus.FAILED: False,
}


def run_outcomes(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetCheckKey, bool]:
    """Whether each check the run evaluated passed."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    outcomes = {}
    for record in records:
        evaluation = record.event_log_entry.get_dagster_event().asset_check_evaluation_data
        outcomes[evaluation.asset_check_key] = evaluation.passed
    return outcomes


def failed_check_hours(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], hours: Iterable[datetime]
) -> dict[str, Sequence[datetime]]:
    """Per check (by name) that failed, the hours among `hours` where its latest outcome is a
    failure; checks that passed or never ran are left out."""
    partition_keys = [partition_of_hour(hour) for hour in hours]
    if not partition_keys:  # every hour asked for is a running run's (run_failed_checks)
        return {}
    infos = instance.event_log_storage.get_asset_check_partition_info(
        check_keys, partition_keys=partition_keys
    )
    by_run: dict[str, dict[dg.AssetCheckKey, bool]] = {}
    failed: dict[str, list[datetime]] = {}
    for info in infos:
        passed = DECIDED.get(info.latest_execution_status)
        if passed is None:
            run_id = info.latest_planned_run_id
            if run_id not in by_run:
                by_run[run_id] = run_outcomes(instance, run_id)
            passed = by_run[run_id].get(info.check_key)
        if passed is False and info.partition_key is not None:
            failed.setdefault(info.check_key.name, []).append(hour_of_partition(info.partition_key))
    return {name: sorted(failed_hours) for name, failed_hours in sorted(failed.items())}


def run_failed_checks(
    instance: dg.DagsterInstance,
    run_id: str,
    check_keys: Sequence[dg.AssetCheckKey],
    hours: Collection[datetime],
) -> dict[str, Sequence[datetime]]:
    """Per check among `check_keys` that the run has evaluated and failed so far, the run's
    `hours`: while a run goes on it is the latest planned to check its hours (its planned
    evaluations were recorded when it was created), so their outcomes are its own, read from
    its events in one query rather than the instance's hour by hour (a year's backfill asked
    for 8,760 hours of 11 checks, BENCHMARKS.md, benchmark 3)."""
    wanted = set(check_keys)
    return {
        key.name: sorted(hours)
        for key, passed in sorted(run_outcomes(instance, run_id).items(), key=lambda o: o[0].name)
        if key in wanted and not passed and hours
    }
