"""Fixtures on the session's own local stack: real services, never a developer's."""

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from b8760_assets import local_stack
from b8760_assets.config import load_platform
from b8760_assets.layout import ConnectorLayout
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.stack import isolated_stack


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """The session's local stack, running; its settings are in the environment."""
    with isolated_stack(tmp_path_factory.mktemp("state")) as ports:
        local_stack.start_all()
        yield ports


@pytest.fixture(scope="session")
def storage(stack_env: dict[str, int]) -> StorageResource:
    return storage_resource()


@pytest.fixture
def bucket(storage: StorageResource) -> str:
    """A new, empty bucket: the session's stack is shared between tests."""
    name = f"test-{os.urandom(6).hex()}"
    storage.ensure_bucket(name)
    return name


@pytest.fixture
def layout(storage: StorageResource) -> ConnectorLayout:
    """ext_conn1 of the sample platform, with a landing zone and a participant bucket of
    this test's own."""
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    suffix = os.urandom(6).hex()
    result = ConnectorLayout(
        replace(connector, bucket=f"participant-{suffix}"), f"landing-{suffix}"
    )
    storage.ensure_bucket(result.bucket)
    storage.ensure_bucket(result.landing_bucket)
    return result


@pytest.fixture
def warehouse(stack_env: dict[str, int]) -> WarehouseResource:
    """The warehouse with a dataset of this test's own."""
    return warehouse_resource(dataset=f"test_{os.urandom(6).hex()}")


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME with the checkout's dagster.yaml, as `make install` prepares it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
