"""Corrections always win: a reading uploaded later beats one uploaded earlier, in the
meter-hour objects and in the warehouse, whatever hours run, backfill or replay, in whatever
order. Through the real chain (`materialize()` on the local stack); uploads are dated by the
local stack's clock, as GCS dates them by its own."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from b8760_assets.layout import meter_hour_name
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import upload
from b8760_assets_tests.own_platform import OwnPlatform, own_platform

CONNECTOR = "ext_conn1"
METER = "CHI-0001"  # Wh, multiplier 1: values come through as uploaded
INTERVALS = [
    datetime(2022, 3, 1, 14, tzinfo=UTC),
    datetime(2022, 3, 1, 14, 15, tzinfo=UTC),
    datetime(2022, 3, 1, 15, tzinfo=UTC),
]
H = datetime(2022, 3, 1, 14, tzinfo=UTC)


def readings_csv(values: dict[datetime, float]) -> bytes:
    rows = [
        f"{METER},{start:%Y-%m-%dT%H:%M:%SZ},{start + timedelta(minutes=15):%Y-%m-%dT%H:%M:%SZ},"
        f"{value},Wh"
        for start, value in sorted(values.items())
    ]
    return ("meter_id,start,end,value,unit\n" + "\n".join(rows) + "\n").encode()


def object_values(platform: OwnPlatform) -> dict[datetime, float]:
    """What participants download: each interval's value in the meter's hour objects."""
    layout = platform.layouts[CONNECTOR]
    found = {}
    for hour in sorted({floor_hour(start) for start in INTERVALS}):
        stored = platform.storage.stat(layout.bucket, meter_hour_name(CONNECTOR, METER, hour))
        if stored is None:
            continue
        content = platform.storage.read(layout.bucket, stored.name).data
        for interval in json.loads(content)["intervals"]:
            start = datetime.fromisoformat(interval["start"])
            found[start] = interval["value"]
    return found


def warehouse_values(platform: OwnPlatform) -> dict[datetime, float]:
    rows = platform.warehouse.query(
        f"SELECT interval_start, value FROM readings WHERE meter_id = '{METER}'"
    )
    return {row["interval_start"]: row["value"] for row in rows}


def waiting(platform: OwnPlatform) -> list[str]:
    layout = platform.layouts[CONNECTOR]
    prefix = layout.landing_prefix
    return [
        o.name.removeprefix(prefix) for o in platform.storage.list(layout.landing_bucket, prefix)
    ]


def test_a_correction_waiting_during_a_backfill_of_past_hours_still_wins(
    storage: StorageResource,
) -> None:
    platform = own_platform(storage)
    platform.register_meters()
    layout = platform.layouts[CONNECTOR]
    upload(storage, layout, "original.csv", readings_csv({H: 10.0}), at=H + timedelta(minutes=10))
    assert platform.run(CONNECTOR, H).success  # the sensor's run of the hour
    corrected_at = H + timedelta(days=3, minutes=20)
    upload(storage, layout, "correction.csv", readings_csv({H: 12.0}), at=corrected_at)

    # Someone backfills two days of past hours that never ran.
    assert platform.run(CONNECTOR, H - 48 * HOUR, H - HOUR).success
    assert waiting(platform) == ["correction.csv"]  # no past hour took the later upload

    assert platform.run(CONNECTOR, floor_hour(corrected_at)).success
    assert waiting(platform) == []
    assert object_values(platform) == {H: 12.0}
    assert warehouse_values(platform) == {H: 12.0}


@dataclass
class Timeline:
    """What the test did, in the model's terms: uploads by time, and the hours that ran."""

    now: datetime
    uploads: list[tuple[datetime, str, dict[datetime, float]]] = field(default_factory=list)
    ran: list[datetime] = field(default_factory=list)

    def expected(self) -> dict[datetime, float]:
        """Per interval, the reading of the latest upload that holds it."""
        latest: dict[datetime, tuple[datetime, float]] = {}
        for at, _, values in self.uploads:
            for start, value in values.items():
                if start not in latest or at > latest[start][0]:
                    latest[start] = (at, value)
        return {start: value for start, (_, value) in latest.items()}


UPLOAD = st.tuples(
    st.just("upload"),
    st.integers(1, 150),  # minutes since the step before
    st.sampled_from("azm"),  # a name prefix, so that later uploads may sort first
    st.dictionaries(st.sampled_from(INTERVALS), st.integers(0, 999).map(float), min_size=1),
)
SENSOR_HOUR = st.tuples(st.just("sensor"), st.integers(0, 90))
BACKFILL = st.tuples(st.just("backfill"), st.integers(0, 30), st.integers(1, 6))
REPLAY = st.tuples(st.just("replay"), st.integers(0, 10))
STEPS = st.lists(st.one_of(UPLOAD, SENSOR_HOUR, BACKFILL, REPLAY), min_size=2, max_size=7)


def take_step(platform: OwnPlatform, timeline: Timeline, step: tuple) -> None:
    """One thing that happens: an upload (at the timeline's clock), the sensor's run of the
    last complete hour, a backfill of a range of past hours, or a replay of an hour that ran."""
    kind, *args = step
    last_complete = floor_hour(timeline.now) - HOUR
    if kind == "upload":
        minutes, prefix, values = args
        timeline.now += timedelta(minutes=minutes)
        name = f"{prefix}-{len(timeline.uploads)}.csv"
        layout = platform.layouts[CONNECTOR]
        upload(platform.storage, layout, name, readings_csv(values), at=timeline.now)
        timeline.uploads.append((timeline.now, name, values))
        return
    if kind == "sensor":
        timeline.now += timedelta(minutes=args[0])
        hours = [floor_hour(timeline.now) - HOUR]
    elif kind == "backfill":
        back, length = args
        last = last_complete - back * HOUR
        hours = [last - offset * HOUR for offset in range(length)][::-1]
    else:
        if not timeline.ran:
            return
        hours = [timeline.ran[args[0] % len(timeline.ran)]]
    assert platform.run(CONNECTOR, hours[0], hours[-1]).success
    timeline.ran.extend(hours)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
# Two uploads taken in by one hour, the later one's name sorting first; then a correction
# that waits through a backfill of the past.
@example(
    steps=[
        ("upload", 5, "z", {INTERVALS[0]: 1.0}),
        ("upload", 10, "a", {INTERVALS[0]: 2.0, INTERVALS[2]: 5.0}),
        ("sensor", 60),
        ("upload", 200, "a", {INTERVALS[2]: 6.0}),
        ("backfill", 3, 2),
    ]
)
def test_the_latest_upload_wins_whatever_runs_in_whatever_order(
    storage: StorageResource, steps: list[tuple]
) -> None:
    platform = own_platform(storage)
    platform.register_meters()
    timeline = Timeline(now=datetime(2022, 3, 1, 10, 5, tzinfo=UTC))
    for step in steps:
        take_step(platform, timeline, step)
    # Later, every hour that any upload could go to runs (or replays) in one backfill.
    first, last = (
        (timeline.uploads[0][0], timeline.uploads[-1][0])
        if timeline.uploads
        else (timeline.now, timeline.now)
    )
    assert platform.run(CONNECTOR, floor_hour(first), floor_hour(last)).success
    assert waiting(platform) == []
    assert object_values(platform) == timeline.expected()
    assert warehouse_values(platform) == timeline.expected()
