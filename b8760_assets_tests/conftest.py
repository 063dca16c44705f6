"""A local stack of its own for the test session, on free ports and in a temporary state
dir, so that tests never touch a developer's running stack and always see real services."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from b8760_assets import local_stack
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource

PORT_VARIABLES = (
    "B8760_STORAGE_PORT",
    "B8760_STORAGE_HTTPS_PORT",
    "B8760_BIGQUERY_PORT",
    "B8760_BIGQUERY_GRPC_PORT",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of the session's local stack (also inherited by CLI subprocesses)."""
    env = {"B8760_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("B8760_GCP_PROJECT", raising=False)
        patch.delenv("B8760_PLATFORM_DIR", raising=False)
        local_stack.start_all()
        try:
            yield env
        finally:
            local_stack.stop_all()


@pytest.fixture(scope="session")
def storage(stack_env: dict[str, str]) -> StorageResource:
    return StorageResource()


@pytest.fixture
def bucket(storage: StorageResource) -> str:
    """A new, empty bucket: the session's stack is shared between tests."""
    name = f"test-{os.urandom(6).hex()}"
    storage.ensure_bucket(name)
    return name


@pytest.fixture
def warehouse(stack_env: dict[str, str]) -> WarehouseResource:
    """The warehouse with a dataset of this test's own."""
    return WarehouseResource(dataset=f"test_{os.urandom(6).hex()}")


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME with the checkout's dagster.yaml, as `make install` prepares it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        (Path(__file__).parents[1] / "dagster.yaml").read_text()
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home

