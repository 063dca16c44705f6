"""`b8760 participant credentials` as an operator runs it: on the local stack, which has no
IAM (it prints, and writes nothing); with --project against the recording fakes
(gcp_fake.FakeGcp for IAM, bigquery_fake.FakeBigQuery for the warehouse's access)."""

import importlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from b8760_assets.access import gcp
from b8760_assets.cli import main
from b8760_assets_tests.bigquery_fake import FakeBigQuery
from b8760_assets_tests.gcp_fake import FakeGcp

PROJECT = "benchmark8760"
EMAIL = f"b8760dl-participant-1@{PROJECT}.iam.gserviceaccount.com"
READER = {"role": "READER", "userByEmail": EMAIL}
PARTICIPANT_CLI = importlib.import_module("b8760_assets.cli.participant")


pytestmark = pytest.mark.usefixtures("sample_settings")


@pytest.fixture
def bigquery(bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    """conftest's fake, as the warehouse the command reaches in GCP."""
    monkeypatch.setattr(PARTICIPANT_CLI, "warehouse_resource", lambda project: bigquery.warehouse())
    return bigquery


@pytest.fixture
def fake(fake: FakeGcp, monkeypatch: pytest.MonkeyPatch) -> FakeGcp:
    """conftest's fake, as the IAM the command reaches in GCP."""
    monkeypatch.setattr(gcp, "connect", lambda project: fake.iam())
    return fake


def credentials(*args: str) -> Result:
    return CliRunner().invoke(main, ["participant", "credentials", *args])


def test_on_the_local_stack_it_prints_and_makes_nothing(tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    result = credentials("participant_1", "--key-file", str(key_file))

    assert result.exit_code == 0, result.output
    assert "The local stack has no IAM: nothing is granted here." in result.output
    assert "No account or key is made" in result.output
    assert "gcloud iam service-accounts create b8760dl-participant-1" in result.output
    assert (
        "gcloud storage buckets add-iam-policy-binding gs://participant_1 "
        "--member=serviceAccount:b8760dl-participant-1@b8760-local.iam.gserviceaccount.com "
        "--role=roles/storage.objectViewer --condition=None"
    ) in result.output
    assert "landing_zone" not in result.output and "participant_2" not in result.output
    assert not key_file.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["participant_9"], "participant_9 is no participant of the platform"),
        (["participant_1", "--revoke", "--new-key"], "give one of --new-key, --revoke-key"),
    ],
)
def test_refusals(args: list[str], message: str) -> None:
    result = credentials(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_issue_rotate_and_revoke_in_gcp(
    fake: FakeGcp, bigquery: FakeBigQuery, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    dry = credentials("participant_1", "--project", PROJECT, "--dry-run", "--key-file", str(first))
    assert dry.exit_code == 0, dry.output
    assert "gs://participant_1 IAM policy: to change" in dry.output
    assert fake.policy_requests("PUT") == fake.iam_requests("CreateServiceAccount") == []
    assert not first.exists()

    issued = credentials("participant_1", "--project", PROJECT, "--key-file", str(first))
    assert issued.exit_code == 0, issued.output
    assert f"service account: {EMAIL} (created)" in issued.output
    assert json.loads(first.read_text())["client_email"] == EMAIL
    assert "view b8760_participant_1.readings: created" in issued.output
    assert READER in bigquery.datasets["b8760_participant_1"]["access"]
    old = json.loads(first.read_text())["private_key_id"]
    assert issued.output.endswith(f"keys: {old}\n")

    second = tmp_path / "second.json"
    rotated = credentials(
        "participant_1", "--project", PROJECT, "--new-key", "--key-file", str(second)
    )
    assert rotated.exit_code == 0, rotated.output
    assert f"{old}, " in rotated.output.splitlines()[-1]
    dropped = credentials("participant_1", "--project", PROJECT, "--revoke-key", old)
    assert dropped.output == f"key {old}: deleted\n"
    assert len(fake.accounts[EMAIL].keys) == 1

    revoked = credentials("participant_1", "--project", PROJECT, "--revoke")
    assert revoked.exit_code == 0, revoked.output
    assert f"service account: {EMAIL} disabled" in revoked.output
    assert fake.accounts[EMAIL].keys == [] and fake.accounts[EMAIL].disabled
    assert READER not in bigquery.datasets["b8760_participant_1"]["access"]
    assert f"  - {json.dumps(READER, sort_keys=True)}" in revoked.output
