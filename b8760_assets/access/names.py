"""The names access is made of: service accounts, members, resource names and conditions.

A connector's name ends up in a GCS object-name prefix and, quoted, inside a CEL literal of
an IAM condition, so every name is checked here before it reaches either.
"""

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from b8760_assets.config.properties import BUCKET_PATTERN
from b8760_assets.config.values import NAME_PATTERN
from b8760_assets.layout import landing_prefix

ACCOUNT_PREFIX = "b8760-"
# A participant's download account. Not `b8760-` and more: a connector could be called
# `dl_participant_1`, and every id that begins `b8760-` may be a connector's.
PARTICIPANT_ACCOUNT_PREFIX = "b8760dl-"
# IAM's rule for a service account id: 6 to 30 characters, a lowercase letter first, then
# lowercase letters, digits and hyphens, not ending in a hyphen.
ACCOUNT_ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
MAX_ACCOUNT_ID = 30
DEFAULT_GROUP_DOMAIN = "benchmark8760.org"
# Members GCS puts in every bucket's policy for the project's owners, editors and viewers.
PROJECT_MEMBER_KINDS = ("projectOwner:", "projectEditor:", "projectViewer:")


class UnsafeName(ValueError):
    """A name that cannot become a landing prefix, a service account or an IAM literal."""


def participant_group_domain() -> str:
    """The Google Workspace / Cloud Identity domain of the participants' groups."""
    return os.environ.get("B8760_PARTICIPANT_GROUP_DOMAIN") or DEFAULT_GROUP_DOMAIN


def bucket_resource(bucket: str) -> str:
    """A bucket as IAM names it: what bucket-wide permissions (list) are checked against."""
    return f"projects/_/buckets/{bucket}"


def object_resource(bucket: str, name: str) -> str:
    """An object as IAM names it in `resource.name`."""
    return f"{bucket_resource(bucket)}/objects/{name}"


def _account_id(prefix: str, name: str, kind: str) -> str:
    """The prefix and the name with hyphens for underscores: platform names have no hyphen,
    so two names never share an id."""
    candidate = prefix + name.replace("_", "-")
    if not ACCOUNT_ID_PATTERN.fullmatch(candidate):
        raise UnsafeName(
            f"{kind} {name!r} gives the service account id {candidate!r}, which IAM refuses: "
            f"the name has at most {MAX_ACCOUNT_ID - len(prefix)} characters and does not end "
            "in '_'"
        )
    return candidate


def account_id(connector: str) -> str:
    """The external connector's service account id: `b8760-ext-conn1` for `ext_conn1`."""
    return _account_id(ACCOUNT_PREFIX, connector, "connector")


def participant_account_id(participant: str) -> str:
    """The participant's download account id: `b8760dl-participant-1` for `participant_1`."""
    return _account_id(PARTICIPANT_ACCOUNT_PREFIX, participant, "participant")


def service_account_email(account: str, project: str) -> str:
    """The email of the service account with this id in the project."""
    return f"{account}@{project}.iam.gserviceaccount.com"


def account_email(connector: str, project: str) -> str:
    return service_account_email(account_id(connector), project)


def account_member(connector: str, project: str) -> str:
    return f"serviceAccount:{account_email(connector, project)}"


def participant_account_email(participant: str, project: str) -> str:
    return service_account_email(participant_account_id(participant), project)


def participant_account_member(participant: str, project: str) -> str:
    return f"serviceAccount:{participant_account_email(participant, project)}"


def participant_member(participant: str, domain: str) -> str:
    """The group whose members download a participant's data: `b8760-participant-1@<domain>`.

    A group, not people: support adds and removes a participant's staff in the group, and
    the bucket policy never changes for it.
    """
    return f"group:{ACCOUNT_PREFIX}{participant.replace('_', '-')}@{domain}"


@dataclass(frozen=True)
class Condition:
    """An IAM condition; two are the same when their expressions are (titles are for people)."""

    expression: str
    title: str = field(default="", compare=False)
    description: str = field(default="", compare=False)

    def to_json(self) -> dict[str, str]:
        body = {"title": self.title, "expression": self.expression}
        return body | ({"description": self.description} if self.description else {})

    @classmethod
    def from_json(cls, body: dict[str, str]) -> "Condition":
        return cls(body["expression"], body.get("title", ""), body.get("description", ""))


def landing_condition(connector: str, landing_bucket: str) -> Condition:
    """The condition that limits a connector's roles to its own landing folder.

    It matches object names only, never the bucket itself, which is what denies listing.
    """
    check_connector_name(connector)
    if not BUCKET_PATTERN.fullmatch(landing_bucket):
        raise UnsafeName(f"{landing_bucket!r} is not a bucket name that is safe in a condition")
    prefix = object_resource(landing_bucket, landing_prefix(connector))
    return Condition(
        expression=f'resource.name.startsWith("{prefix}")',
        title=f"landing folder {landing_prefix(connector)}",
    )


def check_connector_name(name: str, others: Iterable[str] = ()) -> None:
    """Raise UnsafeName unless name is a safe external connector name among others.

    The platform's name rule (a lowercase letter, then lowercase letters, digits and `_`)
    already refuses `/`, quotes, backslashes, wildcards and spaces. The service account id
    bounds the length. Last, no connector's folder may contain another's (see overlapping).
    """
    if not NAME_PATTERN.fullmatch(name):
        raise UnsafeName(
            f"{name!r} is not a connector name: a lowercase letter, then lowercase letters, "
            "digits or '_' (no '/', quote, '\\', '*' or space: the name goes into an object "
            "prefix and an IAM condition)"
        )
    account_id(name)
    clash = overlapping(name, others)
    if clash is not None:
        raise UnsafeName(
            f"landing folder {landing_prefix(name)} overlaps {landing_prefix(clash)} of "
            f"connector {clash}: one connector's condition would match the other's files"
        )


def overlapping(name: str, others: Iterable[str]) -> str | None:
    """The other connector whose landing folder contains name's folder, or the reverse.

    With the trailing slash `ext_conn1/` is not a prefix of `ext_conn10/`; only a name that
    holds a `/` (`ext_conn1/x/`) could sit inside another's folder, and the name rule refuses
    those. This check states the invariant itself, so that it holds if the rule ever changes.
    """
    mine = landing_prefix(name)
    for other in others:
        theirs = landing_prefix(other)
        if other != name and (mine.startswith(theirs) or theirs.startswith(mine)):
            return other
    return None


def is_project_member(member: str) -> bool:
    """A project's owners, editors or viewers, which GCS adds to every bucket's policy."""
    return member.startswith(PROJECT_MEMBER_KINDS)
