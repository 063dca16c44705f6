"""Onboarding and offboarding an external connector: its grants, account, key and readme.

Every step is idempotent, so a command that failed half-way is finished by running it again,
and running it twice changes nothing.
"""

import shlex
from pathlib import Path

from b8760_assets.access.accounts import (
    AccountSpec,
    Provisioned,
    gcloud_provisioning,
    gcloud_withdrawal,
    provision,
    withdraw,
)
from b8760_assets.access.gcp import Iam, PolicyChange
from b8760_assets.access.names import account_email, account_id
from b8760_assets.access.policy import (
    AccessScope,
    Grant,
    connector_grants,
    participant_grant,
)
from b8760_assets.config import ConnectorProperties
from b8760_assets.layout import README_NAME, landing_prefix
from b8760_assets.storage import StorageResource

# Each format a connector may deliver, as its readme names it (docs/uploading.md has the rest).
FORMAT_SUMMARIES = {
    "csv": "csv (UTF-8, first line meter_id,start,end,value,unit)",
    "espi": "espi (Green Button ESPI XML, as your utility exports it)",
}


def onboarding_grants(connector: ConnectorProperties, scope: AccessScope) -> list[Grant]:
    """The connector's two landing grants, and its participant's download grant."""
    return [
        *connector_grants(connector.name, scope),
        participant_grant(connector.participant, connector.bucket, scope),
    ]


def readme_text(connector: ConnectorProperties, landing_bucket: str) -> str:
    """The short guide a connector reads by name at gs://<landing>/<connector>/readme.txt."""
    folder = f"gs://{landing_bucket}/{landing_prefix(connector.name)}"
    return f"""\
Benchmark 8760 landing zone: connector {connector.name}

Your folder     {folder}
Participant     {connector.participant}
File format     {", ".join(FORMAT_SUMMARIES[name] for name in connector.formats)}
Time zone       {connector.timezone} (for timestamps written without a UTC offset)
Default unit    {connector.unit} (when a row's unit is empty)
Largest file    {connector.max_file_bytes:,} bytes; empty files are refused

Your service account may create new objects in your folder and read them back by their
exact name. It cannot list objects, overwrite or delete them, or reach anything outside
your folder. Give every upload a new name, for example with the time you produced it.

  gcloud auth activate-service-account --key-file YOUR-KEY.json
  gsutil -h "x-goog-if-generation-match:0" cp FILE {folder}

Every hour the platform takes in the files waiting in your folder: a file that is no longer
there has been taken in. The full rules (format, names, what happens next) are in the Guide
on uploading, docs/uploading.md, which Benchmark 8760 support sends with your key.
"""


def place_readme(storage: StorageResource, landing_bucket: str, text: str, connector: str) -> str:
    """Write the connector's readme.txt; what was done: written, unchanged or replaced.

    The readme is the platform's, so a different one is replaced, at the generation read, so
    that two onboardings at once cannot both win.
    """
    name = landing_prefix(connector) + README_NAME
    data = text.encode()
    existing = storage.stat(landing_bucket, name)
    if existing is None:
        storage.write(landing_bucket, name, data, content_type="text/plain; charset=utf-8")
        return "written"
    if storage.read(landing_bucket, name, generation=existing.generation).data == data:
        return "unchanged"
    storage.write(
        landing_bucket,
        name,
        data,
        if_generation_match=existing.generation,
        content_type="text/plain; charset=utf-8",
    )
    return "replaced"


def connector_account(connector: str, participant: str, landing_bucket: str) -> AccountSpec:
    """The connector's upload account."""
    return AccountSpec(
        account_id(connector),
        display_name=f"b8760 connector {connector}",
        description=f"Uploads {participant}'s data to "
        f"gs://{landing_bucket}/{landing_prefix(connector)} (b8760 connector onboard)",
    )


def onboard(
    iam: Iam,
    connector: ConnectorProperties,
    scope: AccessScope,
    key_file: Path,
    new_key: bool = False,
) -> Provisioned:
    """Create (or find) the connector's account, add its grants and its participant's, and
    make a key if it has none (or new_key)."""
    spec = connector_account(connector.name, connector.participant, scope.landing_bucket)
    return provision(iam, spec, onboarding_grants(connector, scope), key_file, new_key)


def offboard(iam: Iam, connector: str, scope: AccessScope) -> tuple[list[PolicyChange], bool]:
    """Remove the connector's grants and disable its account (its keys stop working).

    The participant's grant stays: the participant still owns its data.
    """
    email = account_email(connector, scope.project)
    return withdraw(iam, email, connector_grants(connector, scope))


def gcloud_onboarding(
    connector: ConnectorProperties, scope: AccessScope, key_file: Path
) -> list[str]:
    """The gcloud commands that do what `b8760 connector onboard` does in GCP."""
    spec = connector_account(connector.name, connector.participant, scope.landing_bucket)
    grants = onboarding_grants(connector, scope)
    readme = f"gs://{scope.landing_bucket}/{landing_prefix(connector.name)}{README_NAME}"
    return [
        *gcloud_provisioning(spec, grants, scope.project, key_file),
        shlex.join(["gcloud", "storage", "cp", README_NAME, readme]),
    ]


def gcloud_offboarding(connector: str, scope: AccessScope) -> list[str]:
    """The gcloud commands that do what `b8760 connector offboard` does."""
    email = account_email(connector, scope.project)
    return gcloud_withdrawal(email, connector_grants(connector, scope), scope.project)
