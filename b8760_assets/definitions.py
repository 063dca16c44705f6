"""The b8760 code location: every asset, check, sensor and resource of the platform."""

import dagster as dg

from b8760_assets import settings
from b8760_assets.meter_registry import meter_registry
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource


def build_definitions() -> dg.Definitions:
    """Definitions for the configured GCP project, or the local stack when none is set."""
    project = settings.gcp_project()
    return dg.Definitions(
        assets=[meter_registry],
        resources={
            "storage": StorageResource(project=project),
            "warehouse": WarehouseResource(project=project),
        },
    )


defs = build_definitions()
