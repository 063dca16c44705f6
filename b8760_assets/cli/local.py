"""`b8760 local ...`: the local stack (fake-gcs-server, bqemulator)."""

import click


@click.group()
def local() -> None:
    """Start, stop and inspect the local stack."""
