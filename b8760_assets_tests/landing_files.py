"""Uploads as an external connector makes them, for the landing-zone tests."""

from b8760_assets.landing.layout import ConnectorLayout
from b8760_assets.storage import StorageResource, StoredObject

# ext_conn1's meters, in its time zone (America/Chicago) and unit (Wh).
GOOD_CSV = b"""meter_id,start,end,value,unit,quality
CHI-0001,2022-03-01T08:00:00,2022-03-01T09:00:00,1200.5,,A
CHI-0001,2022-03-01T09:00:00-06:00,2022-03-01T10:00:00-06:00,1180,Wh,A
CHI-0002,2022-03-01T14:00:00Z,2022-03-01T14:15:00Z,300,Wh,E
"""
BAD_VALUE_CSV = b"""meter_id,start,end,value,unit
CHI-0001,2022-03-01T08:00:00,2022-03-01T09:00:00,1200.5,Wh
CHI-0001,2022-03-01T09:00:00,2022-03-01T10:00:00,twelve,Wh
"""


def upload(
    storage: StorageResource, layout: ConnectorLayout, name: str, data: bytes
) -> StoredObject:
    """A create-only upload to the connector's landing prefix, as its service account may."""
    return storage.write(layout.landing_bucket, layout.landing_prefix + name, data)
