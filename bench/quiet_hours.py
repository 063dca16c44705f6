"""11. Quiet hours at 1,500 connectors: what recording an hour without uploads costs, so that
the partitions view says Missing only for hours the platform never looked at.

The landing-zone sensor's tick, with every connector quiet (its folder holds only readme.txt),
returns one materialization per asset of each connector's chain (3) for the last complete
hour; they are written as the daemon writes a tick's asset events (one
`report_runless_asset_event` each), on a real (temporary, sqlite) instance, twice: the first
tick also makes the asset keys; the second, timed and measured, is every later hour. Figures:
the events of a connector-day (24 ticks' worth) and the seconds one tick's writes take; the
instance's growth per event is in the notes. Baselines:
the events of one hourly run of a do-nothing chain with the same assets and checks (what
running every quiet connector every hour would cost, at the least), and the tick's own
evaluation.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Result
from bench.sensor_connectors import quiet_connectors

if TYPE_CHECKING:
    from b8760_assets.config import ConnectorProperties

NAME = "quiet_hours"
CHAIN = ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
SIZES = {"full": 1_500, "quick": 150, "toy": 10}  # connectors
HOURS_A_DAY = 24


def run_events(connector: "ConnectorProperties") -> int:
    """Events Dagster records for one hour's run of a chain that does nothing."""
    import dagster as dg

    from b8760_assets.partitions import chain_asset, partition_of_hour

    def do_nothing(name: str, deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
        @chain_asset(connector, name, checks=[(f"{name}_check", "-")], description="-",
                     kinds={"gcs"}, deps=deps)  # fmt: skip
        def asset() -> dg.MaterializeResult:
            return dg.MaterializeResult(
                check_results=[dg.AssetCheckResult(check_name=f"{name}_check", passed=True)]
            )

        return asset

    chain: list[dg.AssetsDefinition] = []
    for name in CHAIN:
        chain.append(do_nothing(name, [chain[-1].key] if chain else []))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            chain, instance=instance, partition_key=partition_of_hour(connector.start_hour)
        )
        assert result.success
        return len(instance.all_logs(result.run_id))


def storage_bytes(root: Path) -> int:
    """The instance's files (sqlite databases and their journals)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def run(size: str = "full") -> list[Result]:
    import dagster as dg

    from b8760_assets.landing.sensors import build_landing_zone_sensor

    connectors = SIZES[size]
    storage, layouts = quiet_connectors(connectors)
    keys = {layout.connector.name: [dg.AssetKey([layout.connector.name, name]) for name in CHAIN]
            for layout in layouts}  # fmt: skip
    sensor = build_landing_zone_sensor(layouts, keys)
    with dg.instance_for_test() as instance:
        root = Path(instance.root_directory)
        with dg.build_sensor_context(instance=instance, resources={"storage": storage}) as context:
            started = time.perf_counter()
            tick = sensor(context)
            evaluated_s = time.perf_counter() - started
        assert isinstance(tick, dg.SensorResult) and not tick.run_requests, tick
        for event in tick.asset_events:  # the first hour: the asset keys are new
            instance.report_runless_asset_event(event)
        before = storage_bytes(root)
        started = time.perf_counter()
        for event in tick.asset_events:
            instance.report_runless_asset_event(event)
        written_s = time.perf_counter() - started
        grown = storage_bytes(root) - before
        recorded = sum(
            len(instance.get_materialized_partitions(key)) for each in keys.values() for key in each
        )
    assert recorded == len(tick.asset_events) == len(CHAIN) * connectors, recorded
    per_connector_day = len(tick.asset_events) / connectors * HOURS_A_DAY
    run_day = run_events(layouts[0].connector) * HOURS_A_DAY
    notes = {
        "connectors": connectors,
        "events_per_tick": len(tick.asset_events),
        "events_per_day": per_connector_day * connectors,
        "instance_bytes_per_event": round(grown / len(tick.asset_events)),
        "run_events_per_hour": run_day // HOURS_A_DAY,
        "tick_evaluation_s": round(evaluated_s, 2),
    }
    return [
        Result(
            benchmark="11. quiet hours, events per connector-day",
            figure=per_connector_day,
            figure_unit="events",
            figure_label=f"{connectors:,} connectors, none waiting",
            baseline=run_day,
            baseline_unit="events",
            baseline_label="a do-nothing run of the chain every hour",
            better="lower",
            notes=notes,
        ),
        Result(
            benchmark="11. quiet hours, a tick's writes",
            figure=written_s,
            figure_unit="s",
            figure_label=f"{len(tick.asset_events):,} events, as the daemon writes them",
            baseline=evaluated_s,
            baseline_unit="s",
            baseline_label="the tick's evaluation",
            better="lower",
            notes=notes,
        ),
    ]
