"""`b8760 upload`: put files in the landing zone exactly as an external connector does."""

from pathlib import Path

import click
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from b8760_assets import settings
from b8760_assets.cli.progress import progress
from b8760_assets.config.values import NAME_PATTERN
from b8760_assets.landing.file_checks import check_name
from b8760_assets.ordered_map import ordered_map
from b8760_assets.resources import storage_resource
from b8760_assets.storage import GenerationConflict, StorageResource, StoredObject


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
    outcomes = ordered_map(
        lambda path: upload_one(storage, bucket, connector, path),
        files,
        workers=storage.max_parallel_writes,
        ahead=4 * storage.max_parallel_writes,
    )
    with progress(outcomes, length=len(files), label=f"uploading {len(files)} files") as bar:
        done = list(bar)
    for outcome in done:
        if isinstance(outcome, str):
            click.echo(outcome, err=True)
        else:
            click.echo(f"{outcome.uri} ({outcome.size} bytes, generation {outcome.generation})")
    refused = sum(isinstance(outcome, str) for outcome in done)
    if len(files) > 1:
        click.echo(f"{len(files) - refused} uploaded, {refused} refused")
    if refused:
        raise SystemExit(1)


def upload_one(
    storage: StorageResource, bucket: str, connector: str, path: Path
) -> StoredObject | str:
    """The uploaded object, or why the file was refused (a name the landing check refuses,
    an object of that name already there)."""
    rejection = check_name(path.name)
    if rejection is not None:
        return f"refused {path}: {rejection.message}"
    try:
        return storage.upload_file(bucket, f"{connector}/{path.name}", path)
    except GenerationConflict as error:
        return f"refused {path}: {error}; upload it under another name"
