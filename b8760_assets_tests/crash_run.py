"""One run of ext_conn1's chain for an hour, killed with SIGKILL at its Nth storage call:
`python -m b8760_assets_tests.crash_run SUFFIX HOUR N` (N = 0 runs it whole). Prints the
number of storage calls the run made when it was not killed."""

import functools
import os
import signal
import sys
from datetime import datetime

from b8760_assets.resources import storage_resource
from b8760_assets.storage import StorageResource
from b8760_assets_tests.own_platform import own_platform

# Every call through which the platform reaches GCS.
STORAGE_CALLS = (
    "ensure_bucket", "write", "upload_file", "read", "download", "stat", "list", "copy", "delete",
)  # fmt: skip


def kill_at(call_number: int) -> list[int]:
    """Count storage calls, and kill this process, as the OOM killer would, at the given one."""
    calls = [0]

    def counted(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == call_number:
                os.kill(os.getpid(), signal.SIGKILL)
            return method(*args, **kwargs)

        return call

    for name in STORAGE_CALLS:
        setattr(StorageResource, name, counted(getattr(StorageResource, name)))
    return calls


if __name__ == "__main__":
    suffix, hour, call_number = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
    platform = own_platform(storage_resource(), suffix)
    calls = kill_at(call_number)
    assert platform.run("ext_conn1", hour).success
    print(calls[0])
