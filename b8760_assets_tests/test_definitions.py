"""The code location as Dagster loads it: the definitions, the meter registry, the CLI."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from b8760_assets import local_stack
from b8760_assets.config import load_platform
from b8760_assets.definitions import build_definitions, defs
from b8760_assets.meter_links import READINGS_MERGE_POOL, READINGS_MERGES_AT_ONCE
from b8760_assets.meter_registry import METERS_TABLE, build_meter_registry
from b8760_assets.readings_schema import COLUMN_SCHEMA
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets.warehouse import WarehouseResource
from b8760_assets.warehouse_limits import MAX_RUNNING_DML_PER_TABLE
from b8760_assets_tests.dagster_processes import CHECKOUT, graphql, webserver

CONNECTORS = ("coned", "ext_conn1", "ext_conn10")
DAGSTER = str(Path(sys.executable).parent / "dagster")


def run_dagster(*args: str) -> subprocess.CompletedProcess[str]:
    """The dagster CLI as a user runs it, from the checkout, with the test's environment."""
    return subprocess.run(
        [DAGSTER, *args], cwd=CHECKOUT, capture_output=True, text=True, timeout=300
    )


def test_definitions_resolve_a_chain_per_connector(stack_env: dict) -> None:
    location = defs()
    graph = location.resolve_asset_graph()
    chain = ["raw_landing_files", "standardized_readings", "warehouse_meter_links"]
    expected = {dg.AssetKey(["warehouse", "meters"])} | {
        dg.AssetKey([connector, asset]) for connector in CONNECTORS for asset in chain
    }
    assert graph.get_all_asset_keys() == expected
    assert set(location.resources) == {"storage", "warehouse"}
    sensor = location.resolve_sensor_def("landing_zone_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for connector in CONNECTORS:
        keys = [dg.AssetKey([connector, asset]) for asset in chain]
        # One partitions definition per chain, and ranges of hours in one run.
        assert len({graph.get(key).partitions_def for key in keys}) == 1
        for key in keys:
            assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run()
            assert graph.get(key).group_name == connector
        assert graph.get(keys[1]).parent_keys == {keys[0]}
        assert graph.get(keys[2]).parent_keys == {keys[1], dg.AssetKey(["warehouse", "meters"])}


def test_meter_registry_loads_every_meter(warehouse: WarehouseResource) -> None:
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    meter_registry = build_meter_registry(platform)
    result = dg.materialize([meter_registry], resources={"warehouse": warehouse})
    assert result.success
    rows = warehouse.query(
        f"SELECT connector, meter_id, participant, multiplier FROM {METERS_TABLE}"
        " ORDER BY connector, meter_id"
    )
    expected = sorted((m.connector, m.id, m.participant, m.multiplier) for m in platform.meters)
    assert [tuple(row.values()) for row in rows] == expected
    metadata = result.asset_materializations_for_node("warehouse__meters")[0].metadata
    assert metadata["dagster/row_count"].value == len(platform.meters)

    # Rebuilt whole, not appended: a second materialization leaves the same rows.
    assert dg.materialize([meter_registry], resources={"warehouse": warehouse}).success
    assert warehouse.query(f"SELECT COUNT(*) AS n FROM {METERS_TABLE}") == [
        {"n": len(platform.meters)}
    ]


def test_the_registry_holds_the_meters_of_the_platform_it_was_built_for(
    warehouse: WarehouseResource,
) -> None:
    """Not those of the configured platform folder: a platform of one connector registers
    that connector's meters only."""
    sample = load_platform(SAMPLE_PLATFORM_DIR)
    platform = replace(
        sample, connectors={"coned": sample.connectors["coned"]}, meters=sample.meters_of("coned")
    )
    built = build_definitions(platform, "landing", {"warehouse": warehouse})
    registry = built.get_assets_def(["warehouse", METERS_TABLE])
    assert dg.materialize([registry], resources={"warehouse": warehouse}).success
    rows = warehouse.query(f"SELECT DISTINCT connector FROM {METERS_TABLE}")
    assert rows == [{"connector": "coned"}]


def test_a_chains_assets_carry_what_the_ui_shows(
    storage: StorageResource, warehouse: WarehouseResource
) -> None:
    """Owners (the operating participant), kinds (the intake's file types among them), the
    readings' columns, and a code reference to the line that defines each asset."""
    sample = load_platform(SAMPLE_PLATFORM_DIR)
    green_button = replace(sample.connectors["ext_conn10"], formats=("csv", "espi"))
    platform = replace(sample, connectors={**sample.connectors, "ext_conn10": green_button})
    resources = {"storage": storage, "warehouse": warehouse}
    graph = build_definitions(platform, "landing", resources).resolve_asset_graph()
    intake_kinds = {"coned": {"gcs", "csv"}, "ext_conn10": {"gcs", "csv", "xml"}}
    for connector, kinds in intake_kinds.items():
        raw, standardized, links = (
            graph.get(dg.AssetKey([connector, name]))
            for name in ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
        )
        assert (raw.kinds, standardized.kinds, links.kinds) == (
            kinds, {"gcs", "parquet"}, {"bigquery"},
        )  # fmt: skip
        for node in (raw, standardized, links):
            assert node.owners == [f"team:{platform.connectors[connector].participant}"]
            [reference] = node.metadata["dagster/code_references"].code_references
            source = Path(reference.file_path).read_text().splitlines()
            definition = source[reference.line_number - 1 :]  # from its decorator on
            assert definition[0].strip() == "@chain_asset("
            assert f"    def {node.key.path[-1]}(" in next(
                line for line in definition if line.strip().startswith("def ")
            )
        assert "dagster/column_schema" not in raw.metadata
        for node in (standardized, links):
            assert node.metadata["dagster/column_schema"] == COLUMN_SCHEMA


def test_dagster_cli_validates_and_materializes(stack_env: dict, dagster_home: Path) -> None:
    validated = run_dagster("definitions", "validate", "-m", "b8760_assets.definitions")
    assert validated.returncode == 0, validated.stderr

    run = run_dagster(
        "asset", "materialize", "-m", "b8760_assets.definitions", "--select", "warehouse/meters"
    )
    assert run.returncode == 0, run.stderr
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records()
        assert [record.dagster_run.status for record in records] == [dg.DagsterRunStatus.SUCCESS]
        assert instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "meters"]))


def test_a_fresh_checkout_validates_without_dagster_home(
    stack_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a new user types it, nothing exported: Dagster reads the checkout's dagster.yaml
    and keeps its runs in a temporary folder."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    validated = run_dagster("definitions", "validate", "-w", "workspace.yaml")
    assert validated.returncode == 0, validated.stderr[-3000:]
    assert "All code locations passed validation." in validated.stdout + validated.stderr


LOCATIONS_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { __typename ... on RepositoryLocation {
    repositories { assetGroups { groupName } } } } } } } }"""


def test_a_range_of_hours_is_one_run_from_the_cli(stack_env: dict, dagster_home: Path) -> None:
    run = run_dagster(
        "asset", "materialize", "-m", "b8760_assets.definitions", "--select", "group:ext_conn10",
        "--partition-range", "2023-03-26-00:00...2023-03-26-05:00",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with dg.DagsterInstance.get() as instance:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_materialized_partitions(
            dg.AssetKey(["ext_conn10", "warehouse_meter_links"])
        )
    assert materialized == {f"2023-03-26-{h:02d}:00" for h in range(6)}


def test_webserver_shows_the_code_location(stack_env: dict, dagster_home: Path) -> None:
    """What `make dev` serves: workspace.yaml's code location, loaded, with its asset groups."""
    with webserver(local_stack.free_ports(1)[0]) as url:
        entries = graphql(url, LOCATIONS_QUERY)
    [entry] = entries["workspaceOrError"]["locationEntries"]
    assert entry["name"] == "b8760"
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    groups = {g["groupName"] for r in location["repositories"] for g in r["assetGroups"]}
    assert "meter_registry" in groups


def test_the_warehouse_steps_merge_at_most_as_many_at_once_as_bigquery_runs(
    stack_env: dict, dagster_home: Path
) -> None:
    """Every connector's MERGE goes into one `readings`; the instance's pool limit (the
    checkout's dagster.yaml) keeps them under BigQuery's limit of mutating statements on one
    table, and one at a time: an hour's all change one month partition."""
    location = defs()
    merging = {
        key.path[0]: location.get_assets_def(key).op.pool
        for key in location.resolve_asset_graph().get_all_asset_keys()
        if key.path[-1] == "warehouse_meter_links"
    }
    assert merging == {connector: READINGS_MERGE_POOL for connector in CONNECTORS}
    with dg.DagsterInstance.get() as instance:
        limit = instance.get_concurrency_config().pool_config.default_pool_limit
    assert limit == READINGS_MERGES_AT_ONCE <= MAX_RUNNING_DML_PER_TABLE
