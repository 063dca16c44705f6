"""How full an IAM policy is against the limits GCS enforces, and the refusal past them.

IAM limits every allow policy (cloud.google.com/iam/quotas, "Policies and bindings"): at most
1,500 principals in all its bindings, each member of each binding counted once more (the
same account in two bindings counts twice), and at most 250 of them Google groups. GCS
refuses a policy past either; the platform refuses it first, with the way out, and warns from
80 % on, while there is time to switch.
"""

from collections.abc import Mapping
from dataclasses import dataclass

MAX_PRINCIPALS = 1_500
MAX_GROUPS = 250
WARN_AT = 0.8
WAY_OUT = (
    "set landing.access in the platform's platform.xml to managed_folders (a policy per "
    "connector's folder: no cap per bucket) or, from conditional_roles, to custom_role (one "
    "binding per connector: about 1,500 connectors), then run `b8760 access apply`; "
    "docs/onboarding.md, Access at scale"
)


class PolicyFull(ValueError):
    """A policy that would hold more than GCS accepts; the message names the way out."""


@dataclass(frozen=True)
class Fullness:
    """What one policy holds, counted as IAM counts it."""

    home: str  # the bucket, or bucket/managed folder/, whose policy this is
    principals: int
    groups: int
    bindings: int
    conditional: int

    @property
    def fraction(self) -> float:
        """The larger of its two shares: principals of 1,500, groups of 250."""
        return max(self.principals / MAX_PRINCIPALS, self.groups / MAX_GROUPS)

    @property
    def nearly_full(self) -> bool:
        return self.fraction >= WARN_AT

    def __str__(self) -> str:
        return (
            f"gs://{self.home} IAM policy: {self.principals:,} of {MAX_PRINCIPALS:,} principals, "
            f"{self.groups} of {MAX_GROUPS} groups ({self.fraction:.0%} full); "
            f"{self.bindings:,} bindings, {self.conditional:,} conditional"
        )


def fullness(home: str, policy: dict) -> Fullness:
    """The policy's principal occurrences, groups, bindings and conditional bindings."""
    bindings = policy.get("bindings", [])
    members = [member for binding in bindings for member in binding.get("members", [])]
    return Fullness(
        home,
        principals=len(members),
        groups=sum(member.startswith("group:") for member in members),
        bindings=len(bindings),
        conditional=sum(bool(binding.get("condition")) for binding in bindings),
    )


def check_room(home: str, policy: dict) -> None:
    """PolicyFull if GCS would refuse the policy for its size."""
    held = fullness(home, policy)
    if held.principals > MAX_PRINCIPALS or held.groups > MAX_GROUPS:
        raise PolicyFull(
            f"gs://{home} IAM policy would hold {held.principals:,} principals and "
            f"{held.groups} groups, past IAM's {MAX_PRINCIPALS:,} and {MAX_GROUPS} per policy, "
            f"so nothing was changed: {WAY_OUT}"
        )


def fullness_report(live: Mapping[str, dict]) -> list[str]:
    """A line per bucket's policy, one for all managed folders' (the fullest named), and a
    warning for each policy 80 % full or more, with the way out."""
    held = [fullness(home, policy) for home, policy in live.items()]
    buckets = [each for each in held if "/" not in each.home]
    folders = [each for each in held if "/" in each.home]
    lines = [str(each) for each in buckets]
    if folders:
        fullest = max(folders, key=lambda each: each.fraction)
        lines.append(f"{len(folders):,} managed folder policies, the fullest {fullest}")
    lines += [
        f"warning: gs://{each.home} IAM policy is {each.fraction:.0%} full (IAM refuses it past "
        f"{MAX_PRINCIPALS:,} principals or {MAX_GROUPS} groups): {WAY_OUT}"
        for each in held
        if each.nearly_full
    ]
    return lines
