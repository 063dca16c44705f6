"""The b8760 code location: every asset, check, sensor and resource of the platform.

Each connector of the platform folder (B8760_PLATFORM_DIR) gets its own group of assets,
partitioned by arrival hour from the connector's first hour of data.
"""

import warnings
from collections.abc import Mapping, Sequence

import dagster as dg

from b8760_assets import settings
from b8760_assets.config import Meter, Platform, load_platform
from b8760_assets.landing.assets import build_raw_landing_files
from b8760_assets.landing.deliveries import build_delivery_checks, build_delivery_schedule
from b8760_assets.landing.sensors import build_landing_zone_sensor
from b8760_assets.layout import ConnectorLayout
from b8760_assets.meter_links import build_meter_links
from b8760_assets.meter_registry import build_meter_registry, build_registry_automation
from b8760_assets.resources import platform_resources
from b8760_assets.standardized.assets import build_standardized_readings

# Dagster's own selection parser hands `AssetSelection.groups` its beta `include_sources`
# parameter for every `group:NAME` (dagster/_core/definitions/antlr_asset_selection), so each
# `dg launch --assets group:coned` warned of a parameter no code of ours passes; `group:` is how
# the docs select a connector's chain. Only that warning, in the processes that load this
# code location, is silenced.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `include_sources` of function `AssetSelection\.groups`",
    category=dg.BetaWarning,
)


def connector_chain(layout: ConnectorLayout, meters: Sequence[Meter]) -> list[dg.AssetsDefinition]:
    """Raw landing files -> standardized readings -> warehouse meter links, one connector's."""
    by_id = {meter.id: meter for meter in meters}
    raw = build_raw_landing_files(layout, by_id)
    standardized = build_standardized_readings(layout, by_id)
    return [raw, standardized, build_meter_links(layout, standardized.key)]


def build_definitions(
    platform: Platform, landing_bucket: str, resources: Mapping[str, dg.ConfigurableResource]
) -> dg.Definitions:
    """Every asset, check and sensor of a platform whose connectors upload to
    `landing_bucket`, on the given resources (`resources.platform_resources`)."""
    layouts = [
        ConnectorLayout(connector, landing_bucket) for connector in platform.connectors.values()
    ]
    chains = {
        layout.connector.name: connector_chain(layout, platform.meters_of(layout.connector.name))
        for layout in layouts
    }
    delivery_checks = build_delivery_checks(layouts)
    return dg.Definitions(
        assets=[
            build_meter_registry(platform),
            *(asset for chain in chains.values() for asset in chain),
        ],
        asset_checks=delivery_checks,
        schedules=[build_delivery_schedule(checks) for checks in delivery_checks],
        sensors=[
            build_landing_zone_sensor(
                layouts, {name: [a.key for a in chain] for name, chain in chains.items()}
            ),
            build_registry_automation(),
        ],
        resources=resources,
        # A chain's three steps run one after the other, so a process per step (Dagster's
        # default) buys no parallelism and costs each hourly run about 3 s of Python start-up
        # per step (BENCHMARKS.md): the steps of a run share its process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: the configured platform folder and landing bucket, on the
    configured GCP project or, when none is set, on the local stack. Built when Dagster
    loads the location, not when the module is imported."""
    return build_definitions(
        load_platform(settings.platform_dir()),
        settings.landing_bucket(),
        platform_resources(settings.gcp_project()),
    )
