"""The Dagster UI as a person sees it: the webserver on workspace.yaml, a local stack and an
instance of their own, and headless Chromium (Debian's, through Playwright) over ext_conn1's
asset graph, its intake's partitions and its failed check. Screenshots are kept as test
artefacts: under $B8760_ARTEFACTS/ui when set, else ui-screenshots/ in pytest's tmp folder
(/tmp/pytest-of-<user>/pytest-<n>/)."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from google.api_core.exceptions import ServiceUnavailable
from playwright.sync_api import Browser, Locator, Page, expect

from b8760_assets import local_stack
from b8760_assets.config import load_platform
from b8760_assets.definitions import defs
from b8760_assets.landing.assets import REJECTED_FILES_CHECK
from b8760_assets.landing.sensors import QUIET_HOUR
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR, floor_hour, partition_of_hour
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.settings import SAMPLE_PLATFORM_DIR, landing_bucket
from b8760_assets.storage import StorageResource, StoredObject
from b8760_assets_tests.browser import CHROMIUM, chromium, ui_page, visible
from b8760_assets_tests.dagster_processes import checkout_instance_config, own_instance, webserver
from b8760_assets_tests.landing_files import GOOD_CSV, upload

# The UI loads the code location and 43,000 partitions' statuses on two busy cores.
expect.set_options(timeout=30_000)
CONNECTOR = "ext_conn1"
CHAIN = ("raw_landing_files", "standardized_readings", "warehouse_meter_links")
# The demo's hour: the sample uploads, one of them rejected (its unit is not the meter's).
TAKEN_IN = datetime(2022, 3, 2, 10, tzinfo=UTC)
BAD_UPLOAD = "chicago_2022-03-02_bad_unit.csv"
# An hour whose run failed: GCS refused to delete the upload it had copied.
FAILED = TAKEN_IN + 2 * HOUR


@dataclass(frozen=True)
class Arranged:
    """What the instance holds when the browser looks: the hours, as partition keys."""

    taken_in: str
    failed: str
    quiet: str
    partitions: int
    readings: int  # what standardized_readings recorded of the sample uploads' hour


def unavailable(self: StorageResource, obj: StoredObject) -> None:
    raise ServiceUnavailable(f"503 deleting gs://{obj.bucket}/{obj.name}: backend unavailable")


def arrange(instance: dg.DagsterInstance) -> Arranged:
    """The code location's real runs in the instance: an hour whose run failed, the sensor's
    tick (quiet hours), then the sample uploads' hour (a file rejected: the check's latest)."""
    location = defs()
    resources = {"storage": storage_resource(), "warehouse": warehouse_resource()}
    storage = resources["storage"]
    layout = ConnectorLayout(
        load_platform(SAMPLE_PLATFORM_DIR).connectors[CONNECTOR], landing_bucket()
    )
    storage.ensure_bucket(layout.landing_bucket)

    def materialize(names: tuple[str, ...], hour: datetime) -> dg.ExecuteInProcessResult:
        assets = [location.get_assets_def([CONNECTOR, name]) for name in names]
        return dg.materialize(
            assets,
            instance=instance,
            partition_key=partition_of_hour(hour),
            resources=resources,
            raise_on_error=False,
        )

    registry = location.get_assets_def(["warehouse", "meters"])
    assert dg.materialize([registry], instance=instance, resources=resources).success
    upload(storage, layout, "stuck.csv", GOOD_CSV, at=FAILED + timedelta(minutes=1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StorageResource, "delete", unavailable)
        assert not materialize(CHAIN[:1], FAILED).success
    sensor = location.resolve_sensor_def("landing_zone_sensor")
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        tick = sensor(context)
    assert isinstance(tick, dg.SensorResult) and not tick.run_requests  # stuck.csv is claimed
    for event in tick.asset_events:
        instance.report_runless_asset_event(event)
    for path in sorted((SAMPLE_PLATFORM_DIR / "uploads" / CONNECTOR).iterdir()):
        upload(storage, layout, path.name, path.read_bytes(), at=TAKEN_IN + timedelta(minutes=9))
    taken_in = materialize(CHAIN, TAKEN_IN)
    assert taken_in.success
    [standardized] = taken_in.asset_materializations_for_node(f"{CONNECTOR}__{CHAIN[1]}")
    partitions_def = location.get_assets_def([CONNECTOR, CHAIN[0]]).partitions_def
    assert partitions_def is not None
    return Arranged(
        taken_in=partition_of_hour(TAKEN_IN),
        failed=partition_of_hour(FAILED),
        quiet=partition_of_hour(floor_hour(datetime.now(UTC)) - HOUR),
        partitions=len(partitions_def.get_partition_keys()),
        readings=standardized.metadata["dagster/row_count"].value,
    )


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Arranged]]:
    """The webserver's base URL on an instance that holds `arrange`'s runs."""
    folder = tmp_path_factory.mktemp("ui")
    with own_instance(folder, checkout_instance_config()) as instance:
        arranged = arrange(instance)
        with webserver(local_stack.free_ports(1)[0]) as graphql_url:
            yield graphql_url.removesuffix("/graphql"), arranged


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: $B8760_ARTEFACTS/ui, else ui-screenshots in pytest's tmp."""
    named = os.environ.get("B8760_ARTEFACTS")
    folder = Path(named) / "ui" if named else tmp_path_factory.getbasetemp() / "ui-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium; Playwright's own browser downloads are never used."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `make test` installs it (the Makefile's chromium target)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs as root with Debian's registry and must have it")
        pytest.skip(f"{reason} where apt-get can, as root")
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, ui: tuple[str, Arranged]) -> Iterator[Page]:
    """A page on the webserver, Dagster's first-visit newsletter dialog dismissed whenever it
    shows."""
    base_url, _ = ui
    with ui_page(browser, base_url) as opened:
        yield opened


@pytest.fixture
def screenshot(
    page: Page, artefacts: Path, request: pytest.FixtureRequest
) -> Callable[[str], None]:
    """Keeps what the page shows as <test>-<view>.png among the artefacts."""

    def take(view: str) -> None:
        page.screenshot(path=artefacts / f"{request.node.name}-{view}.png", full_page=True)

    return take


def section(page: Page, title: str) -> Locator:
    """A titled part of an asset's overview (Owners, Row count, Upstream assets, ...)."""
    return page.get_by_text(title, exact=True).first.locator("..")


def test_the_asset_graph_shows_a_connectors_three_assets_and_their_lineage(
    page: Page, ui: tuple[str, Arranged], screenshot: Callable[[str], None]
) -> None:
    _, arranged = ui
    page.goto(f"/locations/b8760/asset-groups/{CONNECTOR}/lineage")
    for name in (*CHAIN, "meters"):  # the meter registry: upstream of the warehouse links
        expect(visible(page, name)).to_be_visible()
    for kind in ("GCS", "Parquet", "BigQuery"):
        expect(page.get_by_text(kind, exact=True).first).to_be_visible()
    expect(page.get_by_role("img", name="csv").first).to_be_visible()  # an icon, no label
    expect(page.get_by_text("(1 failed)")).to_be_visible()  # the intake's failed hour
    screenshot("graph")

    page.goto(f"/assets/{CONNECTOR}/standardized_readings")
    expect(section(page, "Upstream assets")).to_contain_text(f"{CONNECTOR} / {CHAIN[0]}")
    expect(section(page, "Downstream assets")).to_contain_text(f"{CONNECTOR} / {CHAIN[2]}")
    expect(section(page, "Owners")).to_contain_text("participant_2")
    expect(section(page, "Row count")).to_contain_text(str(arranged.readings))
    expect(section(page, "Source code")).to_contain_text("assets.py")
    expect(visible(page, "interval_start")).to_be_visible()  # a row of the Columns table
    screenshot("overview")

    page.goto(f"/assets/{CONNECTOR}/{CHAIN[0]}")
    expect(section(page, "Kinds").get_by_role("img", name="csv")).to_be_visible()
    expect(page.get_by_role("link", name="manifest")).to_be_visible()


def test_the_partitions_view_tells_quiet_hours_from_failures(
    page: Page, ui: tuple[str, Arranged], screenshot: Callable[[str], None]
) -> None:
    """The sensor's quiet hour is materialized beside the real one; the failed hour is red;
    with Missing unticked, exactly those three hours are listed."""
    _, arranged = ui
    page.goto(f"/assets/{CONNECTOR}/{CHAIN[0]}?view=partitions")
    expect(page.get_by_text("Failed (1)")).to_be_visible()
    expect(page.get_by_text("Materialized (2)")).to_be_visible()
    expect(page.get_by_text(f"Missing ({arranged.partitions - 3})")).to_be_visible()
    page.get_by_text("Missing (").click()
    expect(page.get_by_text("3 Partitions Selected")).to_be_visible()
    for hour in (arranged.quiet, arranged.failed, arranged.taken_in):
        expect(visible(page, hour)).to_be_visible()
    screenshot("listed")

    page.goto(f"/assets/{CONNECTOR}/{CHAIN[0]}?view=partitions&partition={arranged.quiet}")
    expect(page.get_by_text("Materialized", exact=True).first).to_be_visible()
    expect(page.get_by_text(QUIET_HOUR)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="files")).to_contain_text("0")
    screenshot("quiet")


def test_a_failed_checks_reasons_show_in_the_checks_view(
    page: Page, screenshot: Callable[[str], None]
) -> None:
    page.goto(f"/assets/{CONNECTOR}/{CHAIN[0]}?view=checks")
    expect(visible(page, REJECTED_FILES_CHECK)).to_be_visible()
    expect(section(page, "Evaluation result")).to_contain_text("Failed")  # of the latest
    page.get_by_text("Show Markdown").click()
    reasons = page.get_by_role("dialog")
    expect(reasons).to_contain_text(BAD_UPLOAD)
    expect(reasons).to_contain_text("csv.unknown_unit")
    expect(reasons).to_contain_text('unit "kwh" is not a known unit')
    screenshot("reasons")
