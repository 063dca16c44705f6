"""`b8760 local ...`: the local stack (fake-gcs-server, bqemulator)."""

import dataclasses
import json
import shlex
from datetime import UTC, datetime
from typing import Any

import click

from b8760_assets import local_stack
from b8760_assets.demo_platform import write_demo_platform
from b8760_assets.local_stack import LocalStackError, ServiceStatus
from b8760_assets.partitions import HOUR, floor_hour


class _StackErrorsAsMessages(click.Group):
    """A LocalStackError already says what to do: show it, exit 1, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LocalStackError as error:
            raise click.ClickException(str(error)) from error


def _line(service: ServiceStatus) -> str:
    state = f"running (pid {service.pid})" if service.running else "stopped"
    return f"{service.name} {service.url} {state}"


@click.group(cls=_StackErrorsAsMessages)
def local() -> None:
    """Start, stop and inspect the local stack."""


@local.command()
def start() -> None:
    """Start the emulators (or find them running); one line per service."""
    for service in local_stack.start_all():
        click.echo(_line(service))


@local.command()
def stop() -> None:
    """Stop the emulators this stack started, and nothing else."""
    stopped = local_stack.stop_all()
    click.echo(f"stopped {' '.join(stopped)}" if stopped else "nothing to stop")


@local.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per service, for scripts.")
def status(as_json: bool) -> None:
    """Name, URL and state of each service."""
    services = local_stack.status()
    if as_json:
        rows = [{**dataclasses.asdict(s), "log_file": str(s.log_file)} for s in services]
        click.echo(json.dumps(rows, indent=2))
    else:
        for service in services:
            click.echo(_line(service))


@local.command()
def env() -> None:
    """`export` lines that point any client at the stack: eval "$(b8760 local env)"."""
    for name, value in local_stack.env_exports().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@local.command()
def boto() -> None:
    """Write the boto config that gsutil needs to reach the stack, and the line that points
    gsutil at it: eval "$(b8760 local boto)"."""
    path = local_stack.write_boto_config()
    click.echo(f"# gsutil's config for the local stack: {path}")
    click.echo(f"export BOTO_CONFIG={shlex.quote(str(path))}")


@local.command()
def platform() -> None:
    """Write the demo's platform (the sample platform, its connectors starting at the last
    complete hour, or earlier if a demo ran) and print its folder: what `make dev` runs."""
    written = write_demo_platform(floor_hour(datetime.now(UTC)) - HOUR)
    click.echo(written.root)
