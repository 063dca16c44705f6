"""Onboarding and offboarding in the landing access modes that scale (custom_role,
managed_folders), through the real clients against gcp_fake.FakeGcp (the recording fake of
test_onboarding.py), bodies asserted: the custom role, the managed folder and its policy."""

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from b8760_assets.access.accounts import change_policies
from b8760_assets.access.gcp import AccessError
from b8760_assets.access.onboarding import offboard, onboard
from b8760_assets.access.policy import AccessScope, Grant, adding, landing_role
from b8760_assets.config import load_platform
from b8760_assets.config.platform_settings import CUSTOM_ROLE, MANAGED_FOLDERS
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.gcp_fake import FakeGcp, default_policy

PROJECT = "benchmark8760"
SCOPE = AccessScope(PROJECT, "landing_zone", "example.org")
EXT_CONN1 = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
MEMBER = f"serviceAccount:b8760-ext-conn1@{PROJECT}.iam.gserviceaccount.com"
ROLE = f"projects/{PROJECT}/roles/b8760LandingUploader"
FOLDER_IAM = "/storage/v1/b/landing_zone/managedFolders/ext_conn1%2F/iam"


def puts_to(fake: FakeGcp, path: str) -> list[dict]:
    return [
        r.body
        for r in fake.policy_requests("PUT")
        if r.path.startswith(path + "?") or r.path == path
    ]


def test_managed_folders_the_requests_onboarding_sends(fake: FakeGcp, tmp_path: Path) -> None:
    scope = replace(SCOPE, landing_access=MANAGED_FOLDERS)
    landing_before = copy.deepcopy(fake.policies["landing_zone"])

    done = onboard(fake.iam(), EXT_CONN1, scope, tmp_path / "key.json")

    [create_role] = fake.iam_requests("CreateRole")
    assert create_role.body == {
        "parent": f"projects/{PROJECT}",
        "roleId": "b8760LandingUploader",
        "role": {
            "title": "b8760 landing uploader",
            "description": "Create objects and read them by name, no list: an external "
            "connector in its landing folder (b8760 connector onboard)",
            "includedPermissions": ["storage.objects.create", "storage.objects.get"],
            "stage": "GA",
        },
    }
    [folder] = [r for r in fake.requests if r.method == "POST"]
    assert folder.path.startswith("/storage/v1/b/landing_zone/managedFolders")
    assert folder.body == {"name": "ext_conn1/"}
    [policy] = puts_to(fake, FOLDER_IAM)
    assert policy["bindings"] == [{"role": ROLE, "members": [MEMBER]}]  # no condition
    assert "etag" in policy  # the new folder's, read first
    assert fake.policies["landing_zone"] == landing_before  # the bucket's policy is not touched
    assert [change.home for change in done.policies] == ["landing_zone/ext_conn1/", "participant_2"]

    again = onboard(fake.iam(), EXT_CONN1, scope, tmp_path / "other.json")
    assert [change.written for change in again.policies] == [False, False]
    assert len(fake.iam_requests("CreateRole")) == 1
    assert len([r for r in fake.requests if r.method == "POST"]) == 1

    changes, disabled = offboard(fake.iam(), "ext_conn1", scope)
    assert [change.home for change in changes] == ["landing_zone/ext_conn1/"] and disabled
    assert fake.policies["landing_zone/ext_conn1/"]["bindings"] == []


def test_custom_role_one_conditional_binding_per_connector(fake: FakeGcp, tmp_path: Path) -> None:
    onboard(fake.iam(), EXT_CONN1, replace(SCOPE, landing_access=CUSTOM_ROLE), tmp_path / "k")

    [landing, _] = fake.policy_requests("PUT")
    condition = {
        "title": "landing folder ext_conn1/",
        "expression": "resource.name.startsWith("
        '"projects/_/buckets/landing_zone/objects/ext_conn1/")',
    }
    assert landing.body["bindings"] == [
        {"role": ROLE, "members": [MEMBER], "condition": condition},  # "projects/" sorts first
        *default_policy()["bindings"],
    ]
    assert ROLE in fake.roles


def test_a_changed_custom_role_gets_its_permissions_back(fake: FakeGcp, tmp_path: Path) -> None:
    iam = fake.iam()
    assert iam.roles.ensure() == "created"
    fake.roles[ROLE].included_permissions.append("storage.objects.list")

    assert iam.roles.ensure() == "updated"

    [update] = fake.iam_requests("UpdateRole")
    assert update.body["updateMask"] == "includedPermissions"
    assert sorted(fake.roles[ROLE].included_permissions) == [
        "storage.objects.create", "storage.objects.get",
    ]  # fmt: skip
    assert iam.roles.ensure() == "exists"


def test_gcs_refuses_a_binding_of_a_role_not_made(fake: FakeGcp) -> None:
    """Why onboarding makes the role first: a policy may name only a role that exists."""
    iam = fake.iam()
    iam.accounts.ensure("b8760-ext-conn1", "x", "x")
    grant = Grant("landing_zone", landing_role(PROJECT), MEMBER, folder="ext_conn1/")

    with pytest.raises(AccessError, match=r"Role \(projects/benchmark8760/roles/b8760Landing"):
        change_policies(iam, [grant], adding)
