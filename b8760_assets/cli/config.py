"""`b8760 config ...`: check a platform configuration folder."""

from pathlib import Path

import click

from b8760_assets import settings
from b8760_assets.config import Platform, check_platform


@click.group()
def config() -> None:
    """Platform configuration (platform.xml, properties.xml and meter XML files)."""


def _summary(platform: Platform) -> list[str]:
    """A line for the platform, then one per connector: who operates it, how many meters."""
    connectors = platform.connectors
    external = [name for name, connector in connectors.items() if connector.external]
    lines = [
        f"{platform.root}: {len(connectors)} connectors, {len(platform.participants)} "
        f"participants, {len(platform.meters)} meters; external: {', '.join(external) or 'none'}; "
        f"landing access: {platform.settings.landing_access}"
    ]
    width = max(map(len, connectors), default=0)
    for name, connector in connectors.items():
        kind = "external" if connector.external else "internal"
        lines.append(
            f"  {name:<{width}}  {kind:<8} {connector.participant} (bucket {connector.bucket}), "
            f"{len(platform.meters_of(name))} meters, "
            f"from {connector.start_hour:%Y-%m-%dT%H:%M:%SZ}"
        )
    return lines


@config.command()
@click.argument("platform_dir", required=False, type=click.Path(path_type=Path))
def check(platform_dir: Path | None) -> None:
    """Check every file of PLATFORM_DIR and list all problems (exit 1 if any).

    PLATFORM_DIR defaults to $B8760_PLATFORM_DIR, else the sample platform.
    """
    root = platform_dir or settings.platform_dir()
    platform, problems = check_platform(root)
    if platform is None:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{len(problems)} problem(s) in {root}; paths are relative to it.", err=True)
        raise SystemExit(1)
    click.echo("\n".join(_summary(platform)))
