"""`b8760 upload`: put files in the landing zone exactly as an external connector does."""

from pathlib import Path

import click
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from b8760_assets import settings
from b8760_assets.config.values import NAME_PATTERN
from b8760_assets.landing.file_checks import check_name
from b8760_assets.resources import storage_resource
from b8760_assets.storage import GenerationConflict


@click.command()
@click.option(
    "--connector", required=True, help="The connector whose landing folder receives the files."
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="The connector's service-account key, as `gcloud auth activate-service-account` takes it.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def upload(connector: str, key_file: str | None, files: tuple[Path, ...]) -> None:
    """Upload FILES to gs://<landing bucket>/CONNECTOR/<file name>, create-only.

    An existing object is never overwritten (upload under another name instead). With no
    GCP project configured the files go to the local stack.
    """
    if not NAME_PATTERN.fullmatch(connector):
        raise click.BadParameter(f"{connector!r} is not a connector name", param_hint="--connector")
    bucket = settings.landing_bucket()
    project = settings.gcp_project()
    if key_file:
        try:
            account = service_account.Credentials.from_service_account_file(key_file)
        except (ValueError, KeyError, DefaultCredentialsError) as error:
            raise click.BadParameter(
                f"not a service-account key file: {error}", param_hint="--key-file"
            ) from error
        note = "" if project else " (the local stack does not check credentials)"
        click.echo(f"as {account.service_account_email}{note}")
    storage = storage_resource(project=project, credentials_file=key_file)
    if project is None:
        storage.ensure_bucket(bucket)
    refused = 0
    for path in files:
        rejection = check_name(path.name)
        if rejection is not None:
            click.echo(f"refused {path}: {rejection.message}", err=True)
            refused += 1
            continue
        try:
            uploaded = storage.upload_file(bucket, f"{connector}/{path.name}", path)
        except GenerationConflict as error:
            click.echo(f"refused {path}: {error}; upload it under another name", err=True)
            refused += 1
            continue
        click.echo(f"{uploaded.uri} ({uploaded.size} bytes, generation {uploaded.generation})")
    if refused:
        raise SystemExit(1)
