"""`b8760 demo`: the platform's main job on the local stack, end to end, for a new user.

It runs on the demo's platform (demo_platform.py: the sample platform written under the state
dir, its connectors starting at the demo's hour, so that the partitions view shows no years of
hours before it as Missing). Connectors upload the sample files (CSV, and a Green Button feed)
through the GCS API (dated by the local stack into the last complete hour, as if uploaded
then), then the landing-zone connector's hour runs through Dagster (`dg launch`: real runs,
recorded in $DAGSTER_HOME's instance, visible in the UI), and the outcome of every file is
printed.
"""

import json
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import dagster as dg

from b8760_assets import local_stack, settings
from b8760_assets.access.onboarding import place_readme, readme_text
from b8760_assets.cli.warehouse import table as warehouse_table
from b8760_assets.config import Platform, load_platform
from b8760_assets.demo_platform import demo_platform_dir, write_demo_platform
from b8760_assets.landing.intake import describe, frozen_hours, read_manifest
from b8760_assets.layout import README_NAME, ConnectorLayout, hour_segment, meter_hour_name
from b8760_assets.partitions import HOUR, floor_hour, partition_of_hour
from b8760_assets.readings_table import READINGS_TABLE
from b8760_assets.resources import storage_resource, warehouse_resource
from b8760_assets.storage import GenerationConflict, StorageResource

SAMPLE_UPLOADS = settings.SAMPLE_PLATFORM_DIR / "uploads"
# The meter-hours a participant downloads: the seed document's
# /b/participant_1/o/coned/standardized/3/2021-11-08T14:00:00 (from a CSV file), and the first
# hour of ext_conn10's Green Button sample feed (sample_platform/licences/README.md).
DOWNLOADS = (
    ("participant_1", meter_hour_name("coned", "3", datetime(2021, 11, 8, 14, tzinfo=UTC))),
    ("participant_1", meter_hour_name("ext_conn10", "GB-1", datetime(2011, 1, 1, 8, tzinfo=UTC))),
)
# Between the dated uploads, so that they keep the order they were made in.
UPLOAD_SPACING = timedelta(seconds=1)
READINGS_SUMMARY_SQL = f"""
    SELECT connector, COUNT(*) AS readings,
           SUM(CASE WHEN meter_known THEN 1 ELSE 0 END) AS linked,
           SUM(CASE WHEN meter_known THEN 0 ELSE 1 END) AS unlinked
    FROM {READINGS_TABLE} GROUP BY connector ORDER BY connector
"""


def heading(text: str) -> None:
    click.secho(f"\n== {text}", bold=True)


def run_dg(step: str, *args: str) -> None:
    """Run `dg`, Dagster's CLI, of this environment in the checkout (the dg project), its log
    kept under the local state dir."""
    log_file = settings.state_dir() / "demo" / f"{step}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    click.echo("$ dg " + " ".join(args))
    with log_file.open("w") as log:
        command = [str(Path(sys.executable).parent / "dg"), *args]
        returncode = subprocess.run(
            command, cwd=settings.CHECKOUT_DIR, stdout=log, stderr=subprocess.STDOUT
        ).returncode
    if returncode != 0:
        tail = "\n".join(log_file.read_text().splitlines()[-30:])
        raise click.ClickException(f"dg {' '.join(args)} failed; from {log_file}:\n{tail}")
    click.echo(f"  ok (log: {log_file})")


def failed_checks() -> list[str]:
    """The checks that failed in the instance's latest run, each with its first case (one
    sample file has a spike on purpose)."""
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(limit=1)
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    lines = []
    for event in events:
        evaluation = event.dagster_event.event_specific_data if event.dagster_event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            table = evaluation.metadata.get("first_cases")
            first = str(table.value).splitlines()[2] if table and "|" in str(table.value) else ""
            lines.append(
                f"check {evaluation.check_name} failed ({evaluation.severity.value}) {first}"
            )
    return lines


def demo_layouts(platform: Platform) -> list[ConnectorLayout]:
    """The layouts of the connectors that the sample uploads are for."""
    return [
        ConnectorLayout(platform.connectors[folder.name], settings.landing_bucket())
        for folder in sorted(SAMPLE_UPLOADS.iterdir())
    ]


def free_hour(storage: StorageResource, layouts: list[ConnectorLayout]) -> datetime:
    """The last complete hour, or an earlier one if a previous demo already took that hour
    in: an hour's set of files is frozen once taken."""
    hour = floor_hour(datetime.now(UTC)) - HOUR
    while any(frozen_hours(storage, layout, [hour]) for layout in layouts):
        hour -= HOUR
    return hour


@click.command()
def demo() -> None:
    """Start the local stack, upload the sample files, run each connector's chain for the
    hour, download a meter-hour over HTTP and summarize the warehouse."""
    if settings.gcp_project():
        raise click.ClickException("the demo runs on the local stack: unset B8760_GCP_PROJECT")
    chosen = os.environ.get("B8760_PLATFORM_DIR")
    if chosen and Path(chosen).resolve() != demo_platform_dir().resolve():
        raise click.ClickException(
            f"the demo runs on the platform it writes, {demo_platform_dir()} (the sample "
            "platform, starting at the demo's hour): unset B8760_PLATFORM_DIR"
        )
    heading("local stack")
    for service in local_stack.start_all():
        click.echo(f"{service.name:<9} {service.url}")

    storage = storage_resource()
    landing_bucket = settings.landing_bucket()
    storage.ensure_bucket(landing_bucket)
    sample_layouts = demo_layouts(load_platform(settings.SAMPLE_PLATFORM_DIR))
    for layout in sample_layouts:
        storage.ensure_bucket(layout.bucket)
    hour = free_hour(storage, sample_layouts)
    platform = write_demo_platform(hour)
    # The dg runs below, and what reads the settings in this process, use the demo's platform.
    os.environ["B8760_PLATFORM_DIR"] = str(platform.root)
    start = min(connector.start_hour for connector in platform.connectors.values())
    heading(f"platform configuration: {platform.root}")
    click.echo(
        f"{len(platform.connectors)} connectors ({', '.join(platform.connectors)}), "
        f"{len(platform.participants)} participants, {len(platform.meters)} meters: the sample "
        f"platform, its arrival hours from {hour_segment(start)} UTC (the demo's first)"
    )

    heading("connectors upload their files to the landing zone (GCS API, create-only)")
    layouts = demo_layouts(platform)
    for number, path in enumerate(sorted(SAMPLE_UPLOADS.glob("*/*"))):
        name = f"{path.parent.name}/{path.name}"
        try:
            uploaded = storage.upload_file(landing_bucket, name, path)
            click.echo(f"{uploaded.uri} ({uploaded.size} bytes)")
        except GenerationConflict:
            click.echo(f"gs://{landing_bucket}/{name} is already waiting")
        # An hour takes in only what was uploaded before it ended: the local stack dates the
        # uploads into the hour the demo runs, as if the connectors had uploaded them then.
        local_stack.backdate_upload(landing_bucket, name, hour + number * UPLOAD_SPACING)
    click.echo(f"(dated as uploaded from {hour_segment(hour)} UTC on: the local stack's clock)")

    # What onboarding leaves for each external connector, so that the seed's
    # `gsutil cp gs://landing_zone/ext_conn1/readme.txt ...` works after the demo.
    for connector in platform.connectors.values():
        if connector.external:
            outcome = place_readme(
                storage, landing_bucket, readme_text(connector, landing_bucket), connector.name
            )
            click.echo(f"gs://{landing_bucket}/{connector.name}/{README_NAME} {outcome}")

    heading("definitions and the meter registry")
    run_dg("validate", "check", "defs")
    run_dg("meter_registry", "launch", "--assets", "warehouse/meters")

    heading(f"each connector's chain runs for arrival hour {hour_segment(hour)}")
    for layout in layouts:
        run_dg(
            layout.connector.name,
            "launch", "--assets", f"group:{layout.connector.name}",
            "--partition", partition_of_hour(hour),
        )  # fmt: skip
        manifest, _ = read_manifest(storage, layout, hour)
        for entry in manifest.files:
            click.echo(f"  {layout.connector.name}/{entry.name}: {describe(entry)}")
            click.echo(f"    -> {entry.archived_as}")
        for line in failed_checks():
            click.echo(f"  {line}")

    heading("a participant downloads meter-hours (the seed's download contract): CSV, Green Button")
    for bucket, name in DOWNLOADS:
        url = storage.download_url(bucket, name)
        click.echo(f"GET {url}")
        with urllib.request.urlopen(url, timeout=30) as response:
            click.echo(json.dumps(json.loads(response.read()), indent=2))

    heading("warehouse: readings linked to meters")
    click.echo(warehouse_table(warehouse_resource().query(READINGS_SUMMARY_SQL)))

    heading("where to look")
    click.echo("Dagster UI:    make dev, then http://127.0.0.1:3000 (the runs above are there)")
    click.echo("Local stack:   .venv/bin/b8760 local status   (stop it with: make stop)")
    click.echo(f"Uploads:       gs://{landing_bucket}/<connector>/ (waiting files only)")
    click.echo("Archive:       gs://<participant>/<connector>/raw|rejected|checked|reasons/<hour>/")
    click.echo('gsutil:        eval "$(.venv/bin/b8760 local env)" points it at the local stack:')
    click.echo(
        f"               .venv/bin/gsutil cp gs://{landing_bucket}/ext_conn1/{README_NAME} "
        "local-readme.txt"
    )
