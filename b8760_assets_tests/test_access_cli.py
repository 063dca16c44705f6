"""`b8760 access check|audit|apply` as an operator runs them. Live policies come from
gcp_fake.FakeGcp (the recording fake, see test_onboarding.py), which `gcp.connect` is pointed
at, and the warehouse's datasets from bigquery_fake.FakeBigQuery (the emulator enforces no
access); on the local stack the views go to the session's bqemulator."""

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from b8760_assets.access import gcp
from b8760_assets.access.onboarding import onboard
from b8760_assets.access.participants import issue
from b8760_assets.access.policy import platform_scope
from b8760_assets.cli import main
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.bigquery_fake import FakeBigQuery
from b8760_assets_tests.config_files import copy_sample_platform, properties_xml
from b8760_assets_tests.gcp_fake import FakeGcp

PROJECT = "benchmark8760"
EXT_CONN1 = f"serviceAccount:b8760-ext-conn1@{PROJECT}.iam.gserviceaccount.com"
OWN = "projects/_/buckets/landing_zone/objects/ext_conn1/a.csv"
OTHER = "projects/_/buckets/landing_zone/objects/ext_conn10/a.csv"
PARTICIPANT_1 = f"serviceAccount:b8760dl-participant-1@{PROJECT}.iam.gserviceaccount.com"
SEED_METER_HOUR = "coned/standardized/3/2021-11-08T14:00:00"
OWN_HOUR = f"projects/_/buckets/participant_1/objects/{SEED_METER_HOUR}"
# The module, not the `access` command that b8760_assets.cli exports under the same name.
ACCESS_CLI = importlib.import_module("b8760_assets.cli.access")


pytestmark = pytest.mark.usefixtures("sample_settings")


@pytest.fixture
def bigquery(bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    """conftest's fake, as the warehouse the command reaches in GCP."""
    monkeypatch.setattr(ACCESS_CLI, "warehouse_resource", lambda project: bigquery.warehouse())
    return bigquery


@pytest.fixture
def fake(fake: FakeGcp, bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch) -> FakeGcp:
    """conftest's fake, as the IAM the command reaches in GCP (and its warehouse, which
    audit and apply reach too)."""
    monkeypatch.setattr(gcp, "connect", lambda project: fake.iam())
    return fake


def b8760(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def check(principal: str, permission: str, resource: str, *options: str) -> Result:
    return b8760(
        "access", "check", "--principal", principal, "--permission", permission,
        "--resource", resource, "--project", PROJECT, *options,
    )  # fmt: skip


def audit_after_viewer_added(fake: FakeGcp, home: str) -> str:
    """What audit says (and that it fails) once ext_conn1 may read all of home."""
    fake.policies[home]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": [EXT_CONN1]}
    )
    drift = b8760("access", "audit", "--project", PROJECT)
    assert drift.exit_code == 1
    return drift.output


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
    assert result.output.count("missing view: ") == 4
    assert result.output.count("missing access: ") == 2 + 4  # groups; views' authorizations
    buckets = "gs://landing_zone, gs://participant_1, gs://participant_2"
    datasets = "b8760, b8760_participant_1, b8760_participant_2"
    assert f"16 finding(s) in {buckets}; datasets {datasets}" in result.output

    platform = load_platform(SAMPLE_PLATFORM_DIR)
    for name in ("ext_conn1", "ext_conn10"):
        onboard(fake.iam(), platform.connectors[name], platform_scope(PROJECT), tmp_path / name)
    applied = b8760("access", "apply", "--project", PROJECT)
    assert applied.exit_code == 0, applied.output
    assert "gs://participant_1 IAM policy: unchanged" in applied.output  # ext_conn10 added it

    clean = b8760("access", "audit", "--project", PROJECT)
    assert clean.exit_code == 0, clean.output
    assert clean.output.splitlines()[0] == (
        "gs://landing_zone IAM policy: 7 of 1,500 principals, 0 of 250 groups (0% full); "
        "6 bindings, 4 conditional"
    )
    assert clean.output.splitlines()[-1].startswith("0 finding(s)")

    assert audit_after_viewer_added(fake, "landing_zone").startswith(
        f"unconditional grant: gs://landing_zone: roles/storage.objectViewer to {EXT_CONN1}"
    )


def test_apply_names_accounts_that_onboarding_has_not_made(fake: FakeGcp) -> None:
    result = b8760("access", "apply", "--project", PROJECT)
    assert result.exit_code == 1
    account = f"b8760-ext-conn10@{PROJECT}.iam.gserviceaccount.com"  # the fake names the first
    assert f"Service account {account} does not exist" in result.output
    assert "run the same command again in a minute" in result.output


def test_apply_on_the_local_stack_prints_the_plan_and_writes_the_views(
    monkeypatch: pytest.MonkeyPatch, warehouse: WarehouseResource
) -> None:
    monkeypatch.setattr(ACCESS_CLI, "warehouse_resource", lambda: warehouse)
    result = b8760("access", "apply")
    assert result.exit_code == 0, result.output
    assert "The local stack has no IAM" in result.output
    assert '+        "group:b8760-participant-2@example.org"' in result.output
    assert f"{warehouse.table_id('readings')} does not exist" in result.output
    assert "dataset access: not written: the local warehouse answers anyone" in result.output
    assert result.output.endswith("6 grant(s) on landing_zone, participant_1, participant_2\n")


def test_check_live_reads_the_bucket_s_policy(fake: FakeGcp, tmp_path: Path) -> None:
    assert check(EXT_CONN1, "storage.objects.get", OWN, "--live").exit_code == 1
    connector = load_platform(SAMPLE_PLATFORM_DIR).connectors["ext_conn1"]
    onboard(fake.iam(), connector, platform_scope(PROJECT), tmp_path / "key.json")

    result = check(EXT_CONN1, "storage.objects.get", OWN, "--live")
    assert result.exit_code == 0, result.output
    live = "gs://landing_zone, gs://landing_zone/ext_conn1/"  # the bucket's, and a folder's if any
    assert f"policy:     the live policy of {live} in project {PROJECT}" in result.output


@pytest.mark.parametrize(
    "permission, resource, verdict",
    [
        ("storage.objects.get", OWN_HOUR, 0),
        ("storage.objects.get", f"projects/_/buckets/participant_2/objects/{SEED_METER_HOUR}", 1),
        ("storage.objects.get", "projects/_/buckets/landing_zone/objects/ext_conn1/a.csv", 1),
        ("storage.objects.create", "projects/_/buckets/participant_1/objects/coned/x", 1),
        ("storage.objects.create", "projects/_/buckets/landing_zone/objects/ext_conn1/x", 1),
        ("storage.objects.delete", OWN_HOUR, 1),
    ],
)  # fmt: skip
def test_check_a_participant_s_download_account(
    permission: str, resource: str, verdict: int
) -> None:
    result = check(PARTICIPANT_1, permission, resource)
    assert result.exit_code == verdict, result.output


def test_audit_reports_a_download_account_s_drift(fake: FakeGcp, tmp_path: Path) -> None:
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    for name in ("ext_conn1", "ext_conn10"):
        onboard(fake.iam(), platform.connectors[name], platform_scope(PROJECT), tmp_path / name)
    issue(fake.iam(), "participant_1", "participant_1", platform_scope(PROJECT), tmp_path / "p1")
    assert b8760("access", "apply", "--project", PROJECT).exit_code == 0
    assert b8760("access", "audit", "--project", PROJECT).exit_code == 0

    fake.policies["participant_2"]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": [PARTICIPANT_1]}
    )
    for binding in fake.policies["participant_1"]["bindings"]:
        binding["members"] = [m for m in binding["members"] if m != PARTICIPANT_1]
    drift = b8760("access", "audit", "--project", PROJECT)
    assert drift.exit_code == 1
    assert drift.output.splitlines()[:2] == [
        f"unconditional grant: gs://participant_2: roles/storage.objectViewer to {PARTICIPANT_1} "
        "(unconditional): reaches every object of gs://participant_2",
        f"missing grant: gs://participant_1: roles/storage.objectViewer to {PARTICIPANT_1} "
        "(unconditional): the configuration implies it; b8760 access apply adds it",
    ]


def test_apply_in_gcp_writes_the_views_and_their_access(
    fake: FakeGcp, bigquery: FakeBigQuery, tmp_path: Path
) -> None:
    platform = load_platform(SAMPLE_PLATFORM_DIR)
    for name in ("ext_conn1", "ext_conn10"):
        onboard(fake.iam(), platform.connectors[name], platform_scope(PROJECT), tmp_path / name)

    dry = b8760("access", "apply", "--project", PROJECT, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would fix: missing view: b8760_participant_1: readings" in dry.output
    assert bigquery.calls("POST", "/tables") == [] and bigquery.calls("PATCH") == []

    result = b8760("access", "apply", "--project", PROJECT)
    assert result.exit_code == 0, result.output
    assert "view b8760_participant_2.meters: created" in result.output
    assert "dataset b8760_participant_1 access: updated" in result.output
    assert '  + {"groupByEmail": "b8760-participant-1@example.org", "role": "READER"}' in (
        result.output
    )
    assert len(bigquery.calls("POST", "/tables")) == 4
    again = b8760("access", "apply", "--project", PROJECT)
    assert "dataset b8760 access: unchanged" in again.output
    assert "view b8760_participant_1.readings: unchanged" in again.output


def test_audit_warns_when_a_policy_is_80_percent_full(fake: FakeGcp) -> None:
    """1,197 more project viewers (never findings) beside GCS's 3: 1,200 of 1,500."""
    viewers = [f"projectViewer:{number}" for number in range(1_000, 2_197)]
    fake.policies["landing_zone"]["bindings"].append(
        {"role": "roles/storage.legacyBucketReader", "members": viewers}
    )
    result = b8760("access", "audit", "--project", PROJECT)

    assert "gs://landing_zone IAM policy: 1,200 of 1,500 principals" in result.output
    assert (
        "warning: gs://landing_zone IAM policy is 80% full (IAM refuses it past 1,500 principals "
        "or 250 groups): set landing.access in the platform's platform.xml to managed_folders"
    ) in result.output
    assert "warning: gs://participant_1" not in result.output


@pytest.fixture
def folders_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample platform with landing.access managed_folders."""
    root = copy_sample_platform(tmp_path)
    (root / "platform.xml").write_text(properties_xml([("landing.access", "managed_folders")]))
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(root))
    return root


def test_managed_folders_check_and_audit(
    folders_platform: Path, fake: FakeGcp, tmp_path: Path
) -> None:
    denied = check(EXT_CONN1, "storage.objects.get", OTHER)
    assert denied.exit_code == 1
    allowed = check(EXT_CONN1, "storage.objects.create", OWN)
    assert allowed.exit_code == 0, allowed.output
    assert (
        f"decided by: gs://landing_zone/ext_conn1/: projects/{PROJECT}/roles/b8760LandingUploader "
        f"to {EXT_CONN1} (unconditional)"
    ) in allowed.output
    listing = check(EXT_CONN1, "storage.objects.list", "projects/_/buckets/landing_zone")
    assert listing.exit_code == 1

    platform = load_platform(folders_platform)
    scope = platform_scope(PROJECT, platform)
    for name in ("ext_conn1", "ext_conn10"):
        onboard(fake.iam(), platform.connectors[name], scope, tmp_path / name)
    assert b8760("access", "apply", "--project", PROJECT).exit_code == 0
    live = check(EXT_CONN1, "storage.objects.create", OWN, "--live")
    assert live.exit_code == 0, live.output

    clean = b8760("access", "audit", "--project", PROJECT)
    assert clean.exit_code == 0, clean.output
    assert (
        "2 managed folder policies, the fullest gs://landing_zone/ext_conn1/ IAM policy: 1 of "
        "1,500 principals"
    ) in clean.output
    assert "gs://landing_zone IAM policy: 3 of 1,500 principals" in clean.output  # GCS's own

    assert audit_after_viewer_added(fake, "landing_zone/ext_conn10/").startswith(
        f"unconditional grant: gs://landing_zone/ext_conn10/: roles/storage.objectViewer to "
        f"{EXT_CONN1} (unconditional): reaches every object of gs://landing_zone/ext_conn10/"
    )
