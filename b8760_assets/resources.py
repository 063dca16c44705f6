"""The platform's resources, chosen in one place: GCS and BigQuery in a GCP project, or the
local stack's emulators when there is none (started here unless they are running).

The code location's root, the CLI, the tests and the benchmarks all build their resources
here, so that only this module decides where the platform's data lives."""

from typing import Any

import dagster as dg

from b8760_assets import local_stack
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource


def storage_resource(project: str | None = None, **options: Any) -> StorageResource:
    """GCS in `project`, or the local stack's fake-gcs-server when None."""
    if project is not None:
        return StorageResource(project=project, **options)
    return StorageResource(emulator_url=local_stack.ensure_running("storage"), **options)


def warehouse_resource(project: str | None = None, **options: Any) -> WarehouseResource:
    """BigQuery in `project`, or the local stack's bqemulator when None."""
    if project is not None:
        return WarehouseResource(project=project, **options)
    return WarehouseResource(emulator_url=local_stack.ensure_running("bigquery"), **options)


def platform_resources(project: str | None) -> dict[str, dg.ConfigurableResource]:
    """The resources every asset and sensor of the platform takes, by their names."""
    return {"storage": storage_resource(project), "warehouse": warehouse_resource(project)}
