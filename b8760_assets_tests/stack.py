"""A local stack of a test's own: a state folder and free ports, so that tests never touch
a developer's running stack, and whatever they start is stopped on the way out."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from b8760_assets import local_stack

PORT_VARS = local_stack.PORT_VARIABLES


@contextlib.contextmanager
def isolated_stack(folder: Path) -> Iterator[dict[str, int]]:
    """Point the local stack (and the platform's settings) at `folder` and free ports, in the
    environment, so that CLI and Dagster subprocesses inherit them too."""
    ports = dict(zip(PORT_VARS, local_stack.free_ports(len(PORT_VARS)), strict=True))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("B8760_STATE_DIR", str(folder))
        env.delenv("B8760_GCP_PROJECT", raising=False)
        env.delenv("B8760_PLATFORM_DIR", raising=False)
        for name, port in ports.items():
            env.setenv(name, str(port))
        try:
            yield ports
        finally:
            local_stack.stop_all()


def service_pid(name: str) -> int:
    """The pid of the stack's running `name` emulator (to kill or stop it in a test)."""
    return next(status.pid for status in local_stack.status() if status.name == name)
