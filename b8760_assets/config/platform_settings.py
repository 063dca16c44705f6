"""The platform's own settings, `<platform>/platform.xml`: what holds for every connector
rather than for one. The file is optional; without it every setting has its default.

It is a java.util.Properties XML file like a connector's properties.xml, read by the same
rules; docs/configuration.md lists its keys.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from b8760_assets.config import values
from b8760_assets.config.entries import Key, read_entries
from b8760_assets.config.problems import ConfigProblem

PLATFORM_FILE = "platform.xml"

# How external connectors are granted their landing folder (docs/onboarding.md, "Access at
# scale"). The seed's two conditional roles per connector stay the default.
CONDITIONAL_ROLES = "conditional_roles"
CUSTOM_ROLE = "custom_role"
MANAGED_FOLDERS = "managed_folders"
LANDING_ACCESS_MODES = (CONDITIONAL_ROLES, CUSTOM_ROLE, MANAGED_FOLDERS)


@dataclass(frozen=True)
class PlatformSettings:
    """The settings of platform.xml, each its default when the file does not set it."""

    landing_access: str = CONDITIONAL_ROLES


KEYS: Mapping[str, Key] = {
    "landing.access": Key(
        "landing_access",
        lambda text: values.one_of(text, LANDING_ACCESS_MODES, "landing access mode"),
        default=CONDITIONAL_ROLES,
    ),
}


def read_platform_settings(path: Path) -> tuple[PlatformSettings | None, list[ConfigProblem]]:
    """The settings in path (the defaults if there is no such file), or every problem in it."""
    if not path.exists():
        return PlatformSettings(), []
    entries, problems = read_entries(path, KEYS)
    if entries is None or problems:
        return None, problems
    return PlatformSettings(**entries.fields), []
