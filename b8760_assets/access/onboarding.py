"""Onboarding and offboarding an external connector: its grants, account, key and readme.

Every step is idempotent, so a command that failed half-way is finished by running it again,
and running it twice changes nothing.
"""

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from b8760_assets.access.gcp import AccessError, Iam, PolicyChange
from b8760_assets.access.names import account_email, account_id
from b8760_assets.access.policy import (
    AccessScope,
    Grant,
    Policy,
    adding,
    connector_grants,
    participant_grant,
    removing,
)
from b8760_assets.config import ConnectorProperties
from b8760_assets.layout import README_NAME, landing_prefix
from b8760_assets.storage import StorageResource

PolicyEdit = Callable[[str, Policy, list[Grant]], Policy]
# Each format a connector may deliver, as its readme names it (docs/uploading.md has the rest).
FORMAT_SUMMARIES = {
    "csv": "csv (UTF-8, first line meter_id,start,end,value,unit)",
    "espi": "espi (Green Button ESPI XML, as your utility exports it)",
}


def onboarding_grants(connector: ConnectorProperties, scope: AccessScope) -> list[Grant]:
    """The connector's two landing grants, and its participant's download grant."""
    return [
        *connector_grants(connector.name, scope),
        participant_grant(connector.participant, connector.bucket, scope),
    ]


def buckets_of(grants: list[Grant]) -> list[str]:
    return list(dict.fromkeys(grant.bucket for grant in grants))


def readme_text(connector: ConnectorProperties, landing_bucket: str) -> str:
    """The short guide a connector reads by name at gs://<landing>/<connector>/readme.txt."""
    folder = f"gs://{landing_bucket}/{landing_prefix(connector.name)}"
    return f"""\
Benchmark 8760 landing zone: connector {connector.name}

Your folder     {folder}
Participant     {connector.participant}
File format     {", ".join(FORMAT_SUMMARIES[name] for name in connector.formats)}
Time zone       {connector.timezone} (for timestamps written without a UTC offset)
Default unit    {connector.unit} (when a row's unit is empty)
Largest file    {connector.max_file_bytes:,} bytes; empty files are refused

Your service account may create new objects in your folder and read them back by their
exact name. It cannot list objects, overwrite or delete them, or reach anything outside
your folder. Give every upload a new name, for example with the time you produced it.

  gcloud auth activate-service-account --key-file YOUR-KEY.json
  gsutil -h "x-goog-if-generation-match:0" cp FILE {folder}

Every hour the platform takes in the files waiting in your folder: a file that is no longer
there has been taken in. The full rules (format, names, what happens next) are in the Guide
on uploading, docs/uploading.md, which Benchmark 8760 support sends with your key.
"""


def place_readme(storage: StorageResource, landing_bucket: str, text: str, connector: str) -> str:
    """Write the connector's readme.txt; what was done: written, unchanged or replaced.

    The readme is the platform's, so a different one is replaced, at the generation read, so
    that two onboardings at once cannot both win.
    """
    name = landing_prefix(connector) + README_NAME
    data = text.encode()
    existing = storage.stat(landing_bucket, name)
    if existing is None:
        storage.write(landing_bucket, name, data, content_type="text/plain; charset=utf-8")
        return "written"
    if storage.read(landing_bucket, name, generation=existing.generation).data == data:
        return "unchanged"
    storage.write(
        landing_bucket,
        name,
        data,
        if_generation_match=existing.generation,
        content_type="text/plain; charset=utf-8",
    )
    return "replaced"


def planned_changes(
    grants: list[Grant], edit: PolicyEdit, current: Callable[[str], Policy]
) -> list[PolicyChange]:
    """What change_policies would do to the policies `current` returns, without writing."""
    changes = []
    for bucket in buckets_of(grants):
        before = current(bucket)
        changes.append(PolicyChange(bucket, before, edit(bucket, before, grants), written=False))
    return changes


def change_policies(iam: Iam, grants: list[Grant], edit: PolicyEdit) -> list[PolicyChange]:
    """Edit every bucket the grants are on, one read-modify-write each."""
    return [
        iam.policies.change(bucket, lambda bucket, policy: edit(bucket, policy, grants))
        for bucket in buckets_of(grants)
    ]


def write_key_file(path: Path, data: bytes) -> None:
    """The key file, readable by its owner only; an existing file is never replaced."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


@dataclass(frozen=True)
class Onboarded:
    """What onboarding did in GCP, step by step."""

    email: str
    account: str  # created, enabled or exists
    policies: list[PolicyChange]
    key: str  # what happened to the key, in words


def onboard(
    iam: Iam,
    connector: ConnectorProperties,
    scope: AccessScope,
    key_file: Path,
    new_key: bool = False,
) -> Onboarded:
    """Create (or find) the connector's account, add its grants, and make a key if it has
    none (or new_key): the account must exist before a policy may name it."""
    email, account = iam.accounts.ensure(
        account_id(connector.name),
        display_name=f"b8760 connector {connector.name}",
        description=f"Uploads {connector.participant}'s data to "
        f"gs://{scope.landing_bucket}/{landing_prefix(connector.name)} (b8760 connector onboard)",
    )
    changes = change_policies(iam, onboarding_grants(connector, scope), adding)
    keys = iam.accounts.user_keys(email)
    if keys and not new_key:
        key = f"not made: the account has {len(keys)} key(s) already (--new-key makes another)"
    elif key_file.exists():
        raise AccessError(f"{key_file} exists; give another --key-file for the new key")
    else:
        write_key_file(key_file, iam.accounts.create_key(email))
        key = f"written to {key_file}: hand it to the external party; it cannot be made again"
    return Onboarded(email, account, changes, key)


def offboard(iam: Iam, connector: str, scope: AccessScope) -> tuple[list[PolicyChange], bool]:
    """Remove the connector's grants and disable its account (its keys stop working).

    The participant's grant stays: the participant still owns its data.
    """
    changes = change_policies(iam, connector_grants(connector, scope), removing)
    return changes, iam.accounts.disable(account_email(connector, scope.project))


def gcloud_binding(verb: str, grant: Grant) -> str:
    """The gcloud command that adds (verb "add") or removes ("remove") one grant."""
    command = [
        "gcloud", "storage", "buckets", f"{verb}-iam-policy-binding", f"gs://{grant.bucket}",
        f"--member={grant.member}", f"--role={grant.role}",
    ]  # fmt: skip
    if grant.condition is None:
        command.append("--condition=None")  # gcloud asks otherwise, in a conditional policy
    else:
        command.append(
            f"--condition=expression={grant.condition.expression},title={grant.condition.title}"
        )
    return shlex.join(command)


def gcloud_onboarding(
    connector: ConnectorProperties, scope: AccessScope, key_file: Path
) -> list[str]:
    """The gcloud commands that do what `b8760 connector onboard` does in GCP."""
    email = account_email(connector.name, scope.project)
    readme = f"gs://{scope.landing_bucket}/{landing_prefix(connector.name)}{README_NAME}"
    return [
        shlex.join(
            [
                "gcloud",
                "iam",
                "service-accounts",
                "create",
                account_id(connector.name),
                f"--project={scope.project}",
                f"--display-name=b8760 connector {connector.name}",
            ]
        ),  # fmt: skip
        *(gcloud_binding("add", grant) for grant in onboarding_grants(connector, scope)),
        shlex.join(
            [
                "gcloud",
                "iam",
                "service-accounts",
                "keys",
                "create",
                str(key_file),
                f"--iam-account={email}",
            ]
        ),  # fmt: skip
        shlex.join(["gcloud", "storage", "cp", README_NAME, readme]),
    ]


def gcloud_offboarding(connector: str, scope: AccessScope) -> list[str]:
    """The gcloud commands that do what `b8760 connector offboard` does."""
    email = account_email(connector, scope.project)
    return [
        *(gcloud_binding("remove", grant) for grant in connector_grants(connector, scope)),
        shlex.join(
            ["gcloud", "iam", "service-accounts", "disable", email, f"--project={scope.project}"]
        ),
    ]
