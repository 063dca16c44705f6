"""bqemulator: BigQuery's REST and gRPC APIs on 127.0.0.1, DuckDB data under the local state.

bqemulator runs `INSTALL spatial` (and `INSTALL avro`) at every start, which downloads the
extension unless DuckDB's extension folder already holds it. Before each start the
spatial extension is copied there from the duckdb-extension-spatial wheel (a no-op once
done), into a home folder of the local state: the emulator runs with HOME there, which is
where DuckDB looks, so it starts offline and leaves the user's ~/.duckdb alone. No wheel
here ships avro, so its download is switched off: Avro load and extract jobs then fail
with bqemulator's own "requires DuckDB's avro extension" error; nothing else needs it.

Load jobs from gs:// URIs read local files (BQEMU_GCS_LOCAL_ROOT); pointed at the storage
emulator's data folder, they read the objects written through fake-gcs-server.
"""

import sys
from collections.abc import Mapping
from pathlib import Path

from b8760_assets.local_stack.services import HOST, Port, Service
from b8760_assets.local_stack.storage_emulator import STORAGE, storage_data

LOCAL_PROJECT = "b8760-local"


def _home(folder: Path) -> Path:
    return folder / "home"


def _install_spatial(folder: Path) -> None:
    import duckdb
    import duckdb_extensions

    extensions = _home(folder) / ".duckdb" / "extensions"  # DuckDB's default under HOME
    with duckdb.connect(config={"extension_directory": str(extensions)}) as connection:
        duckdb_extensions.import_extension("spatial", con=connection)


def _command(folder: Path, ports: Mapping[str, int]) -> list[str]:
    return [
        sys.executable, "-m", "bqemulator", "start",
        "--rest-host", HOST, "--rest-port", str(ports["rest"]),
        "--grpc-host", HOST, "--grpc-port", str(ports["grpc"]),
        "--persistent", "--data-dir", str(folder / "data"),
        "--project", LOCAL_PROJECT,
    ]  # fmt: skip


def _environment(folder: Path) -> Mapping[str, str]:
    return {
        "HOME": str(_home(folder)),
        "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false",
        "BQEMU_GCS_LOCAL_ROOT": str(storage_data(STORAGE.folder())),
    }


BIGQUERY = Service(
    name="bigquery",
    ports=(
        Port("rest", "B8760_BIGQUERY_PORT", 9050),
        Port("grpc", "B8760_BIGQUERY_GRPC_PORT", 9060),
    ),
    ready_path="/readyz",
    command=_command,
    prepare=_install_spatial,
    environment=_environment,
)
