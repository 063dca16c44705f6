"""Uploads as an external connector makes them, for the landing-zone tests."""

from dataclasses import replace
from datetime import UTC, datetime

from b8760_assets import local_stack
from b8760_assets.layout import ConnectorLayout
from b8760_assets.storage import StorageResource, StoredObject

# The tests' arrival hours are in 2021 and 2022, and an hour takes in only what was uploaded
# before it ended: uploads are dated back by this much (the local stack's stand-in for time
# passing), which keeps their order.
SHIFT = datetime.now(UTC) - datetime(2021, 1, 1, tzinfo=UTC)

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
    storage: StorageResource,
    layout: ConnectorLayout,
    name: str,
    data: bytes,
    *,
    at: datetime | None = None,
) -> StoredObject:
    """A create-only upload to the connector's landing prefix, as its service account may,
    made `at` that time (by default SHIFT before now)."""
    return dated(storage.write(layout.landing_bucket, layout.landing_prefix + name, data), at)


def dated(written: StoredObject, at: datetime | None = None) -> StoredObject:
    """The object as if uploaded `at` that time (by default SHIFT before it was)."""
    local_stack.backdate_upload(written.bucket, written.name, at or written.created - SHIFT)
    return replace(written, created=at or written.created - SHIFT)
