"""How full the landing zone's policies get with 750, 1,500 and 5,000 external connectors in
each landing access mode, counted as IAM counts them (docs/onboarding.md, Access at scale,
quotes this table: `pytest -s` prints it), and the refusal when a policy is full."""

from dataclasses import replace

import pytest

from b8760_assets.access.policy import (
    AccessScope,
    Grant,
    adding,
    connector_grants,
    grants_in,
    with_grants,
)
from b8760_assets.access.policy_limits import MAX_PRINCIPALS, PolicyFull, fullness
from b8760_assets.config.platform_settings import (
    CONDITIONAL_ROLES,
    CUSTOM_ROLE,
    LANDING_ACCESS_MODES,
    MANAGED_FOLDERS,
)
from b8760_assets_tests.gcp_fake import default_policy

SCOPE = AccessScope("benchmark8760", "landing_zone", "example.org")
SIZES = (750, 1_500, 5_000)
# (mode, connectors): policies with connector grants; the landing bucket's principals,
# bindings and conditional bindings; the largest managed folder policy's principals.
FIGURES = {
    (CONDITIONAL_ROLES, 750): (1, 1_503, 1_502, 1_500, 0),
    (CONDITIONAL_ROLES, 1_500): (1, 3_003, 3_002, 3_000, 0),
    (CONDITIONAL_ROLES, 5_000): (1, 10_003, 10_002, 10_000, 0),
    (CUSTOM_ROLE, 750): (1, 753, 752, 750, 0),
    (CUSTOM_ROLE, 1_500): (1, 1_503, 1_502, 1_500, 0),
    (CUSTOM_ROLE, 5_000): (1, 5_003, 5_002, 5_000, 0),
    (MANAGED_FOLDERS, 750): (750, 3, 2, 0, 1),
    (MANAGED_FOLDERS, 1_500): (1_500, 3, 2, 0, 1),
    (MANAGED_FOLDERS, 5_000): (5_000, 3, 2, 0, 1),
}


def connectors(count: int) -> list[str]:
    return [f"ext_{number:05d}" for number in range(count)]


def grants_of(count: int, mode: str) -> list[Grant]:
    scope = replace(SCOPE, landing_access=mode)
    return [grant for name in connectors(count) for grant in connector_grants(name, scope)]


def policy_of(home: str, grants: list[Grant]) -> dict:
    """The home's policy holding these grants of it: the landing bucket's beside GCS's
    project members, a managed folder's alone; whatever its size."""
    base = default_policy() if home == SCOPE.landing_bucket else {}
    return with_grants(home, base, [*grants_in(home, base), *grants])


def figures(count: int, mode: str) -> tuple[int, int, int, int, int]:
    by_home: dict[str, list[Grant]] = {SCOPE.landing_bucket: []}
    for grant in grants_of(count, mode):
        by_home.setdefault(grant.home, []).append(grant)
    landing = fullness(
        SCOPE.landing_bucket, policy_of(SCOPE.landing_bucket, by_home.pop(SCOPE.landing_bucket))
    )
    largest = max((fullness(h, policy_of(h, g)).principals for h, g in by_home.items()), default=0)
    return (len(by_home) or 1, landing.principals, landing.bindings, landing.conditional, largest)


HEADER = ("mode", "connectors", "policies", "landing principals", "bindings", "conditional",
          "folder principals")  # fmt: skip


def test_the_figures_of_each_mode() -> None:
    rows = [HEADER]
    for mode in LANDING_ACCESS_MODES:
        for count in SIZES:
            measured = figures(count, mode)
            rows.append((mode, *(f"{figure:,}" for figure in (count, *measured))))
            assert measured == FIGURES[mode, count]
    print("", *(" | ".join(row) for row in rows), sep="\n")


@pytest.mark.parametrize(
    "mode, most", [(CONDITIONAL_ROLES, 748), (CUSTOM_ROLE, 1_497), (MANAGED_FOLDERS, 5_000)]
)
def test_onboarding_one_more_connector_than_fits_is_refused(mode: str, most: int) -> None:
    """The landing bucket's policy, with GCS's 3 project members, takes `most` connectors;
    the next is refused with the way out (managed folders have no such cap)."""
    scope = replace(SCOPE, landing_access=mode)
    names = connectors(most + 1)
    policy = policy_of(
        "landing_zone", [g for g in grants_of(most, mode) if g.home == "landing_zone"]
    )
    assert fullness("landing_zone", policy).principals <= MAX_PRINCIPALS
    last = connector_grants(names[-1], scope)
    if mode == MANAGED_FOLDERS:
        assert adding("landing_zone", policy, last) == policy  # the grant is the folder's
        return
    with pytest.raises(PolicyFull, match="set landing.access in the platform's platform.xml"):
        adding("landing_zone", policy, last)
