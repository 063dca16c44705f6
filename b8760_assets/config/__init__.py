"""The platform's configuration: connectors' properties.xml and meter XML files.

Pure functions (no Dagster, no network); docs/configuration.md describes the files.
"""

from b8760_assets.config.meters import Meter, read_meters
from b8760_assets.config.platform import Platform, check_platform, load_platform
from b8760_assets.config.problems import ConfigError, ConfigProblem
from b8760_assets.config.properties import ConnectorProperties, read_properties

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ConnectorProperties",
    "Meter",
    "Platform",
    "check_platform",
    "load_platform",
    "read_meters",
    "read_properties",
]
