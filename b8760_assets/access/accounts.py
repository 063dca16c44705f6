"""Service accounts the platform makes for others, with their grants and key files.

An external connector's upload account and a participant's download account are made,
checked and withdrawn the same way: the account first (a policy may name only an account
that exists), then its grants, then a key if it has none. Every step is idempotent, so a
command that failed half-way is finished by running it again.
"""

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from b8760_assets.access.gcp import AccessError, Iam, PolicyChange
from b8760_assets.access.names import service_account_email
from b8760_assets.access.policy import (
    LANDING_ROLE_ID,
    LANDING_ROLE_PERMISSIONS,
    LANDING_ROLE_TITLE,
    Grant,
    Policy,
    adding,
    landing_role,
    removing,
)

PolicyEdit = Callable[[str, Policy, list[Grant]], Policy]


@dataclass(frozen=True)
class AccountSpec:
    """An account the platform makes: its id and what people read about it in IAM."""

    id: str
    display_name: str
    description: str

    def email(self, project: str) -> str:
        return service_account_email(self.id, project)


@dataclass(frozen=True)
class Provisioned:
    """What making (or finding) an account did in GCP, step by step."""

    email: str
    account: str  # created, enabled or exists
    policies: list[PolicyChange]
    key: str  # what happened to the key, in words


def homes_of(grants: list[Grant]) -> list[str]:
    """The policies (buckets', managed folders') the grants are in, in order."""
    return list(dict.fromkeys(grant.home for grant in grants))


def planned_changes(
    grants: list[Grant], edit: PolicyEdit, current: Callable[[str], Policy]
) -> list[PolicyChange]:
    """What change_policies would do to the policies `current` returns, without writing."""
    changes = []
    for home in homes_of(grants):
        before = current(home)
        changes.append(PolicyChange(home, before, edit(home, before, grants), written=False))
    return changes


def change_policies(iam: Iam, grants: list[Grant], edit: PolicyEdit) -> list[PolicyChange]:
    """Edit every policy the grants are in, one read-modify-write each."""
    return [
        iam.policies.change(home, lambda home, policy: edit(home, policy, grants))
        for home in homes_of(grants)
    ]


def granting(iam: Iam, grants: list[Grant]) -> list[PolicyChange]:
    """Add the grants; the platform's custom role first, if they name it (a policy may name
    only a role that exists)."""
    if any(grant.role == iam.roles.name for grant in grants):
        iam.roles.ensure()
    return change_policies(iam, grants, adding)


def write_key_file(path: Path, data: bytes) -> None:
    """The key file, readable by its owner only; an existing file is never replaced."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def issue_key(iam: Iam, email: str, key_file: Path, new_key: bool) -> str:
    """A key in key_file if the account has none (or new_key, for a rotation); in words."""
    keys = iam.accounts.user_keys(email)
    if keys and not new_key:
        return f"not made: the account has {len(keys)} key(s) already (--new-key makes another)"
    if key_file.exists():
        raise AccessError(f"{key_file} exists; give another --key-file for the new key")
    write_key_file(key_file, iam.accounts.create_key(email))
    return f"written to {key_file}: hand it over; it cannot be made again"


def provision(
    iam: Iam, spec: AccountSpec, grants: list[Grant], key_file: Path, new_key: bool
) -> Provisioned:
    """Create (or find, or enable) the account, add the grants, and make a key if needed."""
    email, account = iam.accounts.ensure(spec.id, spec.display_name, spec.description)
    changes = granting(iam, grants)
    return Provisioned(email, account, changes, issue_key(iam, email, key_file, new_key))


def withdraw(iam: Iam, email: str, grants: list[Grant]) -> tuple[list[PolicyChange], bool]:
    """Remove the account's grants and disable it (its keys stop working); whether there
    was an account to disable."""
    return change_policies(iam, grants, removing), iam.accounts.disable(email)


def gcloud_binding(verb: str, grant: Grant) -> str:
    """The gcloud command that adds (verb "add") or removes ("remove") one grant."""
    kind = "managed-folders" if grant.folder else "buckets"
    command = [
        "gcloud", "storage", kind, f"{verb}-iam-policy-binding", f"gs://{grant.home}",
        f"--member={grant.member}", f"--role={grant.role}",
    ]  # fmt: skip
    if grant.condition is not None:
        condition = grant.condition
        command.append(f"--condition=expression={condition.expression},title={condition.title}")
    elif not grant.folder:
        command.append("--condition=None")  # gcloud asks otherwise, in a conditional policy
    return shlex.join(command)


def gcloud_granting(grants: list[Grant], project: str) -> list[str]:
    """The gcloud commands that do what granting does: the custom role and the managed
    folders the grants need, then the bindings."""
    role = [
        "gcloud", "iam", "roles", "create", LANDING_ROLE_ID, f"--project={project}",
        f"--title={LANDING_ROLE_TITLE}", "--stage=GA",
        f"--permissions={','.join(sorted(LANDING_ROLE_PERMISSIONS))}",
    ]  # fmt: skip
    folders = [
        shlex.join(["gcloud", "storage", "managed-folders", "create", f"gs://{home}"])
        for home in homes_of([grant for grant in grants if grant.folder])
    ]
    needs_role = any(grant.role == landing_role(project) for grant in grants)
    return [
        *([shlex.join(role)] if needs_role else []),
        *folders,
        *(gcloud_binding("add", grant) for grant in grants),
    ]


def gcloud_provisioning(
    spec: AccountSpec, grants: list[Grant], project: str, key_file: Path
) -> list[str]:
    """The gcloud commands that do what provision does."""
    create = [
        "gcloud", "iam", "service-accounts", "create", spec.id,
        f"--project={project}", f"--display-name={spec.display_name}",
    ]  # fmt: skip
    key = [
        "gcloud", "iam", "service-accounts", "keys", "create", str(key_file),
        f"--iam-account={spec.email(project)}",
    ]  # fmt: skip
    return [shlex.join(create), *gcloud_granting(grants, project), shlex.join(key)]


def gcloud_withdrawal(email: str, grants: list[Grant], project: str) -> list[str]:
    """The gcloud commands that do what withdraw does."""
    disable = ["gcloud", "iam", "service-accounts", "disable", email, f"--project={project}"]
    return [*(gcloud_binding("remove", grant) for grant in grants), shlex.join(disable)]
