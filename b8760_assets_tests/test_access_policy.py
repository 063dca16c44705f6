"""Bucket policies edited grant by grant: the rest of a live policy is never touched, adding
twice changes nothing, and removing what was added gives the policy back."""

import copy

from b8760_assets.access.names import Condition
from b8760_assets.access.policy import (
    OBJECT_CREATOR,
    OBJECT_VIEWER,
    AccessScope,
    Grant,
    adding,
    connector_grants,
    desired_grants,
    grants_in,
    normalized,
    policy_diff,
    removing,
    same_grants,
)
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.gcp_fake import default_policy

SCOPE = AccessScope("benchmark8760", "landing_zone", "example.org")
EXT_CONN1 = "serviceAccount:b8760-ext-conn1@benchmark8760.iam.gserviceaccount.com"
CONDITION = 'resource.name.startsWith("projects/_/buckets/landing_zone/objects/ext_conn1/")'
# A grant of another team that the platform must leave alone.
OTHERS = {"role": "roles/storage.objectViewer", "members": ["user:auditor@example.org"]}


def live_policy() -> dict:
    policy = default_policy()
    return {**policy, "etag": "CAE=", "bindings": [*policy["bindings"], OTHERS]}


def test_the_sample_platform_s_grants() -> None:
    grants = desired_grants(load_platform(SAMPLE_PLATFORM_DIR), SCOPE)
    described = sorted(grant.describe() for grant in grants)
    assert described == sorted(
        [
            f"gs://landing_zone: {role} to {EXT_CONN1} if {CONDITION}"
            for role in (OBJECT_CREATOR, OBJECT_VIEWER)
        ]
        + [
            f"gs://landing_zone: {role} to serviceAccount:b8760-ext-conn10@benchmark8760.iam"
            '.gserviceaccount.com if resource.name.startsWith("projects/_/buckets/landing_zone'
            '/objects/ext_conn10/")'
            for role in (OBJECT_CREATOR, OBJECT_VIEWER)
        ]
        + [
            "gs://participant_1: roles/storage.objectViewer to "
            "group:b8760-participant-1@example.org (unconditional)",
            "gs://participant_2: roles/storage.objectViewer to "
            "group:b8760-participant-2@example.org (unconditional)",
        ]
    )


def test_adding_writes_version_3_bindings_and_keeps_everything_else() -> None:
    before = live_policy()
    after = adding("landing_zone", before, connector_grants("ext_conn1", SCOPE))

    assert after["version"] == 3
    assert after["etag"] == "CAE="  # sent back, so that a concurrent change is refused
    assert OTHERS in after["bindings"]
    assert {
        "role": OBJECT_CREATOR,
        "members": [EXT_CONN1],
        "condition": {"title": "landing folder ext_conn1/", "expression": CONDITION},
    } in after["bindings"]
    assert set(grants_in("landing_zone", before)) < set(grants_in("landing_zone", after))


def test_adding_twice_changes_nothing_and_removing_gives_the_policy_back() -> None:
    before = live_policy()
    grants = connector_grants("ext_conn1", SCOPE)
    once = adding("landing_zone", before, grants)

    assert adding("landing_zone", once, grants) == once
    assert same_grants("landing_zone", before, removing("landing_zone", once, grants))
    assert not same_grants("landing_zone", before, once)


def test_a_member_joins_the_binding_of_its_role_and_condition() -> None:
    """Grants with the same role and condition share one binding, as GCS keeps them; a
    binding's title is kept even if the platform would name it differently."""
    titled = {
        "role": OBJECT_VIEWER,
        "members": ["user:ops@example.org"],
        "condition": {"title": "ops can read ext_conn1", "expression": CONDITION},
    }
    policy = {"version": 3, "bindings": [titled]}
    viewer = [g for g in connector_grants("ext_conn1", SCOPE) if g.role == OBJECT_VIEWER]

    after = adding("landing_zone", policy, viewer)

    assert after["bindings"] == [{**titled, "members": [EXT_CONN1, "user:ops@example.org"]}]


def test_removing_leaves_other_members_of_a_binding() -> None:
    shared = Grant("landing_zone", OBJECT_VIEWER, "user:ops@example.org", Condition(CONDITION))
    policy = adding("landing_zone", live_policy(), [*connector_grants("ext_conn1", SCOPE), shared])

    after = removing("landing_zone", policy, connector_grants("ext_conn1", SCOPE))

    left = set(grants_in("landing_zone", live_policy())) | {shared}
    assert set(grants_in("landing_zone", after)) == left


def test_grants_of_other_buckets_are_left_out() -> None:
    policy = live_policy()
    participant = Grant("participant_2", OBJECT_VIEWER, "group:g@example.org")
    assert adding("landing_zone", policy, [participant]) == normalized("landing_zone", policy)


def test_the_diff_shows_the_added_bindings_only() -> None:
    before = live_policy()
    shuffled = {**copy.deepcopy(before), "version": 3}
    shuffled["bindings"].reverse()
    assert policy_diff("landing_zone", shuffled, normalized("landing_zone", before)) == ""

    after = adding("landing_zone", before, connector_grants("ext_conn1", SCOPE))
    diff = policy_diff("landing_zone", before, after)
    added = [line for line in diff.splitlines() if line.startswith("+") and "+++" not in line]
    removed = [line for line in diff.splitlines() if line.startswith("-") and "---" not in line]
    assert removed == ['-  "version": 1']
    assert f'+        "{EXT_CONN1}"' in added
    assert '+  "version": 3' in added
    assert diff.startswith("--- gs://landing_zone IAM policy (now)")
