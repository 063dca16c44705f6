"""Calls to a storage or warehouse emulator that was killed or hangs end, in the time the
resource allows, in an error that names the call, on a local stack of this module's own
(its emulators are killed and stopped here)."""

import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from b8760_assets import local_stack
from b8760_assets.meter_registry import METERS_SCHEMA, METERS_TABLE
from b8760_assets.readings_schema import BIGQUERY_SCHEMA
from b8760_assets.readings_table import READINGS_TABLE, merge_readings_sql
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.storage import StorageUnavailable
from b8760_assets.warehouse import WarehouseUnavailable
from b8760_assets_tests.stack import isolated_stack, service_pid
from b8760_assets_tests.warehouse_rows import readings_rows

TIMEOUT_S = 2.0
# The longest a call may take past its timeout: a retry's last sleep, then giving up.
GRACE_S = 10.0
# Enough rows that the MERGE is still running when the emulator is killed under it.
STAGED_ROWS = 300_000
# The MERGE's span parameters, taking every staged reading.
EVERY_START = {
    "span_start": datetime(1, 1, 1, tzinfo=UTC),
    "span_end": datetime(9999, 12, 31, tzinfo=UTC),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with isolated_stack(tmp_path_factory.mktemp("unanswered")):
        local_stack.start_all()
        yield


def stop(pid: int) -> None:
    """SIGSTOP, returned once every thread of the process has stopped: until then a thread
    still running on another core may answer."""
    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")
    while any(
        (task / "stat").read_text().rsplit(")", 1)[1].split()[0] != "T" for task in tasks.iterdir()
    ):
        time.sleep(0.01)


def finishes_within(seconds: float, call: Callable[[], object]) -> BaseException:
    """The error `call` ended in, failing the test if it is still waiting after `seconds`."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).exception(timeout=seconds)
    except TimeoutError:
        raise AssertionError(f"still waiting after {seconds:.0f} s") from None
    finally:
        pool.shutdown(wait=False)


def test_a_merge_whose_warehouse_is_killed_ends_in_a_clear_error(stack: None) -> None:
    warehouse = warehouse_resource(
        dataset="killed", request_timeout_s=TIMEOUT_S, job_timeout_s=3 * TIMEOUT_S
    )
    warehouse.ensure_table(READINGS_TABLE, BIGQUERY_SCHEMA)
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    warehouse.ensure_table("staging", BIGQUERY_SCHEMA)
    warehouse.load_rows("staging", readings_rows(STAGED_ROWS))
    emulator = service_pid("bigquery")

    def merge_then_kill() -> None:
        with ThreadPoolExecutor(max_workers=1) as merging:
            merged = merging.submit(warehouse.query, merge_readings_sql("staging"), EVERY_START)
            time.sleep(0.5)
            assert not merged.done(), "the MERGE finished before the emulator was killed"
            os.kill(emulator, signal.SIGKILL)
            merged.result()

    started = time.monotonic()
    error = finishes_within(3 * TIMEOUT_S + GRACE_S, merge_then_kill)
    print(f"the MERGE ended {time.monotonic() - started:.1f} s after it began")

    assert isinstance(error, WarehouseUnavailable), error
    message = str(error)
    assert "warehouse: the query `MERGE readings" in message
    assert f"{TIMEOUT_S:.0f} s per call and {3 * TIMEOUT_S:.0f} s per job" in message
    assert "`b8760 local status`" in message
    os.waitpid(emulator, 0)  # this process started it: no zombie left
    # A run's retry loads the code location again, whose resources start the emulator again.
    retried = warehouse_resource(dataset="killed")
    assert retried.query("SELECT COUNT(*) AS n FROM staging") == [{"n": STAGED_ROWS}]


def test_a_read_from_a_hung_storage_ends_in_a_clear_error(stack: None, tmp_path: Path) -> None:
    storage = storage_resource(request_timeout_s=TIMEOUT_S)
    storage.ensure_bucket("hung")
    storage.write("hung", "ext_conn1/a.csv", b"meter_id\n")
    emulator = service_pid("storage")
    stop(emulator)
    try:
        started = time.monotonic()
        read = finishes_within(TIMEOUT_S + GRACE_S, lambda: storage.read("hung", "ext_conn1/a.csv"))
        download = finishes_within(
            TIMEOUT_S + GRACE_S,
            lambda: storage.download("hung", "ext_conn1/a.csv", tmp_path / "a.csv"),
        )
        print(f"two calls to a hung storage ended after {time.monotonic() - started:.1f} s")
    finally:
        os.kill(emulator, signal.SIGCONT)

    for error, verb in ((read, "reading"), (download, "downloading")):
        assert isinstance(error, StorageUnavailable), error
        assert f"storage: {verb} gs://hung/ext_conn1/a.csv got no answer within 2 s" in str(error)
        assert "`b8760 local status`" in str(error)
    assert storage.read("hung", "ext_conn1/a.csv").data == b"meter_id\n"
