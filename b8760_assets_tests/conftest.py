"""Fixtures on the session's own local stack: real services, never a developer's."""

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from b8760_assets import local_stack
from b8760_assets.access.warehouse_views import VIEWED_COLUMNS
from b8760_assets.config import load_platform
from b8760_assets.layout import ConnectorLayout
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.bigquery_fake import FakeBigQuery
from b8760_assets_tests.dagster_processes import daemon_process, stop
from b8760_assets_tests.gcp_fake import FakeGcp
from b8760_assets_tests.postgres_server import PostgresServer, postgres_server
from b8760_assets_tests.stack import isolated_stack

# The project the access tests' fakes stand for, and the sample platform's buckets in it.
FAKE_PROJECT = "benchmark8760"
SAMPLE_BUCKETS = ("landing_zone", "participant_1", "participant_2")


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """The session's local stack, running; its settings are in the environment."""
    with isolated_stack(tmp_path_factory.mktemp("state")) as ports:
        local_stack.start_all()
        yield ports


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; each test that needs one makes a database of its own."""
    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


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


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts `dagster-daemon run` on workspace.yaml and the test's instance; every daemon
    started (with its code servers and run workers) is stopped at the end."""
    daemons: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        daemons.append(daemon_process(tmp_path / f"daemon-{len(daemons)}.log"))
        return daemons[-1]

    yield start
    for daemon in daemons:
        stop(daemon)


@pytest.fixture
def sample_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample platform and its landing bucket, the local stack, and groups in example.org."""
    for name in ("B8760_GCP_PROJECT", "B8760_PLATFORM_DIR", "B8760_LANDING_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("B8760_PARTICIPANT_GROUP_DOMAIN", "example.org")


@pytest.fixture
def fake() -> Iterator[FakeGcp]:
    """The recording fake of GCP's IAM, with the sample platform's buckets."""
    with FakeGcp(FAKE_PROJECT) as fake:
        for bucket in SAMPLE_BUCKETS:
            fake.add_bucket(bucket)
        yield fake


@pytest.fixture
def bigquery() -> Iterator[FakeBigQuery]:
    """The recording fake of BigQuery, with the platform's dataset and the tables it views."""
    with FakeBigQuery() as fake:
        fake.add_dataset("b8760")
        for table in VIEWED_COLUMNS:
            fake.add_table("b8760", table)
        yield fake
