"""A new external connector's properties.xml, written from a template and checked with the
whole platform, so that onboarding never leaves a configuration that does not load."""

import shutil
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from xml.sax.saxutils import escape

from b8760_assets.config.platform import (
    CONNECTORS_FOLDER,
    PROPERTIES_FILE,
    Platform,
    check_platform,
)
from b8760_assets.config.problems import ConfigError
from b8760_assets.config.properties import DEFAULT_MAX_FILE_BYTES

TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">
<properties>
  <comment>External connector: uploads to {landing_folder} with its own service account.
    Written by b8760 connector onboard.</comment>
{entries}
</properties>
"""


@dataclass(frozen=True)
class NewConnector:
    """An external connector's values as written to its properties.xml; loading the platform
    checks them, so that a bad value is reported like any configuration problem."""

    name: str
    participant: str
    bucket: str
    timezone: str
    unit: str
    start_hour: str
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    formats: str = "csv"

    def properties_xml(self, landing_bucket: str) -> str:
        entries = {
            "connector.name": self.name,
            "connector.external": "true",
            "participant.name": self.participant,
            "participant.bucket": self.bucket,
            "file.formats": self.formats,
            "file.max.bytes": str(self.max_file_bytes),
            "data.timezone": self.timezone,
            "data.unit": self.unit,
            "data.start.hour": self.start_hour,
        }
        return TEMPLATE.format(
            landing_folder=escape(f"{landing_bucket}/{self.name}/"),
            entries="\n".join(
                f'  <entry key="{key}">{escape(value)}</entry>' for key, value in entries.items()
            ),
        )


def add_connector(root: Path, connector: NewConnector, landing_bucket: str) -> Platform:
    """Write the connector's properties.xml into the platform folder and load the platform.

    If the platform then has problems, the file is removed again and ConfigError lists them.
    """
    folder = root / CONNECTORS_FOLDER / connector.name
    folder.mkdir(parents=True)  # FileExistsError: never write over another connector's folder
    (folder / PROPERTIES_FILE).write_text(connector.properties_xml(landing_bucket))
    platform, problems = check_platform(root)
    if platform is None:
        shutil.rmtree(folder)
        raise ConfigError(problems)
    return platform


def try_connector(root: Path, connector: NewConnector, landing_bucket: str) -> Platform:
    """The platform as it would be with the connector, checked in a copy: root is untouched.

    The copy is gone on return: use the platform's values, not its paths.
    """
    with TemporaryDirectory() as folder:
        return add_connector(
            Path(shutil.copytree(root, Path(folder) / root.name)), connector, landing_bucket
        )
