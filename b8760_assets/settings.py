"""The few settings that choose the platform and where its local state lives.

Everything else (ports, service URLs) belongs to the module that uses it; these are the
ones shared by the CLI, the Dagster definitions and the tests.
"""

import os
from pathlib import Path

CHECKOUT_DIR = Path(__file__).resolve().parents[1]
SAMPLE_PLATFORM_DIR = CHECKOUT_DIR / "sample_platform"


def platform_dir() -> Path:
    """The platform configuration folder: connectors' properties.xml and meter XML files."""
    return Path(os.environ.get("B8760_PLATFORM_DIR") or SAMPLE_PLATFORM_DIR)


def state_dir() -> Path:
    """Local state (Dagster instance, emulator data, logs); git-ignored in the checkout."""
    return Path(os.environ.get("B8760_STATE_DIR") or CHECKOUT_DIR / ".b8760")


def gcp_project() -> str | None:
    """The GCP project to run against; unset means the local stack."""
    return os.environ.get("B8760_GCP_PROJECT") or None


def landing_bucket() -> str:
    """The bucket external connectors upload to, one folder (prefix) per connector."""
    return os.environ.get("B8760_LANDING_BUCKET") or "landing_zone"
