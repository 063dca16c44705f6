"""Staging tables: one per run of a connector's warehouse step, dropped when the step ends.

A run that dies in the step (SIGKILL, the OOM killer, the warehouse killed under it) never
drops its table, and they pile up. So each warehouse step first drops the staging tables of
runs that are not in progress in the Dagster instance, whichever connector's they are; a
table of a run still going (queued, starting, started, canceling) is never touched. The
warehouse's staging tables are taken to be this instance's runs'.
"""

import re
from collections.abc import Callable, Collection, Iterable

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from b8760_assets.warehouse import WarehouseResource

STAGING_PREFIX = "staging_"
# Of the run id, without its dashes: enough to tell runs apart, short enough for a name.
RUN_ID_CHARS = 16
STAGING_TABLE = re.compile(rf"{STAGING_PREFIX}\w+_(?P<run>[0-9a-f]{{{RUN_ID_CHARS}}})")
NOT_FINISHED = [status for status in dg.DagsterRunStatus if status not in FINISHED_STATUSES]


def run_part(run_id: str) -> str:
    return run_id.replace("-", "")[:RUN_ID_CHARS]


def staging_table(connector: str, run_id: str) -> str:
    """The staging table of a connector's run: `staging_<connector>_<16 of the run id>`."""
    return f"{STAGING_PREFIX}{connector}_{run_part(run_id)}"


def left_behind(tables: Iterable[str], runs_in_progress: Iterable[str]) -> list[str]:
    """The staging tables among `tables` whose run is not among `runs_in_progress` (ids)."""
    going = {run_part(run_id) for run_id in runs_in_progress}
    return [
        table
        for table in tables
        if (staging := STAGING_TABLE.fullmatch(table)) and staging["run"] not in going
    ]


def drop_left_staging_tables(
    warehouse: WarehouseResource,
    instance: dg.DagsterInstance,
    *,
    log: Callable[[str], None],
    listed: Collection[str] | None = None,
) -> None:
    """Drop the staging tables that runs no longer in progress left; `listed` is the
    dataset's tables if the caller has just listed them.

    The tables are listed before the runs: a table seen then whose run is going is in
    progress when the runs are read, so it is kept."""
    tables = warehouse.list_tables() if listed is None else listed
    going = [run.run_id for run in instance.get_runs(dg.RunsFilter(statuses=NOT_FINISHED))]
    left = left_behind(tables, going)
    for table in left:
        warehouse.drop_table(table)
        log(f"dropped {warehouse.table_id(table)}, left by a run that is no longer in progress")
