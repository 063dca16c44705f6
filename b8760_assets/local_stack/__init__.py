"""The local stack: emulators that stand in for GCS and BigQuery on a machine with no
cloud credentials, started on demand and shared by every process on the machine.

State (pid files, logs, data, certificate, DuckDB extensions, boto config) lives under
`settings.state_dir()`; ports come from B8760_STORAGE_PORT, B8760_STORAGE_HTTPS_PORT,
B8760_BIGQUERY_PORT and B8760_BIGQUERY_GRPC_PORT. Both are read at call time.
"""

import socket
from datetime import datetime

from b8760_assets.local_stack import services
from b8760_assets.local_stack.bigquery_emulator import BIGQUERY, LOCAL_PROJECT
from b8760_assets.local_stack.gsutil import write_boto_config
from b8760_assets.local_stack.services import LocalStackError, ServiceStatus
from b8760_assets.local_stack.storage_emulator import STORAGE, set_created

__all__ = [
    "LOCAL_PROJECT",
    "SERVICES",
    "PORT_VARIABLES",
    "LocalStackError",
    "ServiceStatus",
    "backdate_upload",
    "emulator_endpoint",
    "ensure_running",
    "env_exports",
    "free_ports",
    "start_all",
    "status",
    "stop_all",
    "write_boto_config",
]

_SERVICES = {service.name: service for service in (STORAGE, BIGQUERY)}
SERVICES: tuple[str, ...] = tuple(_SERVICES)
# The variables that choose the stack's ports: storage's, then bigquery's.
PORT_VARIABLES: tuple[str, ...] = tuple(
    port.env_var for service in _SERVICES.values() for port in service.ports
)


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, for a stack of one's own (tests, benchmarks)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def ensure_running(name: str) -> str:
    """The service's http URL, once it answers; starts it unless it is already running."""
    if name not in _SERVICES:
        raise LocalStackError(f"No local service {name!r}; there are {', '.join(SERVICES)}.")
    return services.ensure_running(_SERVICES[name])


def emulator_endpoint(url: str | None, service: str) -> str:
    """The emulator URL a resource was given; a resource with neither a GCP project nor an
    emulator was built by hand, not by `resources`, which picks one of the two."""
    if url is None:
        raise LocalStackError(
            f"No GCP project and no {service} emulator URL: build the resource with "
            f"b8760_assets.resources.{service.replace('bigquery', 'warehouse')}_resource(), "
            "which takes the configured project (B8760_GCP_PROJECT) or the local stack."
        )
    return url


def start_all() -> list[ServiceStatus]:
    for service in _SERVICES.values():
        services.ensure_running(service)
    return status()


def stop_all() -> list[str]:
    """Names of the services stopped; only processes this stack started are touched."""
    return [service.name for service in _SERVICES.values() if services.stop(service)]


def status() -> list[ServiceStatus]:
    return [services.status(service) for service in _SERVICES.values()]


def env_exports() -> dict[str, str]:
    """Environment that points clients at the stack. Writes the boto config, so that
    BOTO_CONFIG never names a missing file."""
    return {
        "STORAGE_EMULATOR_HOST": STORAGE.url(),
        "BIGQUERY_EMULATOR_HOST": BIGQUERY.url(),
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "BOTO_CONFIG": str(write_boto_config()),
    }


def backdate_upload(bucket: str, name: str, created: datetime) -> None:
    """Make an object on the local storage emulator look uploaded at `created` (timeCreated),
    so that past arrival hours can take it in: for the demo and tests only; GCS never allows it."""
    set_created(STORAGE.folder(), bucket, name, created)
