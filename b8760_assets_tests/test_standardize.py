"""Normalizing a file's readings: units and multipliers, meters no meter XML describes,
unconvertible units, local time across a clock change, and the versions that decide which
reading of an interval is the newest."""

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from b8760_assets.readings_schema import POLARS_SCHEMA
from b8760_assets.standardized.normalize import UNCONVERTIBLE_SCHEMA, Normalizer
from b8760_assets_tests.reference import newest_per_interval
from b8760_assets_tests.standardized_rows import (
    CONED,
    METERS,
    reading,
    readings,
    standardized,
    utc,
)

ARRIVAL = utc(2021, 11, 8, 15)
START = utc(2021, 11, 8, 14)


def values_of(rows: pl.DataFrame) -> list[tuple]:
    return rows.select("meter_id", "value", "unit", "meter_known").rows()


def test_values_are_stated_in_the_meters_unit_with_its_multiplier() -> None:
    rows = standardized(
        reading("3", START, 1.25, "kWh", line=2),  # kWh meter, multiplier 40
        reading("3", START, 1250.0, "Wh", line=3),
        reading("3", START, 0.5, "MWh", line=4),
        reading("1", START, 9.0, "Wh", line=5),  # 9 * 0.001 would be 0.009000000000000001
        reading("4", START, 2.0, "MMBtu", line=6),  # therm meter, multiplier 1.02
        uploaded_at=ARRIVAL,
    )
    assert values_of(rows) == [
        ("3", 50.0, "kWh", True),
        ("3", 50.0, "kWh", True),
        ("3", 20_000.0, "kWh", True),
        ("1", 0.009, "kWh", True),
        ("4", pytest.approx(20.4), "therm", True),
    ]


def test_a_meter_no_meter_xml_describes_is_kept_as_uploaded() -> None:
    rows = standardized(reading("99", START, 3.5, "gal", line=2, quality=None), uploaded_at=ARRIVAL)
    assert values_of(rows) == [("99", 3.5, "gal", False)]
    assert rows.row(0, named=True)["local_start"] == "2021-11-08T09:00:00-05:00"  # coned's zone
    assert rows["quality"].to_list() == [None]


def test_units_of_another_dimension_are_reported_and_left_out() -> None:
    normalized = Normalizer(CONED, METERS).normalize(
        readings(
            reading("3", START, 1.0, "kWh", line=2),
            reading("3", START, 4.0, "kW", line=3),
            reading("99", START, 4.0, "kW", line=4),  # unknown meter: nothing to convert to
        ),
        arrival_hour=ARRIVAL,
        uploaded_at=ARRIVAL,
        source_file="mixed.csv",
    )
    assert normalized.rows["source_line"].to_list() == [2, 4]
    assert_frame_equal(
        normalized.unconvertible,
        pl.DataFrame(
            [("3", "kW", "kWh", "mixed.csv", 3)], schema=UNCONVERTIBLE_SCHEMA, orient="row"
        ),
    )


def test_rows_carry_their_origin_and_match_the_schema() -> None:
    rows = standardized(
        reading("3", START, 1.25, line=7), uploaded_at=ARRIVAL, source_file="a/b.csv"
    )
    assert rows.schema == POLARS_SCHEMA
    row = rows.row(0, named=True)
    assert {key: row[key] for key in ("connector", "participant", "arrival_hour")} == {
        "connector": "coned",
        "participant": "participant_1",
        "arrival_hour": ARRIVAL,
    }
    assert (row["source_file"], row["source_line"]) == ("a/b.csv", 7)


def test_an_empty_file_normalizes_to_empty_frames_of_the_schemas() -> None:
    normalized = Normalizer(CONED, METERS).normalize(
        readings(),
        arrival_hour=ARRIVAL,
        uploaded_at=ARRIVAL,
        source_file="x.csv",
    )
    assert normalized.rows.schema == POLARS_SCHEMA and normalized.rows.is_empty()
    assert normalized.unconvertible.schema == UNCONVERTIBLE_SCHEMA


def test_local_start_is_in_each_meters_zone_across_the_fall_back() -> None:
    # 2021-11-07: New York's clocks go back from 02:00 EDT to 01:00 EST, at 06:00 UTC.
    hours = [utc(2021, 11, 7, hour) for hour in (4, 5, 6, 7)]
    rows = standardized(
        *(reading("3", start, 1.0, line=line, minutes=60) for line, start in enumerate(hours)),
        reading("chicago", hours[1], 1.0, line=10, minutes=60),
        reading("99", hours[2], 1.0, line=11, minutes=60),
        uploaded_at=utc(2021, 11, 8, 0),
    )
    assert rows.select("meter_id", "local_start").rows() == [
        ("3", "2021-11-07T00:00:00-04:00"),
        ("3", "2021-11-07T01:00:00-04:00"),
        ("3", "2021-11-07T01:00:00-05:00"),
        ("3", "2021-11-07T02:00:00-05:00"),
        ("chicago", "2021-11-07T00:00:00-05:00"),
        ("99", "2021-11-07T01:00:00-05:00"),
    ]


def test_a_later_upload_wins_whatever_its_file_is_called() -> None:
    older = standardized(reading("3", START, 1.0, line=9), uploaded_at=ARRIVAL, source_file="z.csv")
    newer = standardized(
        reading("3", START, 2.0, line=2),
        uploaded_at=utc(2021, 11, 8, 16),
        source_file="a.csv",
    )
    for rows in (pl.concat([older, newer]), pl.concat([newer, older])):
        assert newest_per_interval(rows)["value"].to_list() == [80.0]


def test_within_a_file_a_later_line_wins() -> None:
    rows = standardized(
        reading("3", START, 2.0, line=10),
        reading("3", START, 1.0, line=9),
        uploaded_at=ARRIVAL,
    )
    assert newest_per_interval(rows)["source_line"].to_list() == [10]


def test_newest_per_interval_keeps_one_row_per_interval_in_key_order() -> None:
    rows = standardized(
        reading("3", utc(2021, 11, 8, 14, 15), 1.0, line=2),
        reading("1", START, 1.0, line=3),
        reading("3", START, 1.0, line=4),
        reading("3", utc(2021, 11, 8, 14, 15), 1.0, line=5),
        uploaded_at=ARRIVAL,
    )
    newest = newest_per_interval(rows)
    assert newest.schema == POLARS_SCHEMA
    assert newest.select("meter_id", "interval_start", "source_line").rows() == [
        ("1", START, 3),
        ("3", START, 4),
        ("3", utc(2021, 11, 8, 14, 15), 5),
    ]


def test_on_equal_versions_the_last_row_given_wins() -> None:
    """A replay under a corrected meter XML: same version, new value."""
    first = standardized(reading("3", START, 1.0, line=2), uploaded_at=ARRIVAL)
    replayed = first.with_columns(value=pl.lit(7.0))
    assert newest_per_interval(pl.concat([first, replayed]))["value"].to_list() == [7.0]
    assert newest_per_interval(pl.concat([replayed, first]))["value"].to_list() == [40.0]


# Names that are prefixes of one another, and characters on both sides of "|".
FILE_NAMES = st.text(alphabet=" !.0a|~é/", min_size=1, max_size=4)
VERSIONS = st.tuples(
    st.sampled_from([utc(2021, 11, 8, 9), utc(2021, 11, 8, 15), utc(2022, 1, 1, 0)]),
    FILE_NAMES,
    st.integers(min_value=1, max_value=10**10 - 1),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(VERSIONS, min_size=2, max_size=8, unique=True))
def test_the_newest_is_the_greatest_upload_time_then_file_then_line(
    origins: list[tuple[datetime, str, int]],
) -> None:
    """Whatever order an interval's rows come in, the greatest (upload time, file, line)
    wins, in Python's order of those tuples: a file whose name is a prefix of another's is
    the older."""
    rows = pl.concat(
        standardized(reading("3", START, float(n), line=line), uploaded_at=hour, source_file=file)
        for n, (hour, file, line) in enumerate(origins)
    )
    [row] = newest_per_interval(rows).rows(named=True)
    assert (row["uploaded_at"], row["source_file"], row["source_line"]) == max(origins)


def test_a_value_that_would_overflow_in_its_meters_unit_is_left_out_and_reported() -> None:
    """The landing check refuses such a file; a meter whose multiplier grew since its files
    were taken in can still make one, which must never become inf in an object."""
    normalized = Normalizer(CONED, METERS).normalize(
        readings(
            reading("3", START, 1e308, line=2),  # times meter 3's multiplier of 40
            reading("3", START + timedelta(minutes=15), 1.0, line=3),
        ),
        arrival_hour=ARRIVAL,
        uploaded_at=ARRIVAL,
        source_file="big.csv",
    )
    assert normalized.rows.select("source_line", "value").rows() == [(3, 40.0)]
    assert normalized.unconvertible["source_line"].to_list() == [2]
