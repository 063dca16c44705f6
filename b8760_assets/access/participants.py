"""A participant's download account: a service account made on request, for a participant
that downloads with a key file rather than its staff's logins (its group).

It reads the participant's own bucket and nothing else, like the group. It is made, given
another key (a rotation) and revoked like a connector's account (accounts.py); revoking
deletes every key, removes the grant and disables the account.
"""

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from b8760_assets.access.accounts import (
    AccountSpec,
    Provisioned,
    gcloud_provisioning,
    gcloud_withdrawal,
    provision,
    withdraw,
)
from b8760_assets.access.gcp import AccessError, Iam, PolicyChange
from b8760_assets.access.names import participant_account_email, participant_account_id
from b8760_assets.access.policy import AccessScope, Grant, participant_account_grant

# A user-managed key's id, as `gcloud iam service-accounts keys list` shows it.
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{40}")


def download_account(participant: str, bucket: str) -> AccountSpec:
    return AccountSpec(
        participant_account_id(participant),
        display_name=f"b8760 participant {participant}",
        description=f"Downloads {participant}'s data from gs://{bucket} "
        "(b8760 participant credentials)",
    )


def download_grants(participant: str, bucket: str, scope: AccessScope) -> list[Grant]:
    return [participant_account_grant(participant, bucket, scope)]


def issue(
    iam: Iam,
    participant: str,
    bucket: str,
    scope: AccessScope,
    key_file: Path,
    new_key: bool = False,
) -> Provisioned:
    """The participant's account (made, or enabled again), its grant, and a key if it has
    none (or new_key: a second key, for a rotation)."""
    spec = download_account(participant, bucket)
    return provision(iam, spec, download_grants(participant, bucket, scope), key_file, new_key)


@dataclass(frozen=True)
class Revoked:
    """What revoking did: the keys deleted, the policy changes, whether an account was
    disabled (False: there was none)."""

    keys: list[str]
    policies: list[PolicyChange]
    disabled: bool


def revoke(iam: Iam, participant: str, bucket: str, scope: AccessScope) -> Revoked:
    """Delete the account's keys, remove its grant and disable it.

    Keys are deleted, not only stopped by the disabling: enabling the account again (a new
    request) must not bring an old key file back to life.
    """
    email = participant_account_email(participant, scope.project)
    keys = iam.accounts.user_keys(email) if iam.accounts.state(email) else []
    deleted = [key for key in keys if iam.accounts.delete_key(key)]
    changes, disabled = withdraw(iam, email, download_grants(participant, bucket, scope))
    return Revoked(deleted, changes, disabled)


def revoke_key(iam: Iam, participant: str, scope: AccessScope, key_id: str) -> bool:
    """Delete one key of the participant's account (the old one, after a rotation); False
    if the account has no such key."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise AccessError(
            f"{key_id!r} is not a key id: give the 40 hex digits that `b8760 participant "
            "credentials` (or `gcloud iam service-accounts keys list`) shows"
        )
    email = participant_account_email(participant, scope.project)
    return iam.accounts.delete_key(iam.accounts.key_name(email, key_id))


def key_ids(iam: Iam, participant: str, scope: AccessScope) -> list[str]:
    """The ids of the account's keys, for an operator choosing which one to revoke."""
    email = participant_account_email(participant, scope.project)
    return [name.rsplit("/", 1)[-1] for name in iam.accounts.user_keys(email)]


def with_accounts(iam: Iam, participants: Mapping[str, str], project: str) -> list[str]:
    """The participants whose download account exists and is enabled: those the platform
    keeps a grant for (a revoked account is disabled and has none)."""
    return [
        participant
        for participant in participants
        if iam.accounts.state(participant_account_email(participant, project)) == "enabled"
    ]


def gcloud_issuing(participant: str, bucket: str, scope: AccessScope, key_file: Path) -> list[str]:
    """The gcloud commands that do what `b8760 participant credentials` does."""
    spec = download_account(participant, bucket)
    grants = download_grants(participant, bucket, scope)
    return gcloud_provisioning(spec, grants, scope.project, key_file)


def gcloud_revoking(participant: str, bucket: str, scope: AccessScope) -> list[str]:
    """The gcloud commands that do what `--revoke` does (one `keys delete` per key)."""
    email = participant_account_email(participant, scope.project)
    delete = ["gcloud", "iam", "service-accounts", "keys", "delete", "KEY_ID"]
    return [
        shlex.join([*delete, f"--iam-account={email}"]),
        *gcloud_withdrawal(email, download_grants(participant, bucket, scope), scope.project),
    ]
