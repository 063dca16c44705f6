"""A participant's download account through the real clients, against gcp_fake.FakeGcp (the
recording fake of test_onboarding.py), bodies asserted; and what it may do, as the CEL
evaluator decides it on the grants the platform gives it."""

import json
from pathlib import Path

import pytest

from b8760_assets.access.gcp import AccessError
from b8760_assets.access.iam_model import Request, decide
from b8760_assets.access.names import object_resource, participant_account_member
from b8760_assets.access.participants import issue, key_ids, revoke, revoke_key, with_accounts
from b8760_assets.access.policy import AccessScope, desired_grants, grants_in
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.gcp_fake import FakeGcp, default_policy

PROJECT = "benchmark8760"
SCOPE = AccessScope(PROJECT, "landing_zone", "example.org")
PLATFORM = load_platform(SAMPLE_PLATFORM_DIR)
EMAIL = f"b8760dl-participant-1@{PROJECT}.iam.gserviceaccount.com"
ACCOUNT = f"projects/{PROJECT}/serviceAccounts/{EMAIL}"
MEMBER = f"serviceAccount:{EMAIL}"
SEED_METER_HOUR = "coned/standardized/3/2021-11-08T14:00:00"


def test_the_requests_issuing_sends(fake: FakeGcp, tmp_path: Path) -> None:
    done = issue(fake.iam(), "participant_1", "participant_1", SCOPE, tmp_path / "key.json")

    assert (done.email, done.account) == (EMAIL, "created")
    [create] = fake.iam_requests("CreateServiceAccount")
    assert create.body == {
        "name": f"projects/{PROJECT}",
        "accountId": "b8760dl-participant-1",
        "serviceAccount": {
            "displayName": "b8760 participant participant_1",
            "description": "Downloads participant_1's data from gs://participant_1 "
            "(b8760 participant credentials)",
        },
    }
    [put] = fake.policy_requests("PUT")  # its own bucket's policy, and no other
    assert put.path.startswith("/storage/v1/b/participant_1/iam")
    assert put.body["bindings"] == [
        *default_policy()["bindings"],
        {"role": "roles/storage.objectViewer", "members": [MEMBER]},  # no condition: all of it
    ]
    [key] = fake.iam_requests("CreateServiceAccountKey")
    assert key.body == {"name": ACCOUNT, "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}
    key_file = json.loads((tmp_path / "key.json").read_text())
    assert (key_file["type"], key_file["client_email"]) == ("service_account", EMAIL)


def test_a_rotation_makes_a_second_key_and_revokes_the_old(fake: FakeGcp, tmp_path: Path) -> None:
    iam = fake.iam()
    issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "old.json")
    again = issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "unmade.json")
    assert "has 1 key(s) already" in again.key and not (tmp_path / "unmade.json").exists()
    [old] = key_ids(iam, "participant_1", SCOPE)

    issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "new.json", new_key=True)
    assert len(key_ids(iam, "participant_1", SCOPE)) == 2
    assert revoke_key(iam, "participant_1", SCOPE, old)

    [delete] = fake.iam_requests("DeleteServiceAccountKey")
    assert delete.body == {"name": f"{ACCOUNT}/keys/{old}"}
    [new] = key_ids(iam, "participant_1", SCOPE)
    assert new != old == json.loads((tmp_path / "old.json").read_text())["private_key_id"]
    assert not revoke_key(iam, "participant_1", SCOPE, old)
    with pytest.raises(AccessError, match="is not a key id"):
        revoke_key(iam, "participant_1", SCOPE, "../../participant_2")


def test_revoking_deletes_the_keys_removes_the_grant_and_disables(
    fake: FakeGcp, tmp_path: Path
) -> None:
    iam = fake.iam()
    issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "a.json")
    issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "b.json", new_key=True)
    assert with_accounts(iam, PLATFORM.participants, PROJECT) == ["participant_1"]

    revoked = revoke(iam, "participant_1", "participant_1", SCOPE)

    assert len(revoked.keys) == 2 and revoked.disabled
    assert len(fake.iam_requests("DeleteServiceAccountKey")) == 2
    [disable] = fake.iam_requests("DisableServiceAccount")
    assert disable.body == {"name": ACCOUNT}
    assert fake.accounts[EMAIL].keys == [] and fake.accounts[EMAIL].disabled
    assert MEMBER not in {
        g.member for g in grants_in("participant_1", fake.policies["participant_1"])
    }
    assert with_accounts(iam, PLATFORM.participants, PROJECT) == []

    # A new request enables the account with a new key only: the old files stay dead.
    again = issue(iam, "participant_1", "participant_1", SCOPE, tmp_path / "c.json")
    assert again.account == "enabled" and len(fake.accounts[EMAIL].keys) == 1


def test_revoking_an_account_never_made_changes_nothing(fake: FakeGcp) -> None:
    revoked = revoke(fake.iam(), "participant_2", "participant_2", SCOPE)
    assert (revoked.keys, revoked.disabled) == ([], False)
    assert fake.policy_requests("PUT") == []


GRANTS = desired_grants(PLATFORM, SCOPE, ["participant_1"])
ACCOUNT_1 = participant_account_member("participant_1", PROJECT)


@pytest.mark.parametrize(
    "permission, bucket, name, allowed",
    [
        ("storage.objects.get", "participant_1", SEED_METER_HOUR, True),
        ("storage.objects.list", "participant_1", "coned/", True),
        ("storage.objects.get", "participant_2", SEED_METER_HOUR, False),
        ("storage.objects.list", "participant_2", "coned/", False),
        ("storage.objects.get", "landing_zone", "ext_conn1/readme.txt", False),
        ("storage.objects.create", "landing_zone", "ext_conn1/a.csv", False),
        ("storage.objects.create", "participant_1", "coned/raw/x.csv", False),
        ("storage.objects.delete", "participant_1", SEED_METER_HOUR, False),
        ("storage.objects.update", "participant_1", SEED_METER_HOUR, False),
    ],
)
def test_what_the_download_account_may_do(
    permission: str, bucket: str, name: str, allowed: bool
) -> None:
    request = Request(ACCOUNT_1, permission, object_resource(bucket, name))
    assert decide(GRANTS, request).allowed is allowed


def test_the_account_has_no_grant_until_it_is_made() -> None:
    request = Request(ACCOUNT_1, "storage.objects.get", object_resource("participant_1", "x"))
    assert not decide(desired_grants(PLATFORM, SCOPE), request).allowed
