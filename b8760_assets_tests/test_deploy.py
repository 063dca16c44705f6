"""deploy/ as far as this machine can check it (no Kubernetes, no helm, no Docker engine): the
production instance loads with Dagster's own schema, the Helm values say the same as that
instance, nothing in either is a secret, and the image is built from what the checkout has."""

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer

from b8760_assets.access.names import ACCOUNT_PREFIX, PARTICIPANT_ACCOUNT_PREFIX
from b8760_assets.landing.sensors import CONNECTOR_TAG
from b8760_assets.meter_links import READINGS_MERGES_AT_ONCE
from b8760_assets_tests.dagster_processes import CHECKOUT

DEPLOY = CHECKOUT / "deploy"
RELEASE = "dagster"  # the Helm release; the chart names the instance's ConfigMap after it
# The instance's settings that the chart writes from its values: (instance path, values path).
RENDERED = [
    ("concurrency.pools.default_limit", "concurrency.pools.defaultLimit"),
    ("concurrency.runs.max_concurrent_runs", "concurrency.runs.maxConcurrentRuns"),
    ("concurrency.runs.tag_concurrency_limits", "concurrency.runs.tagConcurrencyLimits"),
    ("run_retries.max_retries", "dagsterDaemon.runRetries.maxRetries"),
    ("run_monitoring.start_timeout_seconds", "dagsterDaemon.runMonitoring.startTimeoutSeconds"),
    ("run_monitoring.poll_interval_seconds", "dagsterDaemon.runMonitoring.pollIntervalSeconds"),
    ("run_monitoring.max_resume_run_attempts", "dagsterDaemon.runMonitoring.maxResumeRunAttempts"),
    ("run_monitoring.free_slots_after_run_end_seconds",
     "dagsterDaemon.runMonitoring.freeSlotsAfterRunEndSeconds"),
    ("run_coordinator.config.dequeue_use_threads",
     "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.dequeueUseThreads"),
    ("run_coordinator.config.dequeue_num_workers",
     "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.dequeueNumWorkers"),
    ("storage.postgres.postgres_db.scheme", "postgresql.postgresqlScheme"),
    ("storage.postgres.postgres_db.params", "postgresql.postgresqlParams"),
    ("storage.postgres.postgres_db.port", "postgresql.service.port"),
    ("compute_logs.config.prefix", "computeLogManager.config.gcsComputeLogManager.prefix"),
    ("compute_logs.config.upload_interval",
     "computeLogManager.config.gcsComputeLogManager.uploadInterval"),
    ("run_launcher.config.job_namespace", "runLauncher.config.k8sRunLauncher.jobNamespace"),
    ("run_launcher.config.env_vars", "runLauncher.config.k8sRunLauncher.envVars"),
    ("run_launcher.config.resources", "runLauncher.config.k8sRunLauncher.resources"),
    ("run_launcher.config.image_pull_policy", "runLauncher.config.k8sRunLauncher.imagePullPolicy"),
    ("run_launcher.config.postgres_password_secret", "global.postgresqlSecretName"),
    ("run_launcher.config.service_account_name", "serviceAccount.name"),
    ("run_launcher.config.dagster_home", "global.dagsterHome"),
    ("telemetry.enabled", "telemetry.enabled"),
]  # fmt: skip


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def at(document: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        document = document[key]
    return document


def test_the_production_instance_loads_with_dagsters_schema() -> None:
    """The instance's own schema, then each pluggable class's (the launcher, the compute logs,
    the run coordinator): a key misspelt anywhere, or a class that is not installed, fails."""
    config, _ = dagster_instance_config(str(DEPLOY))
    for section in ("run_launcher", "compute_logs", "run_coordinator"):
        plugged = config[section]
        klass = class_from_code_pointer(plugged["module"], plugged["class"])
        result = validate_config(klass.config_type(), plugged["config"])
        assert result.success, (section, [error.message for error in result.errors])
    assert "postgres" in config["storage"]


def test_a_wrong_key_in_the_production_instance_is_refused(tmp_path: Path) -> None:
    config = read_yaml(DEPLOY / "dagster.yaml")
    config["storage"]["postgres"]["postgres_db"]["passwd"] = {"env": "DAGSTER_PG_PASSWORD"}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(DagsterInvalidConfigError, match="passwd"):
        dagster_instance_config(str(tmp_path))


def test_the_helm_values_say_what_the_production_instance_says() -> None:
    instance, values = read_yaml(DEPLOY / "dagster.yaml"), read_yaml(DEPLOY / "helm/values.yaml")
    for instance_path, values_path in RENDERED:
        assert at(instance, instance_path) == at(values, values_path), (instance_path, values_path)
    assert instance["run_launcher"]["config"]["instance_config_map"] == f"{RELEASE}-instance"
    assert values["dagsterDaemon"]["runRetries"]["enabled"] is instance["run_retries"]["enabled"]
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    assert instance["run_monitoring"]["enabled"] is True
    assert values["postgresql"]["enabled"] is False  # Cloud SQL, not a database in the cluster


def test_the_production_limits_are_the_platforms() -> None:
    """The readings' MERGEs one at a time, as locally; one run per connector at a time."""
    concurrency = read_yaml(DEPLOY / "dagster.yaml")["concurrency"]
    assert concurrency["pools"]["default_limit"] == READINGS_MERGES_AT_ONCE
    [per_connector] = concurrency["runs"]["tag_concurrency_limits"]
    assert per_connector == {
        "key": CONNECTOR_TAG,
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    }


def test_every_pod_runs_as_the_platforms_own_service_account() -> None:
    """The webserver, daemon and code server (the chart's service account) and the runs (the
    launcher's) share one Kubernetes account, bound to a GCP account that no connector or
    participant can be given (their ids begin otherwise)."""
    values = read_yaml(DEPLOY / "helm/values.yaml")
    account = values["serviceAccount"]
    assert account["create"] is True
    assert values["global"]["serviceAccountName"] == account["name"]
    email = account["annotations"]["iam.gke.io/gcp-service-account"]
    account_id, domain = email.split("@")
    assert domain == "PROJECT_ID.iam.gserviceaccount.com"
    assert not account_id.startswith((ACCOUNT_PREFIX, PARTICIPANT_ACCOUNT_PREFIX))


SECRET_KEY = re.compile(r"password|secret|token|credential|private.?key", re.IGNORECASE)


def secret_looking_values(document: Any, path: str = "") -> list[str]:
    """Paths of keys that name a secret and hold a literal value, not the name of a place
    (environment variable, Kubernetes Secret) that holds it."""
    if isinstance(document, list):
        return [p for i, item in enumerate(document) for p in secret_looking_values(item, path)]
    if not isinstance(document, dict):
        return []
    found = []
    for key, value in document.items():
        where = f"{path}.{key}".lstrip(".")
        names_a_place = isinstance(value, dict) and set(value) == {"env"}
        names_a_secret = key.endswith(("SecretName", "_secret")) or key.startswith("generate")
        if SECRET_KEY.search(key) and not (names_a_place or names_a_secret):
            found.append(where)
        found.extend(secret_looking_values(value, where))
    return found


@pytest.mark.parametrize("name", ["dagster.yaml", "helm/values.yaml"])
def test_no_secret_is_in_deploy(name: str) -> None:
    document = read_yaml(DEPLOY / name)
    assert secret_looking_values(document) == []
    assert "BEGIN PRIVATE KEY" not in (DEPLOY / name).read_text()


def test_the_secret_check_finds_a_password() -> None:
    assert secret_looking_values({"postgresql": {"postgresqlPassword": "hunter2"}}) == [
        "postgresql.postgresqlPassword"
    ]


def test_the_image_is_built_from_the_checkout_and_serves_its_code_location() -> None:
    """What the Dockerfile copies exists, and it serves the module pyproject.toml names, as
    the Helm values' code server does."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    platform_default = re.search(r"ARG PLATFORM_DIR=(\S+)", dockerfile)
    assert platform_default is not None
    copied = [
        source.replace("${PLATFORM_DIR}", platform_default.group(1))
        for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE)
        for source in line.split()
    ]
    assert copied and all((CHECKOUT / source).exists() for source in copied), copied
    module = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["tool"]["dagster"][
        "module_name"
    ]
    assert f'"--module-name", "{module}"' in dockerfile
    [deployment] = read_yaml(DEPLOY / "helm/values.yaml")["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
