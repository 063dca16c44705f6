"""The IAM policies the platform's configuration implies, and edits of live ones.

Policies are the JSON the GCS API reads and writes (`{"version": 3, "etag": ..., "bindings":
[{"role", "members", "condition"}]}`), a bucket's or a managed folder's. The platform reasons
in grants, one member's role in one policy under at most one condition, and edits a policy by
adding or removing grants, so that whatever else the policy holds (the project's owners,
other teams' grants) stays as is. A policy is named by its home: the bucket (`landing_zone`),
or the bucket and managed folder (`landing_zone/ext_conn1/`), as gs:// URLs write them.

How an external connector gets its landing folder is the platform's landing.access setting
(docs/onboarding.md, "Access at scale"): the seed's two conditional roles, one custom role
under one condition, or that role on a managed folder of its own, without condition.
"""

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from b8760_assets import settings
from b8760_assets.access.names import (
    Condition,
    account_member,
    landing_condition,
    participant_account_member,
    participant_group_domain,
    participant_member,
)
from b8760_assets.access.policy_limits import check_room
from b8760_assets.config import Platform
from b8760_assets.config.platform_settings import CONDITIONAL_ROLES, CUSTOM_ROLE, MANAGED_FOLDERS
from b8760_assets.layout import landing_prefix
from b8760_assets.local_stack import LOCAL_PROJECT

OBJECT_CREATOR = "roles/storage.objectCreator"
OBJECT_VIEWER = "roles/storage.objectViewer"
# The project's custom role of the custom_role and managed_folders modes: create and read by
# name, no list, so that one binding does what the two predefined roles do. One role for
# every connector: a project holds at most 300 custom roles (cloud.google.com/iam/quotas).
LANDING_ROLE_ID = "b8760LandingUploader"
LANDING_ROLE_PERMISSIONS = frozenset({"storage.objects.create", "storage.objects.get"})
LANDING_ROLE_TITLE = "b8760 landing uploader"
# Conditional role bindings exist only in version 3 policies; GCS refuses them in any other.
POLICY_VERSION = 3

Policy = dict  # a policy's JSON, as the GCS API has it


def policy_home(bucket: str, folder: str = "") -> str:
    """The bucket's policy, or with a folder (`ext_conn1/`) that managed folder's."""
    return f"{bucket}/{folder}" if folder else bucket


def split_home(home: str) -> tuple[str, str]:
    """The bucket and the managed folder ("" for the bucket's own policy) of a home."""
    bucket, _, folder = home.partition("/")
    return bucket, folder


def landing_role(project: str) -> str:
    """The custom role's name, as a binding names it."""
    return f"projects/{project}/roles/{LANDING_ROLE_ID}"


@dataclass(frozen=True)
class Grant:
    """One member's role on one bucket, or on one managed folder of it, limited by a
    condition or not."""

    bucket: str
    role: str
    member: str
    condition: Condition | None = None
    folder: str = ""  # the managed folder whose policy holds the grant; "": the bucket's

    @property
    def home(self) -> str:
        return policy_home(self.bucket, self.folder)

    def describe(self) -> str:
        limit = f" if {self.condition.expression}" if self.condition else " (unconditional)"
        return f"gs://{self.home}: {self.role} to {self.member}{limit}"


@dataclass(frozen=True)
class AccessScope:
    """Where the platform's grants live: the project (service accounts are in it), the
    landing bucket, the domain of the participants' groups, and how connectors are granted
    their landing folder."""

    project: str
    landing_bucket: str
    group_domain: str
    landing_access: str = CONDITIONAL_ROLES


def platform_scope(project: str | None, platform: Platform | None = None) -> AccessScope:
    """The scope of this deployment: the project (the local stack's when None), the landing
    bucket and the participants' group domain from the settings, and the platform's landing
    access (the seed's conditional roles without a platform)."""
    landing_access = platform.settings.landing_access if platform else CONDITIONAL_ROLES
    return AccessScope(
        project or LOCAL_PROJECT,
        settings.landing_bucket(),
        participant_group_domain(),
        landing_access,
    )


def connector_grants(connector: str, scope: AccessScope) -> list[Grant]:
    """An external connector's account may create and read by name objects in its landing
    folder, and not list them: two conditional roles, one conditional custom role, or the
    custom role on the connector's managed folder."""
    member = account_member(connector, scope.project)
    condition = landing_condition(connector, scope.landing_bucket)
    landing = scope.landing_bucket
    if scope.landing_access == CUSTOM_ROLE:
        return [Grant(landing, landing_role(scope.project), member, condition)]
    if scope.landing_access == MANAGED_FOLDERS:
        folder = landing_prefix(connector)
        return [Grant(landing, landing_role(scope.project), member, folder=folder)]
    return [Grant(landing, role, member, condition) for role in (OBJECT_CREATOR, OBJECT_VIEWER)]


def participant_grant(participant: str, bucket: str, scope: AccessScope) -> Grant:
    """A participant's group may read (and list) its own bucket, and nothing else."""
    return Grant(bucket, OBJECT_VIEWER, participant_member(participant, scope.group_domain))


def participant_account_grant(participant: str, bucket: str, scope: AccessScope) -> Grant:
    """A participant's download account reads (and lists) its own bucket, as its group does:
    Storage Object Viewer, no write, no other bucket."""
    return Grant(bucket, OBJECT_VIEWER, participant_account_member(participant, scope.project))


def desired_grants(
    platform: Platform, scope: AccessScope, download_accounts: Iterable[str] = ()
) -> list[Grant]:
    """Every grant the platform's configuration implies: its external connectors', its
    participants' groups', and the download accounts of these participants (made on
    request, so the caller says whose exist)."""
    grants = [
        grant
        for name, connector in platform.connectors.items()
        if connector.external
        for grant in connector_grants(name, scope)
    ]
    grants += [
        participant_grant(participant, bucket, scope)
        for participant, bucket in platform.participants.items()
    ]
    grants += [
        participant_account_grant(participant, platform.participants[participant], scope)
        for participant in download_accounts
    ]
    return grants


def grants_in(home: str, policy: Policy) -> list[Grant]:
    """The grants of a bucket's or managed folder's policy, one per member of each binding."""
    bucket, folder = split_home(home)
    return [
        Grant(
            bucket,
            binding["role"],
            member,
            Condition.from_json(binding["condition"]) if binding.get("condition") else None,
            folder,
        )
        for binding in policy.get("bindings", [])
        for member in binding.get("members", [])
    ]


def _binding_key(role: str, condition: Condition | None) -> tuple[str, str]:
    return role, condition.expression if condition else ""


def _bindings(
    grants: Iterable[Grant], titles: Mapping[tuple[str, str], Condition | None]
) -> list[dict]:
    """Grants grouped into bindings by role and condition, in a stable order."""
    members: dict[tuple[str, str], set[str]] = {}
    conditions: dict[tuple[str, str], Condition | None] = {}
    for grant in grants:
        key = _binding_key(grant.role, grant.condition)
        members.setdefault(key, set()).add(grant.member)
        conditions.setdefault(key, titles.get(key, grant.condition))
    bindings = []
    for key in sorted(members):
        binding: dict[str, Any] = {"role": key[0], "members": sorted(members[key])}
        condition = conditions[key]
        if condition is not None:
            binding["condition"] = condition.to_json()
        bindings.append(binding)
    return bindings


def with_grants(home: str, policy: Policy, grants: list[Grant]) -> Policy:
    """The policy holding exactly these grants, keeping its etag and its conditions' titles
    (whatever its size: adding is what refuses a policy IAM would not take)."""
    existing = {
        _binding_key(grant.role, grant.condition): grant.condition
        for grant in grants_in(home, policy)
    }
    rest = {key: value for key, value in policy.items() if key not in ("bindings", "version")}
    return {**rest, "version": POLICY_VERSION, "bindings": _bindings(grants, existing)}


def normalized(home: str, policy: Policy) -> Policy:
    """The policy in the platform's canonical form (sorted, version 3), same grants."""
    return with_grants(home, policy, grants_in(home, policy))


def adding(home: str, policy: Policy, grants: Iterable[Grant]) -> Policy:
    """The policy with these grants (of this home) added; adding twice changes nothing.

    PolicyFull if the grants would take it past what IAM accepts in one policy.
    """
    current = grants_in(home, policy)
    present = set(current)
    new = [grant for grant in grants if grant.home == home and grant not in present]
    after = with_grants(home, policy, current + list(dict.fromkeys(new)))
    if new:
        check_room(home, after)
    return after


def removing(home: str, policy: Policy, grants: Iterable[Grant]) -> Policy:
    """The policy without these grants; a binding left with no member disappears."""
    gone = {grant for grant in grants if grant.home == home}
    return with_grants(
        home, policy, [grant for grant in grants_in(home, policy) if grant not in gone]
    )


def same_grants(home: str, before: Policy, after: Policy) -> bool:
    """Whether two policies grant the same (order, etag and titles aside)."""
    return set(grants_in(home, before)) == set(grants_in(home, after))


def policy_json(policy: Policy) -> str:
    """A policy as stable, readable JSON (the etag left out: it is not part of the content)."""
    return json.dumps({k: v for k, v in policy.items() if k != "etag"}, indent=2, sort_keys=True)


def policy_diff(home: str, before: Policy, after: Policy) -> str:
    """A unified diff of the policy JSON of a bucket or managed folder; empty when nothing
    changes. The policy now is shown sorted as the platform writes it, at its own version."""
    now = {**normalized(home, before), "version": before.get("version", 1)}
    lines = difflib.unified_diff(
        policy_json(now).splitlines(),
        policy_json(after).splitlines(),
        fromfile=f"gs://{home} IAM policy (now)",
        tofile=f"gs://{home} IAM policy (after)",
        lineterm="",
    )
    return "\n".join(lines)
