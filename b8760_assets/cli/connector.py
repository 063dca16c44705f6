"""`b8760 connector onboard|offboard`: an external connector's configuration and access."""

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from textwrap import indent

import click

from b8760_assets.access import gcp
from b8760_assets.access.accounts import planned_changes
from b8760_assets.access.names import (
    UnsafeName,
    account_email,
    account_id,
    check_connector_name,
)
from b8760_assets.access.onboarding import (
    gcloud_offboarding,
    gcloud_onboarding,
    onboarding_grants,
    place_readme,
    readme_text,
)
from b8760_assets.access.onboarding import (
    offboard as offboard_in_gcp,
)
from b8760_assets.access.onboarding import (
    onboard as onboard_in_gcp,
)
from b8760_assets.access.policy import (
    AccessScope,
    Policy,
    adding,
    connector_grants,
    platform_scope,
    removing,
)
from b8760_assets.cli.access import (
    PROJECT_OPTION,
    AccessErrorsAsMessages,
    echo_changes,
    no_iam_here,
    platform_or_exit,
)
from b8760_assets.config import ConfigError, ConnectorProperties, Platform
from b8760_assets.config.new_connector import NewConnector, add_connector, try_connector
from b8760_assets.config.properties import DEFAULT_MAX_FILE_BYTES
from b8760_assets.layout import README_NAME, landing_prefix
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.resources import storage_resource


@click.group(cls=AccessErrorsAsMessages)
def connector() -> None:
    """External connectors: onboarding (configuration, account, grants, key, readme) and
    offboarding."""


def _checked_name(name: str, others: Iterable[str]) -> None:
    try:
        check_connector_name(name, others)
    except UnsafeName as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None


def _echo_commands(commands: list[str]) -> None:
    click.echo("The same with gcloud:")
    for command in commands:
        click.echo(f"  {command}")


def _existing(
    platform: Platform, name: str, participant: str, bucket: str | None
) -> ConnectorProperties | None:
    """The connector if it is already onboarded as asked (onboarding again is a no-op for its
    configuration); a connector of that name that is anything else is refused."""
    connector = platform.connectors.get(name)
    if connector is None:
        return None
    same_bucket = bucket in (None, connector.bucket)
    if not connector.external or connector.participant != participant or not same_bucket:
        kind = "an external" if connector.external else "an internal"
        raise click.ClickException(
            f"connector {name} exists: {kind} connector of {connector.participant} (bucket "
            f"{connector.bucket}), in {connector.source}; onboarding does not change it"
        )
    click.echo(f"properties.xml: {connector.source} exists, for {participant}: kept")
    return connector


def _configured(
    platform: Platform, new: NewConnector, landing_bucket: str, dry_run: bool
) -> ConnectorProperties:
    """The new connector's properties.xml, written (or, dry, checked in a copy)."""
    try:
        if dry_run:
            properties = try_connector(platform.root, new, landing_bucket).connectors[new.name]
        else:
            properties = add_connector(platform.root, new, landing_bucket).connectors[new.name]
    except ConfigError as error:
        raise click.ClickException(
            f"the connector's properties.xml would not be valid, so nothing was written:\n{error}"
        ) from None
    path = Path("connectors") / new.name / "properties.xml"
    if dry_run:
        click.echo(f"properties.xml: would write {platform.root / path}:")
        click.echo(indent(new.properties_xml(landing_bucket), "  "))
    else:
        click.echo(f"properties.xml: wrote {platform.root / path}")
    return properties


def _note_hours_before_onboarding(properties: ConnectorProperties, now: datetime) -> None:
    """Arrival hours are upload times and the connector cannot upload before it is onboarded,
    so a start before this hour makes hours that never take a file in, each Missing in the
    partitions view for good (Dagster has no cheap record of them as done: docs/scaling.md)."""
    before = (floor_hour(now) - properties.start_hour) // HOUR
    if before > 0:
        click.echo(
            f"note: data.start.hour {properties.start_hour:%Y-%m-%dT%H:%M:%SZ} is {before:,} "
            "hour(s) before this one; no upload can arrive in them, so each will read as Missing "
            "in the partitions view (the default, this hour, has none)"
        )


def _bucket_of(platform: Platform, participant: str, bucket: str | None) -> str:
    known = platform.participants.get(participant)
    if known is None:
        if bucket is None:
            raise click.UsageError(
                f"participant {participant} is new to the platform: give its bucket with --bucket"
            )
        return bucket
    if bucket not in (None, known):
        raise click.BadParameter(f"{participant}'s bucket is {known}", param_hint="--bucket")
    return known


def _readme(
    properties: ConnectorProperties, scope: AccessScope, project: str | None, dry_run: bool
) -> None:
    """The connector's readme.txt in its landing folder, through the platform's storage."""
    name = f"gs://{scope.landing_bucket}/{landing_prefix(properties.name)}{README_NAME}"
    text = readme_text(properties, scope.landing_bucket)
    if dry_run:
        click.echo(f"readme: would write {name}:")
        click.echo(indent(text, "  "))
        return
    storage = storage_resource(project=project)
    if project is None:
        storage.ensure_bucket(scope.landing_bucket)
    outcome = place_readme(storage, scope.landing_bucket, text, properties.name)
    click.echo(f"readme: {name} {outcome}")


@connector.command()
@click.argument("name")
@click.option("--participant", required=True, help="The participant that operates the connector.")
@click.option("--bucket", help="The participant's bucket, if the platform does not know it yet.")
@click.option("--timezone", default="UTC", show_default=True, help="data.timezone")
@click.option("--unit", default="kWh", show_default=True, help="data.unit")
@click.option("--start-hour", help="data.start.hour, e.g. 2024-01-01T00:00:00Z; default: this hour")
@click.option(
    "--max-bytes",
    type=int,
    default=DEFAULT_MAX_FILE_BYTES,
    show_default=True,
    help="file.max.bytes",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the account's new key; default ./<account id>.json.",
)
@click.option("--new-key", is_flag=True, help="Make a key even if the account has one already.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would change.")
@PROJECT_OPTION
def onboard(
    name: str,
    participant: str,
    bucket: str | None,
    timezone: str,
    unit: str,
    start_hour: str | None,
    max_bytes: int,
    key_file: Path | None,
    new_key: bool,
    dry_run: bool,
    project: str | None,
) -> None:
    """Onboard external connector NAME of --participant: its properties.xml, readme.txt in its
    landing folder, and in GCP its service account, conditional grants and key.

    Running it again changes nothing. With no project (the local stack, which has no IAM) the
    IAM part is printed, not applied.
    """
    platform = platform_or_exit()
    scope = platform_scope(project, platform)
    _checked_name(name, list(platform.connectors))
    if project is not None:  # a full policy refuses the connector before anything is written
        planned_changes(connector_grants(name, scope), adding, gcp.connect(project).policies.get)
    properties = _existing(platform, name, participant, bucket)
    if properties is None:
        now = datetime.now(UTC)
        new = NewConnector(
            name=name,
            participant=participant,
            bucket=_bucket_of(platform, participant, bucket),
            timezone=timezone,
            unit=unit,
            start_hour=start_hour or f"{now:%Y-%m-%dT%H:00:00Z}",
            max_file_bytes=max_bytes,
        )
        properties = _configured(platform, new, scope.landing_bucket, dry_run)
        _note_hours_before_onboarding(properties, now)
    _readme(properties, scope, project, dry_run)
    key_file = key_file or Path(f"{account_id(name)}.json")
    if project is not None and not dry_run:
        done = onboard_in_gcp(gcp.connect(project), properties, scope, key_file, new_key)
        click.echo(f"service account: {done.email} ({done.account})")
        echo_changes(done.policies)
        click.echo(f"key: {done.key}")
        return
    if project is None:
        no_iam_here(scope)
    current = gcp.connect(project).policies.get if project else lambda home: {}
    click.echo(f"service account: {account_email(name, scope.project)} (created if missing)")
    echo_changes(planned_changes(onboarding_grants(properties, scope), adding, current))
    _echo_commands(gcloud_onboarding(properties, scope, key_file))


@connector.command()
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would change.")
@PROJECT_OPTION
def offboard(name: str, dry_run: bool, project: str | None) -> None:
    """Remove external connector NAME's grants and disable its service account.

    Its properties.xml and data stay; `access audit` reports its grants as missing until the
    connector leaves the platform's configuration.
    """
    scope = platform_scope(project, platform_or_exit())
    _checked_name(name, [])
    grants = connector_grants(name, scope)
    if project is not None and not dry_run:
        changes, disabled = offboard_in_gcp(gcp.connect(project), name, scope)
        echo_changes(changes)
        email = account_email(name, scope.project)
        click.echo(f"service account: {email} {'disabled' if disabled else 'does not exist'}")
        return
    if project is None:
        no_iam_here(scope)

        def current(home: str) -> Policy:  # the policy as onboarding leaves it
            return adding(home, {}, grants)
    else:
        current = gcp.connect(project).policies.get
    echo_changes(planned_changes(grants, removing, current))
    click.echo(f"service account: {account_email(name, scope.project)} (disabled)")
    _echo_commands(gcloud_offboarding(name, scope))
