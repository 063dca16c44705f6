"""A local stack of a test's own: a state folder and free ports, so that tests never touch
a developer's running stack, and whatever they start is stopped on the way out."""

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from b8760_assets import local_stack

PORT_VARS = (
    "B8760_STORAGE_PORT",
    "B8760_STORAGE_HTTPS_PORT",
    "B8760_BIGQUERY_PORT",
    "B8760_BIGQUERY_GRPC_PORT",
)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@contextlib.contextmanager
def isolated_stack(folder: Path) -> Iterator[dict[str, int]]:
    """Point the local stack (and the platform's settings) at `folder` and free ports, in the
    environment, so that CLI and Dagster subprocesses inherit them too."""
    ports = dict(zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True))
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
