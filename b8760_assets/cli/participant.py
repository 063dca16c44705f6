"""`b8760 participant credentials`: a participant's download account, its key, its revocation."""

from pathlib import Path

import click

from b8760_assets.access import gcp
from b8760_assets.access.accounts import planned_changes
from b8760_assets.access.names import participant_account_email, participant_account_id
from b8760_assets.access.participants import (
    download_grants,
    gcloud_issuing,
    gcloud_revoking,
    issue,
    key_ids,
    revoke,
    revoke_key,
)
from b8760_assets.access.policy import AccessScope, Policy, adding, platform_scope, removing
from b8760_assets.access.warehouse_views import Views, grant_views, withdraw_reader, write_views
from b8760_assets.cli.access import (
    PROJECT_OPTION,
    AccessErrorsAsMessages,
    echo_access,
    echo_changes,
    no_iam_here,
    platform_or_exit,
)
from b8760_assets.resources import warehouse_resource


@click.group(cls=AccessErrorsAsMessages)
def participant() -> None:
    """Participants: a download service account for one that asks for it."""


def _bucket(name: str) -> str:
    bucket = platform_or_exit().participants.get(name)
    if bucket is None:
        raise click.BadParameter(
            f"{name} is no participant of the platform (a participant is named by its "
            "connectors' properties.xml)",
            param_hint="PARTICIPANT",
        )
    return bucket


def _plan(
    name: str, bucket: str, scope: AccessScope, project: str | None, revoking: bool, key_file: Path
) -> None:
    """What the command would do, against the live policy in GCP or an empty one locally."""
    live = gcp.connect(project).policies.get if project else None
    grants = download_grants(name, bucket, scope)
    email = participant_account_email(name, scope.project)
    if revoking:

        def issued(bucket: str) -> Policy:  # the policy as issuing leaves it
            return adding(bucket, {}, grants)

        echo_changes(planned_changes(grants, removing, live or issued))
        click.echo(f"service account: {email} (keys deleted, disabled)")
        commands = gcloud_revoking(name, bucket, scope)
    else:
        click.echo(f"service account: {email} (created if missing)")
        echo_changes(planned_changes(grants, adding, live or (lambda bucket: {})))
        commands = gcloud_issuing(name, bucket, scope, key_file)
    click.echo("The same with gcloud:")
    for command in commands:
        click.echo(f"  {command}")


def _revoked(name: str, bucket: str, scope: AccessScope, project: str) -> None:
    done = revoke(gcp.connect(project), name, bucket, scope)
    for key in done.keys:
        click.echo(f"key deleted: {key.rsplit('/', 1)[-1]}")
    echo_changes(done.policies)
    change = withdraw_reader(warehouse_resource(project), name, scope)
    echo_access([change] if change else [])
    email = participant_account_email(name, scope.project)
    click.echo(f"service account: {email} {'disabled' if done.disabled else 'does not exist'}")


def _issued(
    name: str, bucket: str, scope: AccessScope, project: str, key_file: Path, new_key: bool
) -> None:
    iam = gcp.connect(project)
    done = issue(iam, name, bucket, scope, key_file, new_key)
    click.echo(f"service account: {done.email} ({done.account})")
    echo_changes(done.policies)
    warehouse = warehouse_resource(project)
    views = Views([name], [name], scope)
    for line in write_views(warehouse, views):
        click.echo(line)
    echo_access(grant_views(warehouse, views))
    click.echo(f"key: {done.key}")
    click.echo(f"keys: {', '.join(key_ids(iam, name, scope))}")


@participant.command()
@click.argument("name", metavar="PARTICIPANT")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the account's new key; default ./<account id>.json.",
)
@click.option("--new-key", is_flag=True, help="Make another key, for a rotation.")
@click.option("--revoke-key", "old_key", metavar="KEY_ID", help="Delete one key (the old one).")
@click.option(
    "--revoke", "revoking", is_flag=True, help="Delete every key, remove the grant, disable."
)
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would change.")
@PROJECT_OPTION
def credentials(
    name: str,
    key_file: Path | None,
    new_key: bool,
    old_key: str | None,
    revoking: bool,
    dry_run: bool,
    project: str | None,
) -> None:
    """A service account for PARTICIPANT that reads its own bucket and its views of the
    warehouse, and a key file to hand over (`gcloud auth activate-service-account
    --key-file ...`). Running it again makes no second key unless --new-key.

    With no project (the local stack, which has no IAM) it prints what it would do.
    """
    if sum((new_key, old_key is not None, revoking)) > 1:
        raise click.UsageError("give one of --new-key, --revoke-key and --revoke")
    bucket = _bucket(name)
    scope = platform_scope(project)
    key_file = key_file or Path(f"{participant_account_id(name)}.json")
    if project is None:
        no_iam_here(scope)
        click.echo("No account or key is made: the local stack's storage answers anyone.")
    if old_key and (project is None or dry_run):
        email = participant_account_email(name, scope.project)
        click.echo(f"key {old_key} of {email}: would be deleted")
    elif project is None or dry_run:
        _plan(name, bucket, scope, project, revoking, key_file)
    elif revoking:
        _revoked(name, bucket, scope, project)
    elif old_key:
        deleted = revoke_key(gcp.connect(project), name, scope, old_key)
        click.echo(f"key {old_key}: {'deleted' if deleted else 'no such key of the account'}")
    else:
        _issued(name, bucket, scope, project, key_file, new_key)
