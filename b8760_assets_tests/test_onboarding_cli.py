"""`b8760 connector onboard|offboard` as an operator runs them.

On the local stack (no project) for real: properties.xml in a copy of the sample platform, the
readme in the session's fake-gcs-server, the IAM part printed. With --project, the IAM calls
go to gcp_fake.FakeGcp (the one fake, see test_onboarding.py): `gcp.connect` is pointed at it,
and the readme still goes to the session's fake-gcs-server.
"""

import importlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from b8760_assets.access import gcp
from b8760_assets.cli import main
from b8760_assets.config import load_platform
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.storage import StorageResource
from b8760_assets_tests.config_files import copy_sample_platform, properties_xml
from b8760_assets_tests.gcp_fake import FakeGcp

PROJECT = "benchmark8760"
EMAIL = f"b8760-ext-conn2@{PROJECT}.iam.gserviceaccount.com"
# The module, not the `connector` command that b8760_assets.cli exports under the same name.
CONNECTOR_CLI = importlib.import_module("b8760_assets.cli.connector")


@pytest.fixture
def platform_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_sample_platform(tmp_path)
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(root))
    monkeypatch.setenv("B8760_PARTICIPANT_GROUP_DOMAIN", "example.org")
    return root


@pytest.fixture
def landing(storage: StorageResource, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"landing-{os.urandom(6).hex()}"
    monkeypatch.setenv("B8760_LANDING_BUCKET", name)
    return name


@pytest.fixture
def fake(
    landing: str, storage: StorageResource, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGcp]:
    with FakeGcp(PROJECT) as fake:
        for bucket in (landing, "participant_1", "participant_2"):
            fake.add_bucket(bucket)
        storage.ensure_bucket(landing)  # in GCP the landing bucket is provisioned
        monkeypatch.setattr(gcp, "connect", lambda project: fake.iam())
        monkeypatch.setattr(CONNECTOR_CLI, "storage_resource", lambda project: storage)
        yield fake


def b8760(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def onboard_ext_conn2(*options: str) -> Result:
    return b8760(
        "connector", "onboard", "ext_conn2", "--participant", "participant_2",
        "--timezone", "America/Denver", "--start-hour", "2024-05-01T00:00:00Z", *options,
    )  # fmt: skip


def test_onboarding_on_the_local_stack(
    platform_dir: Path, landing: str, storage: StorageResource
) -> None:
    result = onboard_ext_conn2()

    assert result.exit_code == 0, result.output
    connector = load_platform(platform_dir).connectors["ext_conn2"]
    assert (connector.external, connector.participant, connector.bucket) == (
        True, "participant_2", "participant_2",
    )  # fmt: skip
    assert (connector.timezone, f"{connector.start_hour:%Y-%m-%dT%H}") == (
        "America/Denver", "2024-05-01T00",
    )  # fmt: skip
    readme = storage.read(landing, "ext_conn2/readme.txt").data.decode()
    assert f"gs://{landing}/ext_conn2/" in readme and "America/Denver" in readme
    assert "The local stack has no IAM: nothing is granted here." in result.output
    assert (
        "gcloud storage buckets add-iam-policy-binding gs://"
        + landing
        + " --member=serviceAccount:b8760-ext-conn2@b8760-local.iam.gserviceaccount.com"
        " --role=roles/storage.objectCreator '--condition=expression=resource.name.startsWith("
        f'"projects/_/buckets/{landing}/objects/ext_conn2/"),title=landing folder ext_conn2/\''
    ) in result.output

    again = onboard_ext_conn2()
    assert again.exit_code == 0, again.output
    assert "exists, for participant_2: kept" in again.output
    assert f"readme: gs://{landing}/ext_conn2/readme.txt unchanged" in again.output


def test_a_start_before_the_onboarding_hour_is_noted_with_its_missing_hours(
    platform_dir: Path, landing: str
) -> None:
    """Hours before onboarding can take no upload in: each would read as Missing for good."""
    started = datetime.now(UTC)
    result = onboard_ext_conn2("--dry-run")

    assert result.exit_code == 0, result.output
    counts = {
        (floor_hour(moment) - datetime(2024, 5, 1, tzinfo=UTC)) // HOUR
        for moment in (started, datetime.now(UTC))
    }
    assert any(
        f"note: data.start.hour 2024-05-01T00:00:00Z is {count:,} hour(s) before this one; no "
        "upload can arrive in them, so each will read as Missing in the partitions view (the "
        "default, this hour, has none)" in result.output
        for count in counts
    ), result.output
    default = b8760("connector", "onboard", "ext_conn3", "--participant", "participant_2")
    assert default.exit_code == 0, default.output
    assert "note:" not in default.output


def test_a_dry_run_changes_nothing(
    platform_dir: Path, landing: str, storage: StorageResource
) -> None:
    storage.ensure_bucket(landing)
    result = onboard_ext_conn2("--dry-run")

    assert result.exit_code == 0, result.output
    assert not (platform_dir / "connectors" / "ext_conn2").exists()
    assert storage.stat(landing, "ext_conn2/readme.txt") is None
    assert '<entry key="data.timezone">America/Denver</entry>' in result.output
    assert f"readme: would write gs://{landing}/ext_conn2/readme.txt:" in result.output
    assert '+  "version": 3' in result.output


def test_an_invalid_value_writes_nothing(platform_dir: Path, landing: str) -> None:
    result = onboard_ext_conn2("--unit", "kwh")
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert "connectors/ext_conn2/properties.xml:13: data.unit: unknown unit 'kwh'" in result.output
    assert not (platform_dir / "connectors" / "ext_conn2").exists()
    load_platform(platform_dir)


@pytest.mark.parametrize(
    "args, message",
    [
        (["ext_conn1", "--participant", "participant_1"], "connector ext_conn1 exists"),
        (["coned", "--participant", "participant_1"], "an internal connector of participant_1"),
        (["ext_conn2", "--participant", "participant_9"], "give its bucket with --bucket"),
        (["ext_conn2", "--participant", "participant_2", "--bucket", "participant_1"],
         "participant_2's bucket is participant_2"),
        (["ext/conn2", "--participant", "participant_2"], "is not a connector name"),
    ],
)  # fmt: skip
def test_refusals(platform_dir: Path, landing: str, args: list[str], message: str) -> None:
    result = b8760("connector", "onboard", *args, "--dry-run")
    assert result.exit_code != 0
    assert message in result.output
    assert sorted(p.name for p in (platform_dir / "connectors").iterdir()) == [
        "coned", "ext_conn1", "ext_conn10",
    ]  # fmt: skip


def test_onboarding_a_new_participant_with_its_bucket(platform_dir: Path, landing: str) -> None:
    result = b8760(
        "connector", "onboard", "ext_conn3", "--participant", "participant_3",
        "--bucket", "participant_3", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--member=group:b8760-participant-3@example.org" in result.output


def test_onboarding_in_gcp_then_the_external_party_uploads(
    platform_dir: Path, landing: str, fake: FakeGcp, storage: StorageResource, tmp_path: Path
) -> None:
    key_file = tmp_path / "ext-conn2.json"
    result = onboard_ext_conn2("--project", PROJECT, "--key-file", str(key_file))

    assert result.exit_code == 0, result.output
    assert f"service account: {EMAIL} (created)" in result.output
    assert f"gs://{landing} IAM policy: updated" in result.output
    assert f"key: written to {key_file}" in result.output
    assert storage.stat(landing, "ext_conn2/readme.txt") is not None
    assert json.loads(key_file.read_text())["client_email"] == EMAIL

    # What the external party runs with the key (on the local stack: no project).
    (tmp_path / "readings.csv").write_text("meter_id,start,end,value,unit\n")
    upload = b8760(
        "upload", "--connector", "ext_conn2", "--key-file", str(key_file),
        str(tmp_path / "readings.csv"),
    )  # fmt: skip
    assert upload.exit_code == 0, upload.output
    assert upload.output.startswith(f"as {EMAIL}")

    again = onboard_ext_conn2("--project", PROJECT)
    assert again.exit_code == 0, again.output
    assert f"gs://{landing} IAM policy: unchanged" in again.output
    assert "gs://participant_2 IAM policy: unchanged" in again.output
    assert len(fake.policy_requests("PUT")) == 2


def test_offboarding_in_gcp(
    platform_dir: Path, landing: str, fake: FakeGcp, tmp_path: Path
) -> None:
    before = fake.policies[landing]["bindings"]
    onboard_ext_conn2("--project", PROJECT, "--key-file", str(tmp_path / "key.json"))

    dry = b8760("connector", "offboard", "ext_conn2", "--project", PROJECT, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"gs://{landing} IAM policy: to change" in dry.output
    assert "gcloud iam service-accounts disable " + EMAIL in dry.output
    assert not fake.accounts[EMAIL].disabled

    result = b8760("connector", "offboard", "ext_conn2", "--project", PROJECT)
    assert result.exit_code == 0, result.output
    assert f"service account: {EMAIL} disabled" in result.output
    assert fake.policies[landing]["bindings"] == before
    assert fake.accounts[EMAIL].disabled


def test_gcp_errors_are_messages(
    platform_dir: Path, landing: str, fake: FakeGcp, tmp_path: Path
) -> None:
    fake.policies.pop("participant_2")
    result = onboard_ext_conn2("--project", PROJECT, "--key-file", str(tmp_path / "key.json"))
    assert result.exit_code == 1
    assert "Error: 404 " in result.output and "participant_2" in result.output
    assert not (tmp_path / "key.json").exists()


def test_onboarding_is_refused_when_the_landing_policy_is_full(
    platform_dir: Path, landing: str, fake: FakeGcp, tmp_path: Path
) -> None:
    """3 project members and 1,496 others: the two grants of one more connector do not fit."""
    others = [f"user:u{number}@example.org" for number in range(1_496)]
    fake.policies[landing]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": others}
    )
    result = onboard_ext_conn2("--project", PROJECT, "--key-file", str(tmp_path / "key.json"))

    assert result.exit_code == 1
    assert (
        f"gs://{landing} IAM policy would hold 1,501 principals and 0 groups, past IAM's 1,500 "
        "and 250 per policy, so nothing was changed: set landing.access in the platform's "
        "platform.xml to managed_folders"
    ) in result.output
    assert not (platform_dir / "connectors" / "ext_conn2").exists()
    assert fake.iam_requests("CreateServiceAccount") == []
    assert fake.policy_requests("PUT") == []


def test_onboarding_into_a_managed_folder(
    platform_dir: Path, landing: str, fake: FakeGcp, tmp_path: Path
) -> None:
    (platform_dir / "platform.xml").write_text(
        properties_xml([("landing.access", "managed_folders")])
    )
    dry = onboard_ext_conn2("--dry-run")  # the local stack: printed, for project b8760-local
    assert dry.exit_code == 0, dry.output
    assert "gcloud iam roles create b8760LandingUploader --project=b8760-local" in dry.output
    assert f"gcloud storage managed-folders create gs://{landing}/ext_conn2/" in dry.output
    assert (
        f"gcloud storage managed-folders add-iam-policy-binding gs://{landing}/ext_conn2/ "
        "--member=serviceAccount:b8760-ext-conn2@b8760-local.iam.gserviceaccount.com "
        "--role=projects/b8760-local/roles/b8760LandingUploader\n"
    ) in dry.output

    result = onboard_ext_conn2("--project", PROJECT, "--key-file", str(tmp_path / "key.json"))

    assert result.exit_code == 0, result.output
    assert f"gs://{landing}/ext_conn2/ IAM policy: updated" in result.output
    assert fake.policies[f"{landing}/ext_conn2/"]["bindings"] == [
        {
            "role": f"projects/{PROJECT}/roles/b8760LandingUploader",
            "members": [f"serviceAccount:{EMAIL}"],
        }
    ]
    off = b8760("connector", "offboard", "ext_conn2", "--project", PROJECT)
    assert off.exit_code == 0, off.output
    assert fake.policies[f"{landing}/ext_conn2/"]["bindings"] == []
