"""The seed's access model, over the sample platform's grants evaluated as GCS IAM does, in
each landing access mode (two conditional roles, a conditional custom role, the custom role
on a managed folder per connector).

An external connector may create objects in its own landing folder and read them back by
name, and nothing else: not another connector's folder (ext_conn1 against ext_conn10/),
not a listing, not a delete or an overwrite, not a participant's data. A participant's group
may read its own bucket only.
"""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from b8760_assets.access.iam_model import ROLE_PERMISSIONS, Request, decide
from b8760_assets.access.names import (
    Condition,
    account_member,
    bucket_resource,
    object_resource,
    participant_member,
)
from b8760_assets.access.policy import (
    OBJECT_CREATOR,
    OBJECT_VIEWER,
    AccessScope,
    Grant,
    desired_grants,
    landing_role,
)
from b8760_assets.config import load_platform
from b8760_assets.config.platform_settings import LANDING_ACCESS_MODES, MANAGED_FOLDERS
from b8760_assets.settings import SAMPLE_PLATFORM_DIR

PLATFORM = load_platform(SAMPLE_PLATFORM_DIR)
SCOPE = AccessScope("benchmark8760", "landing_zone", "example.org")
GRANTS = desired_grants(PLATFORM, SCOPE)
GRANTS_IN = {
    mode: desired_grants(PLATFORM, replace(SCOPE, landing_access=mode))
    for mode in LANDING_ACCESS_MODES
}
EXTERNAL = [name for name, connector in PLATFORM.connectors.items() if connector.external]
LANDING = "landing_zone"
# A participant's standardized meter-hour, as the seed's download example names it.
METER_HOUR = "coned/standardized/3/2021-11-08T14:00:00"

# What a connector may try, as the permissions GCS requires together for it: replacing an
# existing object takes delete as well as create (objectCreator has no delete).
ACTIONS = {
    "create": ("storage.objects.create",),
    "read": ("storage.objects.get",),
    "list": ("storage.objects.list",),
    "delete": ("storage.objects.delete",),
    "overwrite": ("storage.objects.create", "storage.objects.delete"),
}


def allowed(principal: str, action: str, resource: str, grants: list[Grant] = GRANTS) -> bool:
    return all(
        decide(grants, Request(principal, permission, resource)).allowed
        for permission in ACTIONS[action]
    )


def connector_cases(connector: str) -> list[tuple[str, str, bool]]:
    """(action, resource, allowed by the seed's model) for one external connector."""
    own = object_resource(LANDING, f"{connector}/readings.csv")
    cases = [
        ("create", own, True),
        ("read", own, True),
        ("read", object_resource(LANDING, f"{connector}/readme.txt"), True),
        ("create", object_resource(LANDING, f"{connector}/2022/03/readings.csv"), True),
        ("list", bucket_resource(LANDING), False),
        ("list", object_resource(LANDING, f"{connector}/"), False),  # listing a prefix
        ("delete", own, False),
        ("overwrite", own, False),
        ("create", object_resource(LANDING, "readings.csv"), False),  # the bucket's root
        ("create", object_resource(LANDING, connector), False),  # the folder name, no slash
    ]
    for other in EXTERNAL:
        if other != connector:
            cases += [
                ("read", object_resource(LANDING, f"{other}/readings.csv"), False),
                ("create", object_resource(LANDING, f"{other}/readings.csv"), False),
            ]
    for bucket in PLATFORM.participants.values():
        cases += [
            ("read", object_resource(bucket, METER_HOUR), False),
            ("list", bucket_resource(bucket), False),
        ]
    return cases


def participant_cases(participant: str) -> list[tuple[str, str, bool]]:
    own = PLATFORM.participants[participant]
    cases = [
        ("read", object_resource(own, METER_HOUR), True),
        ("list", bucket_resource(own), True),
        ("create", object_resource(own, "x.csv"), False),
        ("delete", object_resource(own, METER_HOUR), False),
        ("read", object_resource(LANDING, "ext_conn1/readings.csv"), False),
    ]
    cases += [
        ("read", object_resource(bucket, METER_HOUR), False)
        for other, bucket in PLATFORM.participants.items()
        if other != participant
    ]
    return cases


CASES = [
    (account_member(name, SCOPE.project), name, case)
    for name in EXTERNAL
    for case in connector_cases(name)
] + [
    (participant_member(name, SCOPE.group_domain), name, case)
    for name in PLATFORM.participants
    for case in participant_cases(name)
]
MATRIX = [
    pytest.param(mode, principal, *case, id=f"{mode}-{name}-{case[0]}-{case[1]}")
    for mode in LANDING_ACCESS_MODES
    for principal, name, case in CASES
]


def test_the_sample_platform_has_the_prefix_case() -> None:
    assert {"ext_conn1", "ext_conn10"} <= set(EXTERNAL)


@pytest.mark.parametrize("mode, principal, action, resource, expected", MATRIX)
def test_decisions_follow_the_seed_s_model(
    mode: str, principal: str, action: str, resource: str, expected: bool
) -> None:
    assert allowed(principal, action, resource, GRANTS_IN[mode]) is expected


def test_a_managed_folder_s_grant_reaches_its_objects_only() -> None:
    """Without condition: the folder's policy holds what lies inside the folder, nested
    folders too, and neither the bucket (no listing) nor a sibling folder."""
    grants = GRANTS_IN[MANAGED_FOLDERS]
    member = account_member("ext_conn1", SCOPE.project)
    [own] = [grant for grant in grants if grant.member == member]
    assert (own.home, own.role, own.condition) == (
        "landing_zone/ext_conn1/", landing_role(SCOPE.project), None,
    )  # fmt: skip
    deep = object_resource(LANDING, "ext_conn1/2022/03/a.csv")
    assert decide(grants, Request(member, "storage.objects.create", deep)).allowed
    nested = f"{bucket_resource(LANDING)}/managedFolders/ext_conn1/2022/"
    inside = decide(grants, Request(member, "storage.managedFolders.get", nested))
    assert not inside.allowed
    assert "do not hold storage.managedFolders.get" in inside.reason  # reached, not held
    listing = decide(grants, Request(member, "storage.objects.list", bucket_resource(LANDING)))
    assert not listing.allowed
    assert listing.reason == (
        "the principal's grants are on gs://landing_zone/ext_conn1/, which do not hold "
        "projects/_/buckets/landing_zone"
    )
    sibling = object_resource(LANDING, "ext_conn10/a.csv")
    assert not decide(grants, Request(member, "storage.objects.create", sibling)).allowed


def test_the_custom_role_holds_create_and_get_and_no_list() -> None:
    member = account_member("ext_conn1", SCOPE.project)
    role = Grant(LANDING, landing_role("any-project"), member)  # unconditional, bucket-wide
    for permission, expected in (
        ("storage.objects.create", True),
        ("storage.objects.get", True),
        ("storage.objects.list", False),
        ("storage.objects.delete", False),
    ):
        request = Request(member, permission, object_resource(LANDING, "x"))
        assert decide([role], request).allowed is expected, permission


def test_object_viewer_holds_list_and_only_the_condition_denies_it() -> None:
    """The seed's point: the roles would list, the condition never matches the bucket."""
    assert "storage.objects.list" in ROLE_PERMISSIONS[OBJECT_VIEWER]
    assert "storage.objects.delete" not in ROLE_PERMISSIONS[OBJECT_CREATOR]
    member = account_member("ext_conn1", SCOPE.project)
    decision = decide(GRANTS, Request(member, "storage.objects.list", bucket_resource(LANDING)))
    assert not decision.allowed
    assert "the condition is false for projects/_/buckets/landing_zone" in decision.reason


def test_a_condition_without_the_trailing_slash_lets_ext_conn1_into_ext_conn10() -> None:
    """What the trailing slash is for: the same grants with `.../objects/ext_conn1` would
    let ext_conn1 read and write ext_conn10's files."""
    short = Condition(
        'resource.name.startsWith("projects/_/buckets/landing_zone/objects/ext_conn1")'
    )
    member = account_member("ext_conn1", SCOPE.project)
    grants = [replace(g, condition=short) if g.member == member else g for g in GRANTS]
    other = object_resource(LANDING, "ext_conn10/readings.csv")

    assert allowed(member, "read", other, grants)
    assert allowed(member, "create", other, grants)
    assert not allowed(member, "read", other)


def test_the_deciding_grant_is_named() -> None:
    member = account_member("ext_conn1", SCOPE.project)
    own = object_resource(LANDING, "ext_conn1/a.csv")
    decision = decide(GRANTS, Request(member, "storage.objects.create", own))
    assert decision.allowed
    assert decision.grant.role == OBJECT_CREATOR
    assert decision.grant.condition.expression.endswith('/objects/ext_conn1/")')


def test_internal_connectors_get_no_account() -> None:
    internal = [name for name, c in PLATFORM.connectors.items() if not c.external]
    assert internal
    members = {grant.member for grant in GRANTS}
    assert not any(account_member(name, SCOPE.project) in members for name in internal)


def test_a_condition_that_does_not_evaluate_grants_nothing() -> None:
    broken = Grant(LANDING, OBJECT_VIEWER, "user:a@example.org", Condition("resource.nme == 1"))
    decision = decide([broken], Request("user:a@example.org", "storage.objects.get",
                                        object_resource(LANDING, "x")))  # fmt: skip
    assert not decision.allowed
    assert "does not evaluate" in decision.reason


def test_request_time_is_bound_as_gcs_binds_it() -> None:
    until_2025 = Grant(
        LANDING,
        OBJECT_VIEWER,
        "user:a@example.org",
        Condition('request.time < timestamp("2025-01-01T00:00:00Z")'),
    )
    resource = object_resource(LANDING, "x")

    def at(year: int) -> bool:
        moment = datetime(year, 6, 1, tzinfo=UTC)
        request = Request("user:a@example.org", "storage.objects.get", resource, moment)
        return decide([until_2025], request).allowed

    assert at(2024) and not at(2026)


def test_all_users_matches_everyone_and_unknown_roles_are_named() -> None:
    public = Grant(LANDING, OBJECT_VIEWER, "allUsers")
    request = Request("user:b@example.org", "storage.objects.get", object_resource(LANDING, "x"))
    assert decide([public], request).allowed

    custom = Grant(LANDING, "roles/custom.uploader", "user:b@example.org")
    decision = decide([custom], request)
    assert not decision.allowed
    assert "does not know roles/custom.uploader" in decision.reason


def test_a_resource_that_is_not_a_gcs_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a GCS resource name"):
        decide(GRANTS, Request("user:a@example.org", "storage.objects.get", "landing_zone/x"))


def test_a_managed_folder_is_bound_as_gcs_binds_it() -> None:
    """resource.type and resource.name of a managed folder, for a condition that names one."""
    folder = f"{bucket_resource(LANDING)}/managedFolders/ext_conn1/"
    admin = Grant(
        LANDING,
        "roles/storage.legacyObjectReader",
        "user:a@example.org",
        Condition(
            'resource.type == "storage.googleapis.com/ManagedFolder" && '
            f'resource.name.startsWith("{folder}")'
        ),
    )
    on_folder = Request("user:a@example.org", "storage.objects.get", f"{folder}2022/")
    on_object = Request(
        "user:a@example.org", "storage.objects.get", object_resource(LANDING, "ext_conn1/a")
    )
    assert decide([admin], on_folder).allowed
    assert not decide([admin], on_object).allowed
