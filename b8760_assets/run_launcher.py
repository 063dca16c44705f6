"""The Dagster instance's run launcher: Dagster's default, which also tells run monitoring
whether a run's worker process is still alive.

The default launcher starts each run in a process of a code server, and only that code
server notices when the process dies. When both die together (the OOM killer taking the
process group, a container restart, SIGKILL of the tree) nobody else looks: the run stays
STARTED for ever, holding its connector's run slot (`dagster.yaml`) and the landing files it
claimed. Run monitoring asks the launcher about every STARTED run; this one answers from the
pid the run worker recorded when it started, on this machine, where the platform's code
servers (workspace.yaml) start their runs.
"""

import os
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

# A pid's start time from /proc is exact to a clock tick, the boot time only to the second.
START_TIME_SLACK_S = 1.0


class LocalRunLauncher(dg.DefaultRunLauncher):
    """DefaultRunLauncher with run-worker health checks, so that a dead run is marked failed
    (and retried by run_retries) instead of staying STARTED."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        worker = run_worker(self._instance, run.run_id)
        if worker is None:
            # Not started by a run worker that says so: nothing to check, and failing a run
            # that may be alive would be worse than waiting for its max_runtime.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker pid recorded")
        pid, started_at = worker
        if is_alive_since(pid, started_at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is alive")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"run worker pid {pid} is gone without finishing run {run.run_id} (killed: SIGKILL, "
            "the OOM killer, a restart); run_retries reruns it, and the rerun finishes what it "
            "left, such as the landing files it claimed",
        )


def run_worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the run's worker and when it said so: the first engine event that carries a
    pid ("Started process for run (pid: N)", or "Executing steps in process" for a run
    executed in the process that created it)."""
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = event.dagster_event and event.dagster_event.engine_event_data
        pid = data and data.metadata.get("pid")
        if pid is not None:
            return int(str(pid.value)), event.timestamp
    return None


def is_alive_since(pid: int, timestamp: float) -> bool:
    """Whether `pid` is a live process that started by `timestamp`; one that started later
    reused the pid of a process that is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state, *fields = stat.rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    if state in ("Z", "X"):  # exited, not yet reaped
        return False
    started_at = boot_time() + int(fields[18]) / os.sysconf("SC_CLK_TCK")
    return started_at <= timestamp + START_TIME_SLACK_S


def boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime line")
