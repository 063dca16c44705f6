"""`b8760 access ...`: who may do what in the platform's buckets and warehouse, and drift
from the configuration."""

import json

import click
from google.auth.exceptions import DefaultCredentialsError

from b8760_assets import settings
from b8760_assets.access import gcp
from b8760_assets.access.accounts import granting, homes_of, planned_changes
from b8760_assets.access.audit import audit as audit_policies
from b8760_assets.access.gcp import AccessError, PolicyChange
from b8760_assets.access.iam_model import Request, decide
from b8760_assets.access.names import UnsafeName
from b8760_assets.access.participants import with_accounts
from b8760_assets.access.policy import (
    AccessScope,
    Grant,
    adding,
    desired_grants,
    grants_in,
    platform_scope,
    policy_diff,
    policy_home,
    same_grants,
)
from b8760_assets.access.policy_limits import PolicyFull, fullness_report
from b8760_assets.access.warehouse_views import (
    APPLY_FIXES,
    Views,
    audit_views,
    grant_views,
    view_dataset,
    write_views,
)
from b8760_assets.cli.messages import ErrorsAsMessages
from b8760_assets.config import ConfigError, Platform, check_platform
from b8760_assets.resources import warehouse_resource
from b8760_assets.warehouse import AccessChange, NotAView, WarehouseResource

NEEDS_PROJECT_EXIT = 2
PROJECT_OPTION = click.option(
    "--project",
    default=settings.gcp_project,
    help="The GCP project; default $B8760_GCP_PROJECT, unset meaning the local stack.",
)


class AccessErrorsAsMessages(ErrorsAsMessages):
    """Errors of IAM, GCP and the configuration already say what is wrong: show them, exit 1."""

    shown = (AccessError, UnsafeName, ConfigError, NotAView, DefaultCredentialsError, PolicyFull)


def platform_or_exit() -> Platform:
    """The platform configuration, or every problem in it and exit 1."""
    root = settings.platform_dir()
    platform, problems = check_platform(root)
    if platform is None:
        listed = "\n".join(str(problem) for problem in problems)
        raise click.ClickException(f"the platform in {root} has problems:\n{listed}")
    return platform


def echo_changes(changes: list[PolicyChange]) -> None:
    """Each policy's change (a bucket's, a managed folder's) as a JSON diff, or that it is
    unchanged."""
    for change in changes:
        if same_grants(change.home, change.before, change.after):
            click.echo(f"gs://{change.home} IAM policy: unchanged")
            continue
        state = "updated" if change.written else "to change"
        click.echo(f"gs://{change.home} IAM policy: {state}")
        click.echo(policy_diff(change.home, change.before, change.after))


def echo_access(changes: list[AccessChange]) -> None:
    """Each dataset's access change as the entries added (+) and removed (-)."""
    for change in changes:
        added = [entry for entry in change.after if entry not in change.before]
        removed = [entry for entry in change.before if entry not in change.after]
        if not added and not removed:
            click.echo(f"dataset {change.dataset} access: unchanged")
            continue
        click.echo(
            f"dataset {change.dataset} access: {'updated' if change.written else 'to change'}"
        )
        for sign, entries in (("-", removed), ("+", added)):
            for entry in entries:
                click.echo(f"  {sign} {json.dumps(entry, sort_keys=True)}")


def no_iam_here(scope: AccessScope) -> None:
    click.echo(
        "The local stack has no IAM: nothing is granted here. In GCP (--project, or "
        f"$B8760_GCP_PROJECT) this is what would be applied (shown for project {scope.project}):"
    )


@click.group(cls=AccessErrorsAsMessages)
def access() -> None:
    """Bucket IAM: the grants the platform's configuration implies, checked and audited."""


@access.command()
@click.option("--principal", required=True, help="e.g. serviceAccount:b8760-ext-conn1@P.iam...")
@click.option("--permission", required=True, help="e.g. storage.objects.get")
@click.option(
    "--resource",
    required=True,
    help="projects/_/buckets/<bucket>[/objects/<name>], e.g. "
    "projects/_/buckets/landing_zone/objects/ext_conn10/a.csv",
)
@click.option("--live", is_flag=True, help="Evaluate the bucket's live policy (GCP only).")
@PROJECT_OPTION
def check(principal: str, permission: str, resource: str, live: bool, project: str | None) -> None:
    """Would GCS allow PRINCIPAL PERMISSION on RESOURCE? Prints allow or deny (exit 0 or 1)
    and the grant that decided, as GCS IAM evaluates the bucket's policy."""
    request = Request(principal, permission, resource)
    try:
        homes = _live_homes(request)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--resource") from None
    if live:
        if project is None:
            raise click.UsageError("--live reads the bucket's policy in GCP: give --project")
        policies = gcp.connect(project).policies
        grants = [grant for home in homes for grant in grants_in(home, policies.get(home))]
        source = f"the live policy of {', '.join(f'gs://{h}' for h in homes)} in project {project}"
    else:
        platform = platform_or_exit()
        scope = platform_scope(project, platform)
        grants = desired_grants(platform, scope, download_accounts=platform.participants)
        source = f"the grants {settings.platform_dir()} implies (project {scope.project})"
    decision = decide(grants, request)
    click.echo("allow" if decision.allowed else "deny")
    click.echo(f"  policy:     {source}")
    if request.checked_resource != resource:
        click.echo(f"  checked on: {request.checked_resource} ({permission} is bucket-wide)")
    if decision.grant is not None:
        click.echo(f"  decided by: {decision.grant.describe()}")
    click.echo(f"  because:    {decision.reason}")
    if not decision.allowed:
        raise SystemExit(1)


def _live_homes(request: Request) -> list[str]:
    """The policies that may decide the request: the bucket's, and the managed folder at the
    top of the object's name, where the platform puts a connector's (if it exists)."""
    folder, slash, _ = request.checked_name.partition("/")
    return [request.bucket, *([policy_home(request.bucket, folder + slash)] if slash else [])]


@access.command()
@PROJECT_OPTION
def audit(project: str | None) -> None:
    """Compare the live policies of the landing bucket and the participants' buckets with the
    grants the configuration implies; every finding a line, exit 1 if any."""
    if project is None:
        click.echo(
            "access audit reads the live bucket policies, and the local stack has none (no "
            "IAM). Give --project (or set B8760_GCP_PROJECT); `b8760 access check` evaluates "
            "the configured grants without GCP.",
            err=True,
        )
        raise SystemExit(NEEDS_PROJECT_EXIT)
    platform = platform_or_exit()
    scope = platform_scope(project, platform)
    buckets = [scope.landing_bucket, *platform.participants.values()]
    iam = gcp.connect(project)
    accounts = with_accounts(iam, platform.participants, project)
    desired = desired_grants(platform, scope, accounts)
    homes = dict.fromkeys([*buckets, *(grant.home for grant in desired)])
    live = {home: iam.policies.get(home) for home in homes}
    findings: list[object] = [*audit_policies(desired, live, scope.landing_bucket)]
    warehouse = warehouse_resource(project)
    findings += audit_views(warehouse, Views(list(platform.participants), accounts, scope))
    for line in [*map(str, findings), *fullness_report(live)]:
        click.echo(line)
    datasets = [
        warehouse.dataset,
        *(view_dataset(warehouse.dataset, p) for p in platform.participants),
    ]
    click.echo(
        f"{len(findings)} finding(s) in {', '.join(f'gs://{b}' for b in buckets)}; "
        f"datasets {', '.join(datasets)}"
    )
    if findings:
        raise SystemExit(1)


@access.command()
@click.option("--dry-run", is_flag=True, help="Change nothing; print the policy diffs.")
@PROJECT_OPTION
def apply(dry_run: bool, project: str | None) -> None:
    """Add every grant the configuration implies that a bucket's policy lacks (the
    participants' download grants above all), and write each participant's views of the
    warehouse with their access; nothing else in the policies changes.

    External connectors' accounts must exist: `b8760 connector onboard` creates them.
    """
    platform = platform_or_exit()
    scope = platform_scope(project, platform)
    participants = list(platform.participants)
    if project is None:
        grants = desired_grants(platform, scope)
        no_iam_here(scope)
        echo_changes(planned_changes(grants, adding, lambda bucket: {}))
        _local_views(Views(participants, [], scope), dry_run)
    else:
        iam = gcp.connect(project)
        accounts = with_accounts(iam, platform.participants, project)
        grants = desired_grants(platform, scope, accounts)
        _apply_in_gcp(
            iam, grants, warehouse_resource(project), Views(participants, accounts, scope), dry_run
        )
    click.echo(f"{len(grants)} grant(s) on {', '.join(homes_of(grants))}")


def _local_views(views: Views, dry_run: bool) -> None:
    """The views, which the emulator honours; not their access, which it does not enforce."""
    if not dry_run:
        for line in write_views(warehouse_resource(), views):
            click.echo(line)
    click.echo(
        "dataset access: not written: the local warehouse answers anyone. In BigQuery the "
        "platform's dataset authorizes each participant's views, and only the participant's "
        "group (and download account) reads them."
    )


def _apply_in_gcp(
    iam: gcp.Iam, grants: list[Grant], warehouse: WarehouseResource, views: Views, dry_run: bool
) -> None:
    if dry_run:
        echo_changes(planned_changes(grants, adding, iam.policies.get))
        for finding in audit_views(warehouse, views):
            if finding.kind in APPLY_FIXES:
                click.echo(f"would fix: {finding}")
        return
    echo_changes(granting(iam, grants))
    for line in write_views(warehouse, views):
        click.echo(line)
    echo_access(grant_views(warehouse, views))
