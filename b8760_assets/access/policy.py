"""The bucket IAM policies the platform's configuration implies, and edits of live ones.

Policies are the JSON the GCS API reads and writes (`{"version": 3, "etag": ..., "bindings":
[{"role", "members", "condition"}]}`). The platform reasons in grants, one member's role on
one bucket under at most one condition, and edits a policy by adding or removing grants, so
that whatever else the policy holds (the project's owners, other teams' grants) stays as is.
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
from b8760_assets.config import Platform
from b8760_assets.local_stack import LOCAL_PROJECT

OBJECT_CREATOR = "roles/storage.objectCreator"
OBJECT_VIEWER = "roles/storage.objectViewer"
# Conditional role bindings exist only in version 3 policies; GCS refuses them in any other.
POLICY_VERSION = 3

Policy = dict  # a policy's JSON, as the GCS API has it


@dataclass(frozen=True)
class Grant:
    """One member's role on one bucket, limited by a condition or not."""

    bucket: str
    role: str
    member: str
    condition: Condition | None = None

    def describe(self) -> str:
        limit = f" if {self.condition.expression}" if self.condition else " (unconditional)"
        return f"gs://{self.bucket}: {self.role} to {self.member}{limit}"


@dataclass(frozen=True)
class AccessScope:
    """Where the platform's grants live: the project (service accounts are in it), the
    landing bucket, and the domain of the participants' groups."""

    project: str
    landing_bucket: str
    group_domain: str


def platform_scope(project: str | None) -> AccessScope:
    """The scope of this deployment: the project (the local stack's when None), the landing
    bucket and the participants' group domain from the settings."""
    return AccessScope(
        project or LOCAL_PROJECT, settings.landing_bucket(), participant_group_domain()
    )


def connector_grants(connector: str, scope: AccessScope) -> list[Grant]:
    """An external connector's account may create and read objects in its landing folder."""
    member = account_member(connector, scope.project)
    condition = landing_condition(connector, scope.landing_bucket)
    return [
        Grant(scope.landing_bucket, role, member, condition)
        for role in (OBJECT_CREATOR, OBJECT_VIEWER)
    ]


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


def grants_in(bucket: str, policy: Policy) -> list[Grant]:
    """The grants of a bucket's policy, one per member of each binding."""
    return [
        Grant(
            bucket,
            binding["role"],
            member,
            Condition.from_json(binding["condition"]) if binding.get("condition") else None,
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


def _with_grants(bucket: str, policy: Policy, grants: list[Grant]) -> Policy:
    """The policy holding exactly these grants, keeping its etag and its conditions' titles."""
    existing = {
        _binding_key(grant.role, grant.condition): grant.condition
        for grant in grants_in(bucket, policy)
    }
    rest = {key: value for key, value in policy.items() if key not in ("bindings", "version")}
    return {**rest, "version": POLICY_VERSION, "bindings": _bindings(grants, existing)}


def normalized(bucket: str, policy: Policy) -> Policy:
    """The policy in the platform's canonical form (sorted, version 3), same grants."""
    return _with_grants(bucket, policy, grants_in(bucket, policy))


def adding(bucket: str, policy: Policy, grants: Iterable[Grant]) -> Policy:
    """The policy with these grants (of this bucket) added; adding twice changes nothing."""
    current = grants_in(bucket, policy)
    new = [grant for grant in grants if grant.bucket == bucket and grant not in current]
    return _with_grants(bucket, policy, current + list(dict.fromkeys(new)))


def removing(bucket: str, policy: Policy, grants: Iterable[Grant]) -> Policy:
    """The policy without these grants; a binding left with no member disappears."""
    gone = {grant for grant in grants if grant.bucket == bucket}
    return _with_grants(
        bucket, policy, [grant for grant in grants_in(bucket, policy) if grant not in gone]
    )


def same_grants(bucket: str, before: Policy, after: Policy) -> bool:
    """Whether two policies grant the same (order, etag and titles aside)."""
    return set(grants_in(bucket, before)) == set(grants_in(bucket, after))


def policy_json(policy: Policy) -> str:
    """A policy as stable, readable JSON (the etag left out: it is not part of the content)."""
    return json.dumps({k: v for k, v in policy.items() if k != "etag"}, indent=2, sort_keys=True)


def policy_diff(bucket: str, before: Policy, after: Policy) -> str:
    """A unified diff of the bucket's policy JSON; empty when nothing changes. The policy now
    is shown sorted as the platform writes it, at its own version."""
    now = {**normalized(bucket, before), "version": before.get("version", 1)}
    lines = difflib.unified_diff(
        policy_json(now).splitlines(),
        policy_json(after).splitlines(),
        fromfile=f"gs://{bucket} IAM policy (now)",
        tofile=f"gs://{bucket} IAM policy (after)",
        lineterm="",
    )
    return "\n".join(lines)
