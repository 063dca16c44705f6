"""`b8760`, the operator's command line."""

import click

from b8760_assets.cli.access import access
from b8760_assets.cli.config import config
from b8760_assets.cli.connector import connector
from b8760_assets.cli.demo import demo
from b8760_assets.cli.download import download
from b8760_assets.cli.local import local
from b8760_assets.cli.participant import participant
from b8760_assets.cli.report import report
from b8760_assets.cli.upload import upload
from b8760_assets.cli.warehouse import warehouse


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="b8760-assets", prog_name="b8760")
def main() -> None:
    """Operate the Benchmark 8760 data platform."""


main.add_command(access)
main.add_command(config)
main.add_command(connector)
main.add_command(demo)
main.add_command(download)
main.add_command(local)
main.add_command(participant)
main.add_command(report)
main.add_command(upload)
main.add_command(warehouse)
