"""`b8760 access ...`: who may do what in the platform's buckets, and drift from the config."""

from typing import Any

import click
from google.api_core.exceptions import GoogleAPICallError
from google.auth.exceptions import DefaultCredentialsError

from b8760_assets import settings
from b8760_assets.access import gcp
from b8760_assets.access.accounts import buckets_of, change_policies, planned_changes
from b8760_assets.access.audit import audit as audit_policies
from b8760_assets.access.gcp import AccessError, PolicyChange
from b8760_assets.access.iam_model import Request, decide
from b8760_assets.access.names import UnsafeName
from b8760_assets.access.policy import (
    AccessScope,
    adding,
    desired_grants,
    grants_in,
    platform_scope,
    policy_diff,
    same_grants,
)
from b8760_assets.config import ConfigError, Platform, check_platform

NEEDS_PROJECT_EXIT = 2
PROJECT_OPTION = click.option(
    "--project",
    default=settings.gcp_project,
    help="The GCP project; default $B8760_GCP_PROJECT, unset meaning the local stack.",
)


class AccessErrorsAsMessages(click.Group):
    """Errors of IAM, GCP and the configuration already say what is wrong: show them, exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (AccessError, UnsafeName, ConfigError, DefaultCredentialsError) as error:
            raise click.ClickException(str(error)) from error
        except GoogleAPICallError as error:
            raise click.ClickException(f"{error.code} {error.message}") from error


def platform_or_exit() -> Platform:
    """The platform configuration, or every problem in it and exit 1."""
    root = settings.platform_dir()
    platform, problems = check_platform(root)
    if platform is None:
        listed = "\n".join(str(problem) for problem in problems)
        raise click.ClickException(f"the platform in {root} has problems:\n{listed}")
    return platform


def echo_changes(changes: list[PolicyChange]) -> None:
    """Each bucket's policy change as a JSON diff, or that it is unchanged."""
    for change in changes:
        if same_grants(change.bucket, change.before, change.after):
            click.echo(f"gs://{change.bucket} IAM policy: unchanged")
            continue
        state = "updated" if change.written else "to change"
        click.echo(f"gs://{change.bucket} IAM policy: {state}")
        click.echo(policy_diff(change.bucket, change.before, change.after))


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
        bucket = request.bucket
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--resource") from None
    if live:
        if project is None:
            raise click.UsageError("--live reads the bucket's policy in GCP: give --project")
        grants = grants_in(bucket, gcp.connect(project).policies.get(bucket))
        source = f"the live policy of gs://{bucket} in project {project}"
    else:
        scope = platform_scope(project)
        grants = desired_grants(platform_or_exit(), scope)
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
    scope = platform_scope(project)
    buckets = [scope.landing_bucket, *platform.participants.values()]
    policies = gcp.connect(project).policies
    live = {bucket: policies.get(bucket) for bucket in buckets}
    findings = audit_policies(desired_grants(platform, scope), live, scope.landing_bucket)
    for finding in findings:
        click.echo(str(finding))
    click.echo(f"{len(findings)} finding(s) in {', '.join(f'gs://{b}' for b in buckets)}")
    if findings:
        raise SystemExit(1)


@access.command()
@click.option("--dry-run", is_flag=True, help="Change nothing; print the policy diffs.")
@PROJECT_OPTION
def apply(dry_run: bool, project: str | None) -> None:
    """Add every grant the configuration implies that a bucket's policy lacks (the
    participants' download grants above all); nothing else in the policies changes.

    External connectors' accounts must exist: `b8760 connector onboard` creates them.
    """
    scope = platform_scope(project)
    grants = desired_grants(platform_or_exit(), scope)
    if project is None:
        no_iam_here(scope)
        echo_changes(planned_changes(grants, adding, lambda bucket: {}))
    elif dry_run:
        policies = gcp.connect(project).policies
        echo_changes(planned_changes(grants, adding, policies.get))
    else:
        echo_changes(change_policies(gcp.connect(project), grants, adding))
    click.echo(f"{len(grants)} grant(s) on {', '.join(buckets_of(grants))}")
