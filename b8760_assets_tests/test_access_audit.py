"""Drift between live bucket policies and the sample platform's configuration."""

import pytest

from b8760_assets.access.audit import (
    MISSING,
    NO_TRAILING_SLASH,
    UNCONDITIONAL,
    UNEXPECTED_GRANT,
    UNEXPLAINED_MEMBER,
    audit,
    prefixes_without_slash,
)
from b8760_assets.access.policy import (
    OBJECT_CREATOR,
    OBJECT_VIEWER,
    AccessScope,
    adding,
    desired_grants,
)
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.gcp_fake import default_policy

SCOPE = AccessScope("benchmark8760", "landing_zone", "example.org")
DESIRED = desired_grants(load_platform(SAMPLE_PLATFORM_DIR), SCOPE)
BUCKETS = ("landing_zone", "participant_1", "participant_2")
EXT_CONN1 = "serviceAccount:b8760-ext-conn1@benchmark8760.iam.gserviceaccount.com"
PREFIX = "projects/_/buckets/landing_zone/objects/"


def in_line() -> dict[str, dict]:
    """Live policies exactly as the configuration implies, beside GCS's project members."""
    return {bucket: adding(bucket, default_policy(), DESIRED) for bucket in BUCKETS}


def with_binding(live: dict[str, dict], bucket: str, binding: dict) -> dict[str, dict]:
    policy = live[bucket]
    return {**live, bucket: {**policy, "bindings": [*policy["bindings"], binding]}}


def kinds(findings) -> list[tuple[str, str]]:
    return [(finding.kind, finding.grant.member) for finding in findings]


def test_policies_in_line_with_the_configuration_have_no_finding() -> None:
    assert audit(DESIRED, in_line(), "landing_zone") == []


def test_an_unconditional_grant_in_the_landing_zone() -> None:
    unconditional = {"role": OBJECT_VIEWER, "members": [EXT_CONN1]}
    live = with_binding(in_line(), "landing_zone", unconditional)
    findings = audit(DESIRED, live, "landing_zone")
    assert kinds(findings) == [(UNCONDITIONAL, EXT_CONN1)]
    assert "other connectors' too" in str(findings[0])


def test_a_condition_without_the_trailing_slash() -> None:
    condition = {"title": "t", "expression": f'resource.name.startsWith("{PREFIX}ext_conn1")'}
    binding = {"role": OBJECT_CREATOR, "members": [EXT_CONN1], "condition": condition}
    live = with_binding(in_line(), "landing_zone", binding)
    findings = audit(DESIRED, live, "landing_zone")
    assert kinds(findings) == [(NO_TRAILING_SLASH, EXT_CONN1)]
    assert "'ext_conn1' also matches ext_conn10/" in findings[0].message


@pytest.mark.parametrize(
    "expression, short",
    [
        (f'resource.name.startsWith("{PREFIX}ext_conn1/")', []),
        (f'resource.name.startsWith("{PREFIX}ext_conn1")', ["ext_conn1"]),
        (
            f'resource.name.startsWith( "{PREFIX}a/") || resource.name.startsWith("{PREFIX}b")',
            ["b"],
        ),
        ('resource.type == "storage.googleapis.com/Object"', []),
    ],
)
def test_prefixes_without_slash(expression: str, short: list[str]) -> None:
    assert prefixes_without_slash(expression) == short


def test_a_member_no_connector_or_participant_explains() -> None:
    stranger = "user:someone@example.com"
    condition = {"title": "t", "expression": f'resource.name.startsWith("{PREFIX}ext_conn1/")'}
    binding = {"role": OBJECT_VIEWER, "members": [stranger], "condition": condition}
    live = with_binding(in_line(), "landing_zone", binding)
    assert kinds(audit(DESIRED, live, "landing_zone")) == [(UNEXPLAINED_MEMBER, stranger)]


def test_public_access_to_a_participant_bucket() -> None:
    public = {"role": OBJECT_VIEWER, "members": ["allUsers"]}
    live = with_binding(in_line(), "participant_1", public)
    findings = audit(DESIRED, live, "landing_zone")
    assert kinds(findings) == [(UNCONDITIONAL, "allUsers")]
    assert "no connector or participant explains" in findings[0].message


def test_a_connector_granted_another_connector_s_folder() -> None:
    condition = {"title": "t", "expression": f'resource.name.startsWith("{PREFIX}ext_conn10/")'}
    binding = {"role": OBJECT_CREATOR, "members": [EXT_CONN1], "condition": condition}
    live = with_binding(in_line(), "landing_zone", binding)
    assert kinds(audit(DESIRED, live, "landing_zone")) == [(UNEXPECTED_GRANT, EXT_CONN1)]


def test_missing_grants() -> None:
    live = {**in_line(), "participant_2": default_policy()}
    findings = audit(DESIRED, live, "landing_zone")
    assert kinds(findings) == [(MISSING, "group:b8760-participant-2@example.org")]
    assert str(findings[0]) == (
        "missing grant: gs://participant_2: roles/storage.objectViewer to "
        "group:b8760-participant-2@example.org (unconditional): the configuration implies it; "
        "b8760 access apply adds it"
    )


def test_the_project_s_own_members_are_neither_needed_nor_findings() -> None:
    """GCS puts the project's owners, editors and viewers in every bucket's policy."""
    assert audit(DESIRED, {b: adding(b, {}, DESIRED) for b in BUCKETS}, "landing_zone") == []
    assert any("projectViewer:" in str(b) for b in in_line()["landing_zone"]["bindings"])
    assert audit(DESIRED, in_line(), "landing_zone") == []
