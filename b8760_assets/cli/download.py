"""`b8760 download`: a participant's standardized meter-hour, by the seed's download contract."""

from datetime import datetime

import click

from b8760_assets import settings
from b8760_assets.layout import hour_of_segment, meter_hour_name
from b8760_assets.resources import storage_resource
from b8760_assets.storage import ObjectMissing


def utc_hour(text: str) -> datetime:
    try:
        return hour_of_segment(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an hour like 2021-11-08T14:00:00 (UTC)", param_hint="HOUR"
        ) from None


@click.command()
@click.argument("bucket")
@click.argument("connector")
@click.argument("meter_id")
@click.argument("hour")
@click.option(
    "--url", "url_only", is_flag=True, help="Print the JSON API URL instead of the object."
)
def download(bucket: str, connector: str, meter_id: str, hour: str, url_only: bool) -> None:
    """Print the readings of METER_ID in HOUR (UTC) from BUCKET, e.g.

    b8760 download participant_1 coned 3 2021-11-08T14:00:00
    """
    name = meter_hour_name(connector, meter_id, utc_hour(hour))
    storage = storage_resource(project=settings.gcp_project())
    if url_only:
        click.echo(storage.download_url(bucket, name))
        return
    try:
        click.echo(storage.read(bucket, name).data.decode())
    except ObjectMissing as error:
        raise click.ClickException(
            f"{error}: no readings of meter {meter_id} in that hour (yet)"
        ) from None
