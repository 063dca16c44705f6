"""The demo's platform: the sample platform as `make demo` and `make dev` run it, written
under the local state at demo time so that its partitions start when the demo does.

Arrival hours are upload times, and Dagster shows an hour as other than Missing only once it
has an event of its own (docs/scaling.md). The checked-in sample starts its connectors in 2021
to 2023, for the tests that replay uploads dated then; run today, that is years of hours no
upload could have arrived in, each Missing in the partitions view (issue 15). Hours before a
connector's start are not partitions, so the copy starts at the demo's hour. It differs from
sample_platform/ in that one value only: each properties.xml's `data.start.hour`.
"""

import shutil
from datetime import datetime
from pathlib import Path

from lxml import etree

from b8760_assets import settings
from b8760_assets.config import Platform, check_platform, load_platform
from b8760_assets.config.platform import CONNECTORS_FOLDER, PROPERTIES_FILE
from b8760_assets.config.xml_parsing import SAFE_PARSING

START_KEY = "data.start.hour"
# As the sample's files write it (lxml's own quotes with '), so that only the start differs.
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def demo_platform_dir() -> Path:
    """Where the demo writes its platform; the Makefile points B8760_PLATFORM_DIR here for
    `make demo` and `make dev`, so that the demo's runs, the UI and the sensor agree."""
    return settings.state_dir() / "platform"


def write_demo_platform(first_hour: datetime) -> Platform:
    """Copy sample_platform/ to demo_platform_dir(), each connector starting at first_hour or
    at the start an earlier copy gave it, whichever is earlier: each demo takes an hour no
    earlier demo took (stepping back an hour, cli/demo.py's free_hour), and the hours earlier
    demos ran must stay partitions. The sample is copied afresh, so the copy follows the
    checkout; change sample_platform/, not the copy."""
    root = demo_platform_dir()
    starts = _starts(root)
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(settings.SAMPLE_PLATFORM_DIR, root)
    for folder in (root / CONNECTORS_FOLDER).iterdir():
        _set_start(folder / PROPERTIES_FILE, min(starts.get(folder.name, first_hour), first_hour))
    return load_platform(root)


def _starts(root: Path) -> dict[str, datetime]:
    """The connectors' first hours in the copy at root, if there is one that loads."""
    platform, _ = check_platform(root)
    if platform is None:
        return {}
    return {name: connector.start_hour for name, connector in platform.connectors.items()}


def _set_start(path: Path, hour: datetime) -> None:
    """Rewrite the start entry, the rest of the file (declaration, DOCTYPE, comments) kept as
    it was."""
    tree = etree.parse(str(path), etree.XMLParser(**SAFE_PARSING))
    [entry] = tree.getroot().findall(f"entry[@key='{START_KEY}']")
    entry.text = f"{hour:%Y-%m-%dT%H:00:00Z}"
    path.write_bytes(XML_DECLARATION + etree.tostring(tree, encoding="UTF-8") + b"\n")
