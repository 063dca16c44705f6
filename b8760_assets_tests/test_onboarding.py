"""Onboarding and offboarding through the real clients (google-cloud-storage for bucket IAM,
google-cloud-iam's IAMClient for accounts and keys).

No GCP is reachable here, so the clients talk to gcp_fake.FakeGcp, a local server that
answers like those APIs and records every request: the one fake these tests use. The tests
assert the requests' bodies. The readme goes to the session's local stack (fake-gcs-server).
"""

import copy
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from b8760_assets.access.gcp import AccessError
from b8760_assets.access.onboarding import (
    FORMAT_SUMMARIES,
    offboard,
    onboard,
    place_readme,
    readme_text,
)
from b8760_assets.access.policy import (
    AccessScope,
    adding,
    connector_grants,
    grants_in,
    same_grants,
)
from b8760_assets.config import load_platform
from b8760_assets.config.properties import KNOWN_FORMATS
from b8760_assets.layout import README_NAME, RESERVED_NAMES
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.storage import StorageResource
from b8760_assets_tests.gcp_fake import FakeGcp, default_policy

PROJECT = "benchmark8760"
SCOPE = AccessScope(PROJECT, "landing_zone", "example.org")
EXT_CONN1 = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
EMAIL = "b8760-ext-conn1@benchmark8760.iam.gserviceaccount.com"
ACCOUNT = f"projects/{PROJECT}/serviceAccounts/{EMAIL}"
CONDITION = {
    "title": "landing folder ext_conn1/",
    "expression": 'resource.name.startsWith("projects/_/buckets/landing_zone/objects/ext_conn1/")',
}


def bindings(fake: FakeGcp) -> dict[str, list]:
    return {bucket: policy["bindings"] for bucket, policy in fake.policies.items()}


def test_onboarding_twice_yields_the_same_policy(fake: FakeGcp, tmp_path: Path) -> None:
    first = onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "key.json")
    after_first = copy.deepcopy(bindings(fake))
    puts = len(fake.policy_requests("PUT"))

    second = onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "other-key.json")

    assert (first.account, second.account) == ("created", "exists")
    assert [change.written for change in first.policies] == [True, True]
    assert [change.written for change in second.policies] == [False, False]
    assert bindings(fake) == after_first
    assert len(fake.policy_requests("PUT")) == puts == 2
    assert len(fake.iam_requests("CreateServiceAccountKey")) == 1
    assert "has 1 key(s) already" in second.key
    assert not (tmp_path / "other-key.json").exists()


def test_the_requests_onboarding_sends(fake: FakeGcp, tmp_path: Path) -> None:
    etag = fake.policies["landing_zone"]["etag"]

    onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "key.json")

    [create] = fake.iam_requests("CreateServiceAccount")
    assert create.body == {
        "name": f"projects/{PROJECT}",
        "accountId": "b8760-ext-conn1",
        "serviceAccount": {
            "displayName": "b8760 connector ext_conn1",
            "description": "Uploads participant_2's data to gs://landing_zone/ext_conn1/ "
            "(b8760 connector onboard)",
        },
    }
    gets = fake.policy_requests("GET")
    assert gets and all("optionsRequestedPolicyVersion=3" in get.path for get in gets)
    landing, participant = fake.policy_requests("PUT")
    assert landing.path.startswith("/storage/v1/b/landing_zone/iam")
    assert landing.body["etag"] == etag
    assert landing.body["version"] == 3
    member = f"serviceAccount:{EMAIL}"
    assert landing.body["bindings"] == [
        *default_policy()["bindings"],  # the project's members stay as they were
        {"role": "roles/storage.objectCreator", "members": [member], "condition": CONDITION},
        {"role": "roles/storage.objectViewer", "members": [member], "condition": CONDITION},
    ]  # fmt: skip
    assert participant.path.startswith("/storage/v1/b/participant_2/iam")
    assert {
        "role": "roles/storage.objectViewer",
        "members": ["group:b8760-participant-2@example.org"],
    } in participant.body["bindings"]
    [key] = fake.iam_requests("CreateServiceAccountKey")
    assert key.body == {"name": ACCOUNT, "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}


def test_the_key_file_is_the_one_gcloud_activates(fake: FakeGcp, tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    done = onboard(fake.iam(), EXT_CONN1, SCOPE, key_file)

    key = json.loads(key_file.read_text())
    assert (key["type"], key["client_email"]) == ("service_account", EMAIL)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert str(key_file) in done.key


def test_an_existing_key_file_is_never_overwritten(fake: FakeGcp, tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text("someone else's")
    with pytest.raises(AccessError, match="exists; give another --key-file"):
        onboard(fake.iam(), EXT_CONN1, SCOPE, key_file)
    assert key_file.read_text() == "someone else's"
    assert fake.iam_requests("CreateServiceAccountKey") == []


def test_offboarding_restores_the_previous_policy(fake: FakeGcp, tmp_path: Path) -> None:
    before = copy.deepcopy(fake.policies["landing_zone"])
    onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "key.json")

    changes, disabled = offboard(fake.iam(), "ext_conn1", SCOPE)

    assert [change.home for change in changes] == ["landing_zone"]
    assert same_grants("landing_zone", before, fake.policies["landing_zone"])
    assert disabled and fake.accounts[EMAIL].disabled
    [disable] = fake.iam_requests("DisableServiceAccount")
    assert disable.body == {"name": ACCOUNT}
    assert fake.policy_requests("PUT")[-1].body["bindings"] == before["bindings"]
    # The participant keeps its download grant: it still owns its data.
    assert grants_in("participant_2", fake.policies["participant_2"])


def test_onboarding_again_enables_the_account_and_its_grants(fake: FakeGcp, tmp_path: Path) -> None:
    onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "key.json")
    onboarded = copy.deepcopy(bindings(fake))
    offboard(fake.iam(), "ext_conn1", SCOPE)

    again = onboard(fake.iam(), EXT_CONN1, SCOPE, tmp_path / "key.json")

    assert again.account == "enabled" and not fake.accounts[EMAIL].disabled
    assert bindings(fake) == onboarded


def test_offboarding_what_was_never_onboarded_changes_nothing(fake: FakeGcp) -> None:
    changes, disabled = offboard(fake.iam(), "ext_conn1", SCOPE)
    assert [change.written for change in changes] == [False]
    assert not disabled
    assert fake.policy_requests("PUT") == []


def test_a_concurrent_change_is_kept(fake: FakeGcp) -> None:
    """Another writer changes the policy between our read and our write: GCS refuses the
    stale etag, and the edit is made again on the new policy."""
    fake.iam().accounts.ensure("b8760-ext-conn1", "x", "x")  # GCS refuses unknown accounts
    theirs = {"role": "roles/storage.objectViewer", "members": ["user:ops@example.org"]}
    stale = fake.policies["landing_zone"]["etag"]

    def edit_while_someone_writes(bucket: str, policy: dict) -> dict:
        if not fake.policy_requests("PUT"):
            fake.add_bucket(bucket, {"version": 1, "bindings": [*policy["bindings"], theirs]})
        return adding(bucket, policy, connector_grants("ext_conn1", SCOPE))

    change = fake.iam().policies.change("landing_zone", edit_while_someone_writes)

    first, second = fake.policy_requests("PUT")
    assert first.body["etag"] == stale and second.body["etag"] != stale
    assert change.written
    assert theirs in fake.policies["landing_zone"]["bindings"]
    assert len(fake.policies["landing_zone"]["bindings"]) == 5


def test_the_readme_is_placed_once_and_replaced_when_it_changes(storage: StorageResource) -> None:
    bucket = f"landing-{os.urandom(6).hex()}"
    storage.ensure_bucket(bucket)
    name = f"ext_conn1/{README_NAME}"

    assert place_readme(storage, bucket, "first\n", "ext_conn1") == "written"
    assert place_readme(storage, bucket, "first\n", "ext_conn1") == "unchanged"
    assert place_readme(storage, bucket, "second\n", "ext_conn1") == "replaced"
    assert storage.read(bucket, name).data == b"second\n"


def test_the_readme_is_never_taken_in_by_the_landing_zone_connector() -> None:
    assert README_NAME in RESERVED_NAMES


def test_the_readme_names_each_format_the_connector_takes() -> None:
    sample = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    connector = replace(sample, formats=("csv", "espi"))

    text = readme_text(connector, "landing_zone")

    assert (
        "File format     csv (UTF-8, first line meter_id,start,end,value,unit), "
        "espi (Green Button ESPI XML, as your utility exports it)\n"
    ) in text
    assert set(FORMAT_SUMMARIES) == KNOWN_FORMATS  # every format has its line
