"""Drift between the live bucket policies and the grants the platform's configuration implies.

Every live grant the configuration does not imply is a finding, named by what makes it
dangerous; every implied grant missing from the live policy is one too. The project's owners,
editors and viewers, which GCS puts in every bucket's policy, are not findings.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from b8760_assets.access.names import is_project_member
from b8760_assets.access.policy import Grant, Policy, grants_in

# The object-name prefix a `resource.name.startsWith("...")` condition limits a grant to.
PREFIX_CONDITION = re.compile(
    r'resource\.name\.startsWith\(\s*"projects/_/buckets/[^"/]+/objects/(?P<prefix>[^"]*)"\s*\)'
)

UNCONDITIONAL = "unconditional grant"
NO_TRAILING_SLASH = "condition without trailing slash"
UNEXPLAINED_MEMBER = "unexplained member"
UNEXPECTED_GRANT = "unexpected grant"
MISSING = "missing grant"


@dataclass(frozen=True)
class Finding:
    kind: str
    grant: Grant
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.grant.describe()}: {self.message}"


def prefixes_without_slash(expression: str) -> list[str]:
    """The startsWith prefixes of a condition that do not end in '/': `ext_conn1` also
    matches `ext_conn10/...`."""
    return [
        match["prefix"]
        for match in PREFIX_CONDITION.finditer(expression)
        if not match["prefix"].endswith("/")
    ]


def _finding(grant: Grant, explained: bool, landing_bucket: str) -> Finding:
    """A live grant the configuration does not imply, under its most dangerous name."""
    who = "" if explained else "; no connector or participant explains the member"
    if grant.condition is None:
        others = ", other connectors' too" if grant.home == landing_bucket else ""
        return Finding(
            UNCONDITIONAL, grant, f"reaches every object of gs://{grant.home}{others}{who}"
        )
    short = prefixes_without_slash(grant.condition.expression)
    if short:
        return Finding(
            NO_TRAILING_SLASH,
            grant,
            f"prefix {short[0]!r} also matches {short[0]}0/, {short[0]}_x/ ...; "
            f"end it with '/'{who}",
        )
    if not explained:
        return Finding(
            UNEXPLAINED_MEMBER, grant, "no connector or participant of the platform is this member"
        )
    return Finding(UNEXPECTED_GRANT, grant, "the platform's configuration does not imply it")


def audit(
    desired: Iterable[Grant], live: Mapping[str, Policy], landing_bucket: str
) -> list[Finding]:
    """Findings for the live policies (home, a bucket or managed folder, to policy JSON)
    against the desired grants.

    Only the policies in `live` are audited; desired grants in others are ignored.
    """
    desired = [grant for grant in desired if grant.home in live]
    members = {grant.member for grant in desired}
    present = [grant for bucket, policy in live.items() for grant in grants_in(bucket, policy)]
    findings = [
        _finding(grant, grant.member in members, landing_bucket)
        for grant in present
        if grant not in desired and not is_project_member(grant.member)
    ]
    findings += [
        Finding(MISSING, grant, "the configuration implies it; b8760 access apply adds it")
        for grant in dict.fromkeys(desired)
        if grant not in present
    ]
    return findings
