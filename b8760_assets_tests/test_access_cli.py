"""`b8760 access check|audit|apply` as an operator runs them. Live policies come from
gcp_fake.FakeGcp (the one fake, see test_onboarding.py), which `gcp.connect` is pointed at."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from b8760_assets.access import gcp
from b8760_assets.access.onboarding import onboard
from b8760_assets.access.policy import platform_scope
from b8760_assets.cli import main
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets_tests.gcp_fake import FakeGcp

PROJECT = "benchmark8760"
EXT_CONN1 = f"serviceAccount:b8760-ext-conn1@{PROJECT}.iam.gserviceaccount.com"
OWN = "projects/_/buckets/landing_zone/objects/ext_conn1/a.csv"
OTHER = "projects/_/buckets/landing_zone/objects/ext_conn10/a.csv"


@pytest.fixture(autouse=True)
def sample_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("B8760_GCP_PROJECT", "B8760_PLATFORM_DIR", "B8760_LANDING_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("B8760_PARTICIPANT_GROUP_DOMAIN", "example.org")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGcp]:
    with FakeGcp(PROJECT) as fake:
        for bucket in ("landing_zone", "participant_1", "participant_2"):
            fake.add_bucket(bucket)
        monkeypatch.setattr(gcp, "connect", lambda project: fake.iam())
        yield fake


def b8760(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def check(principal: str, permission: str, resource: str, *options: str) -> Result:
    return b8760(
        "access", "check", "--principal", principal, "--permission", permission,
        "--resource", resource, "--project", PROJECT, *options,
    )  # fmt: skip


def test_check_allows_a_connector_its_own_folder() -> None:
    result = check(EXT_CONN1, "storage.objects.create", OWN)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "allow"
    assert lines[2] == (
        f"  decided by: gs://landing_zone: roles/storage.objectCreator to {EXT_CONN1} if "
        'resource.name.startsWith("projects/_/buckets/landing_zone/objects/ext_conn1/")'
    )


def test_check_denies_ext_conn1_the_folder_of_ext_conn10() -> None:
    result = check(EXT_CONN1, "storage.objects.get", OTHER)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "deny"
    assert f"the condition is false for {OTHER}" in result.output


def test_check_evaluates_listing_against_the_bucket() -> None:
    prefix = "projects/_/buckets/landing_zone/objects/ext_conn1/"
    result = check(EXT_CONN1, "storage.objects.list", prefix)
    assert result.exit_code == 1
    bucket_wide = "projects/_/buckets/landing_zone (storage.objects.list is bucket-wide)"
    assert f"checked on: {bucket_wide}" in result.output


def test_check_refuses_a_resource_that_is_not_a_gcs_name() -> None:
    result = check(EXT_CONN1, "storage.objects.get", "gs://landing_zone/ext_conn1/a.csv")
    assert result.exit_code == 2
    assert "not a GCS resource name" in result.output


def test_audit_needs_a_project() -> None:
    result = b8760("access", "audit")
    assert result.exit_code == 2
    assert "Give --project" in result.output


def test_audit_reports_drift_until_the_platform_is_applied(fake: FakeGcp, tmp_path: Path) -> None:
    result = b8760("access", "audit", "--project", PROJECT)
    assert result.exit_code == 1
    assert result.output.count("missing grant: ") == 6
    buckets = "gs://landing_zone, gs://participant_1, gs://participant_2"
    assert f"6 finding(s) in {buckets}" in result.output

    platform = load_platform(SAMPLE_PLATFORM_DIR)
    for name in ("ext_conn1", "ext_conn10"):
        onboard(fake.iam(), platform.connectors[name], platform_scope(PROJECT), tmp_path / name)
    applied = b8760("access", "apply", "--project", PROJECT)
    assert applied.exit_code == 0, applied.output
    assert "gs://participant_1 IAM policy: unchanged" in applied.output  # ext_conn10 added it

    clean = b8760("access", "audit", "--project", PROJECT)
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith("0 finding(s)")

    fake.policies["landing_zone"]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": [EXT_CONN1]}
    )
    drift = b8760("access", "audit", "--project", PROJECT)
    assert drift.exit_code == 1
    assert drift.output.startswith(
        f"unconditional grant: gs://landing_zone: roles/storage.objectViewer to {EXT_CONN1}"
    )


def test_apply_names_accounts_that_onboarding_has_not_made(fake: FakeGcp) -> None:
    result = b8760("access", "apply", "--project", PROJECT)
    assert result.exit_code == 1
    account = f"b8760-ext-conn10@{PROJECT}.iam.gserviceaccount.com"  # the fake names the first
    assert f"Service account {account} does not exist" in result.output
    assert "run the same command again in a minute" in result.output


def test_apply_on_the_local_stack_prints_the_plan() -> None:
    result = b8760("access", "apply")
    assert result.exit_code == 0, result.output
    assert "The local stack has no IAM" in result.output
    assert '+        "group:b8760-participant-2@example.org"' in result.output
    assert result.output.endswith("6 grant(s) on landing_zone, participant_1, participant_2\n")


def test_check_live_reads_the_bucket_s_policy(fake: FakeGcp, tmp_path: Path) -> None:
    assert check(EXT_CONN1, "storage.objects.get", OWN, "--live").exit_code == 1
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    onboard(fake.iam(), connector, platform_scope(PROJECT), tmp_path / "key.json")

    result = check(EXT_CONN1, "storage.objects.get", OWN, "--live")
    assert result.exit_code == 0, result.output
    assert f"policy:     the live policy of gs://landing_zone in project {PROJECT}" in result.output
