"""The sample platform's real definitions on buckets and a warehouse dataset of a test's own,
and its connectors' chains run with `materialize()` as the sensor or a backfill runs them."""

import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import dagster as dg

from b8760_assets.config import load_platform
from b8760_assets.definitions import build_definitions
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import partition_of_hour, range_run_tags
from b8760_assets.resources import warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource


@dataclass(frozen=True)
class OwnPlatform:
    defs: dg.Definitions
    layouts: dict[str, ConnectorLayout]
    storage: StorageResource
    warehouse: WarehouseResource

    @property
    def resources(self) -> dict[str, object]:
        return {"storage": self.storage, "warehouse": self.warehouse}

    def register_meters(self) -> None:
        assert dg.materialize(
            [self.defs.get_assets_def(["warehouse", "meters"])], resources=self.resources
        ).success

    def run(
        self,
        connector: str,
        first: datetime,
        last: datetime | None = None,
        instance: dg.DagsterInstance | None = None,
        *,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """One run of the connector's chain for the hour `first`, or for first..last when
        later (one run, as a backfill with a single-run policy launches it), recorded in
        `instance` (by default an ephemeral one)."""
        assets = [
            self.defs.get_assets_def(key)
            for key in self.defs.resolve_asset_graph().get_all_asset_keys()
            if key.path[0] == connector
        ]
        if last is None or last == first:
            return dg.materialize(
                assets,
                partition_key=partition_of_hour(first),
                resources=self.resources,
                instance=instance,
                raise_on_error=raise_on_error,
            )
        return dg.materialize(
            assets,
            tags=range_run_tags(first, last),
            resources=self.resources,
            instance=instance,
            raise_on_error=raise_on_error,
        )


def own_platform(
    storage: StorageResource, suffix: str | None = None, root: Path = SAMPLE_PLATFORM_DIR
) -> OwnPlatform:
    """The sample platform (or the one in `root`) with every bucket and the dataset renamed
    for this caller alone (by `suffix`, a new one by default: another process can name the
    same platform)."""
    suffix = suffix or os.urandom(4).hex()
    landing = f"landing-{suffix}"
    platform = load_platform(root)
    connectors = {
        name: replace(connector, bucket=f"{connector.bucket.replace('_', '-')}-{suffix}")
        for name, connector in platform.connectors.items()
    }
    warehouse = warehouse_resource(dataset=f"p_{suffix}")
    defs = build_definitions(
        replace(platform, connectors=connectors),
        landing,
        {"storage": storage, "warehouse": warehouse},
    )
    storage.ensure_bucket(landing)
    for connector in connectors.values():
        storage.ensure_bucket(connector.bucket)
    return OwnPlatform(
        defs=defs,
        layouts={name: ConnectorLayout(c, landing) for name, c in connectors.items()},
        storage=storage,
        warehouse=warehouse,
    )
