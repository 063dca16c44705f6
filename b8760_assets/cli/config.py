"""`b8760 config ...`: check a platform configuration folder."""

import click


@click.group()
def config() -> None:
    """Platform configuration (properties.xml and meter XML files)."""
