"""completeness.py: the share of expected intervals present per meter and local day, on small
cases (DST days, partial days, 15-minute meters, overlaps) and against a slot-by-slot
reference on random ones."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from b8760_assets.completeness import (
    DEFAULT_INTERVAL_MINUTES,
    ExpectedIntervals,
    completeness,
    expected_intervals,
    interval_minutes,
)
from b8760_assets_tests.reference import completeness_by_slot

NEW_YORK = "America/New_York"
SCHEMA = {
    "meter_id": pl.String,
    "interval_start": pl.Datetime("us", "UTC"),
    "interval_end": pl.Datetime("us", "UTC"),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def intervals(meter_id: str, start: datetime, minutes: int, count: int) -> list[tuple]:
    length = timedelta(minutes=minutes)
    return [(meter_id, start + n * length, start + (n + 1) * length) for n in range(count)]


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def table(
    rows: list[tuple], meters: dict[str, ExpectedIntervals], start: datetime, end: datetime
) -> dict[tuple[str, date], tuple[int, int]]:
    """(meter, day) → (present, expected), and every share is present / expected."""
    result = completeness(frame(rows), meters, start, end)
    rows_out = result.iter_rows()
    assert all(share == present / expected for _, _, present, expected, share in rows_out)
    return {(m, d): (p, e) for m, d, p, e, _ in result.iter_rows()}


def test_a_fall_back_day_expects_25_hours_and_a_spring_forward_day_23() -> None:
    hourly, quarter = ExpectedIntervals(60, NEW_YORK), ExpectedIntervals(15, NEW_YORK)
    fall = utc(2021, 11, 7, 4)  # local midnight, EDT
    rows = intervals("h", fall, 60, 25) + intervals("q", fall, 15, 100)
    assert table(rows, {"h": hourly, "q": quarter}, fall, fall + timedelta(hours=25)) == {
        ("h", date(2021, 11, 7)): (25, 25),
        ("q", date(2021, 11, 7)): (100, 100),
    }
    spring = utc(2022, 3, 13, 5)  # local midnight, EST
    rows = intervals("h", spring, 60, 23) + intervals("q", spring, 15, 90)
    assert table(rows, {"h": hourly, "q": quarter}, spring, spring + timedelta(hours=23)) == {
        ("h", date(2022, 3, 13)): (23, 23),
        ("q", date(2022, 3, 13)): (90, 92),
    }


def test_a_day_with_a_gap_and_a_meter_with_no_readings() -> None:
    day = utc(2021, 11, 8, 5)
    rows = intervals("3", day, 60, 10) + intervals("3", day + timedelta(hours=12), 60, 12)
    meters = {"3": ExpectedIntervals(60, NEW_YORK), "4": ExpectedIntervals(60, NEW_YORK)}
    assert table(rows, meters, day, day + timedelta(days=1)) == {
        ("3", date(2021, 11, 8)): (22, 24),
        ("4", date(2021, 11, 8)): (0, 24),
    }


def test_days_cut_by_the_range_count_only_their_part_inside() -> None:
    start, end = utc(2021, 11, 8, 15), utc(2021, 11, 9, 7)  # 10:00 EST to 02:00 next day
    rows = intervals("q", utc(2021, 11, 8, 0), 15, 29 * 4)  # to the 9th's local midnight
    assert table(rows, {"q": ExpectedIntervals(15, NEW_YORK)}, start, end) == {
        ("q", date(2021, 11, 8)): (14 * 4, 14 * 4),
        ("q", date(2021, 11, 9)): (0, 2 * 4),
    }


def test_overlaps_count_once_and_only_whole_intervals_count() -> None:
    hour = utc(2021, 11, 8, 5)
    rows = [
        ("h", hour, hour + timedelta(hours=1)),  # the 00:00 hour, three times over
        ("h", hour, hour + timedelta(hours=1)),
        ("h", hour + timedelta(minutes=30), hour + timedelta(minutes=60)),
        ("h", hour + timedelta(hours=1), hour + timedelta(minutes=90)),  # two halves: the 01:00
        ("h", hour + timedelta(minutes=90), hour + timedelta(hours=2)),
        ("h", hour + timedelta(hours=2), hour + timedelta(minutes=135)),  # a quarter of 02:00
        ("q", hour, hour + timedelta(hours=1)),  # an hour covers four quarters
        ("other", hour, hour + timedelta(hours=1)),  # not pictured
    ]
    meters = {"h": ExpectedIntervals(60, NEW_YORK), "q": ExpectedIntervals(15, NEW_YORK)}
    assert table(rows, meters, hour, hour + timedelta(hours=3)) == {
        ("h", date(2021, 11, 8)): (2, 3),
        ("q", date(2021, 11, 8)): (4, 12),
    }


def test_a_half_hour_zone_days_start_at_its_midnight() -> None:
    kolkata = ExpectedIntervals(60, "Asia/Kolkata")  # UTC+05:30: local midnight 18:30 UTC
    start, end = utc(2021, 11, 7, 18, 30), utc(2021, 11, 9, 18, 30)
    rows = intervals("k", utc(2021, 11, 7, 19), 60, 24)  # the UTC hours of the 8th's day
    assert table(rows, {"k": kolkata}, start, end) == {
        ("k", date(2021, 11, 8)): (24, 24),
        ("k", date(2021, 11, 9)): (0, 24),
    }


def test_interval_lengths_are_the_readings_most_common() -> None:
    hour = utc(2021, 11, 8, 5)
    rows = (
        intervals("q", hour, 15, 8)
        + intervals("q", hour + timedelta(hours=3), 60, 2)
        + intervals("tie", hour, 30, 2)
        + intervals("tie", hour + timedelta(hours=3), 60, 2)
    )
    assert interval_minutes(frame(rows)) == {"q": 15, "tie": 30}
    assert expected_intervals(frame(rows), {"none": "Asia/Tokyo", "q": NEW_YORK}, "UTC") == {
        "none": ExpectedIntervals(DEFAULT_INTERVAL_MINUTES, "Asia/Tokyo"),
        "q": ExpectedIntervals(15, NEW_YORK),
        "tie": ExpectedIntervals(30, "UTC"),
    }


ZONES = ("UTC", NEW_YORK, "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago")
reading = st.tuples(
    st.sampled_from(["a", "b"]),
    st.integers(0, 4 * 24 * 3 - 1),  # the quarter hour it starts at
    st.sampled_from([5, 15, 30, 60]),  # its minutes
)


@settings(max_examples=150, deadline=None)
@given(
    readings=st.lists(reading, max_size=40),
    lengths=st.tuples(st.sampled_from([15, 30, 60]), st.sampled_from([15, 60])),
    zones=st.tuples(st.sampled_from(ZONES), st.sampled_from(ZONES)),
    base=st.sampled_from([utc(2021, 11, 6, 2), utc(2022, 9, 10, 1), utc(2021, 4, 3, 10)]),
    cut=st.tuples(st.integers(0, 30), st.integers(42, 72)),
)
def test_the_table_is_the_slot_by_slot_reference(readings, lengths, zones, base, cut) -> None:
    rows = [
        (meter, base + timedelta(minutes=15 * at), base + timedelta(minutes=15 * at + minutes))
        for meter, at, minutes in readings
    ]
    meters = {name: ExpectedIntervals(lengths[n], zones[n]) for n, name in enumerate("ab")}
    start, end = base + timedelta(hours=cut[0]), base + timedelta(hours=cut[1])
    assert table(rows, meters, start, end) == completeness_by_slot(rows, meters, start, end)
