"""The meter registry follows its XML: a changed file makes warehouse/meters stale (its code
version) and requested by its automation condition, and readings are never linked to a
registry that was never built."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from b8760_assets.config import load_platform
from b8760_assets.meter_registry import (
    METERS_TABLE,
    REGISTRY_AUTOMATION,
    REGISTRY_KEY,
    build_meter_registry,
)
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.config_files import copy_sample_platform, replace_in
from b8760_assets_tests.landing_files import GOOD_CSV, upload
from b8760_assets_tests.own_platform import own_platform

CODE_VERSION_TAG = "dagster/code_version"


def registry_of(root: Path) -> dg.AssetsDefinition:
    """The registry as the code location builds it when it loads the platform in root."""
    return build_meter_registry(load_platform(root))


def tick(
    registry: dg.AssetsDefinition,
    warehouse: WarehouseResource,
    instance: dg.DagsterInstance,
    after: dg.EvaluateAutomationConditionsResult | None = None,
) -> dg.EvaluateAutomationConditionsResult:
    """One tick of the automation sensor, after the tick `after`."""
    return dg.evaluate_automation_conditions(
        defs=dg.Definitions(assets=[registry], resources={"warehouse": warehouse}),
        instance=instance,
        cursor=after.cursor if after else None,
    )


def test_a_changed_meter_xml_makes_the_registry_stale_and_requested(
    tmp_path: Path, warehouse: WarehouseResource
) -> None:
    root = copy_sample_platform(tmp_path)
    before = registry_of(root)
    with dg.instance_for_test() as instance:
        never_built = tick(before, warehouse, instance)
        assert dg.materialize([before], instance=instance, resources={"warehouse": warehouse})
        unchanged = tick(registry_of(root), warehouse, instance, after=never_built)
        replace_in(
            root / "meters/coned.xml", "<multiplier>40</multiplier>", "<multiplier>4</multiplier>"
        )
        after = registry_of(root)
        changed = tick(after, warehouse, instance, after=unchanged)
        built = instance.get_latest_materialization_event(REGISTRY_KEY)

    assert never_built.total_requested == 1  # the first tick builds a registry never built
    assert unchanged.total_requested == 0
    assert changed.total_requested == 1
    # What the UI compares to call the table stale: the version it was built from, and now.
    assert built and built.asset_materialization
    assert (
        built.asset_materialization.tags[CODE_VERSION_TAG]
        == before.code_versions_by_key[REGISTRY_KEY]
    )
    assert after.code_versions_by_key[REGISTRY_KEY] != before.code_versions_by_key[REGISTRY_KEY]


def test_the_registry_automation_runs_from_the_start(storage: StorageResource) -> None:
    defs = own_platform(storage).defs
    sensor = defs.resolve_sensor_def(REGISTRY_AUTOMATION)

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.asset_selection
    assert sensor.asset_selection.resolve(defs.resolve_asset_graph()) == {REGISTRY_KEY}


def test_readings_are_not_linked_to_a_registry_never_built(storage: StorageResource) -> None:
    platform = own_platform(storage)
    hour = datetime(2022, 3, 1, 14, tzinfo=UTC)
    upload(storage, platform.layouts["ext_conn1"], "readings.csv", GOOD_CSV)

    run = platform.run("ext_conn1", hour, raise_on_error=False)

    assert not run.success
    [failure] = [event for event in run.all_events if event.is_step_failure]
    assert failure.step_key == "ext_conn1__warehouse_meter_links"
    assert (
        f"the warehouse has no meter registry yet: {platform.warehouse.table_id(METERS_TABLE)} "
        "does not exist, so no reading could be linked to its meter; materialize "
        "warehouse/meters (the meter XML files) first, then this hour again"
    ) in str(failure.step_failure_data.error)
    assert METERS_TABLE not in platform.warehouse.list_tables()
