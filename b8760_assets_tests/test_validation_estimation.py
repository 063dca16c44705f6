"""Estimation on small frames: which gaps are filled and how (every gap length against every
limit, the neighbours an estimate may lean on, DST, each meter on its own), the real
readings left as they came, and the meter-hour merge putting every reading from a file
before any estimate whatever the upload times."""

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from b8760_assets.standardized.meter_hours import (
    merge_meter_hour_document,
    meter_hour_documents,
    spans,
)
from b8760_assets.validation import Thresholds, Validation
from b8760_assets_tests.standardized_rows import METERS, reading, standardized, utc, validated

UPLOADED = utc(2021, 11, 20, 12)
# Midnight of 2021-11-10 in New York (UTC-5).
DAY = utc(2021, 11, 10, 5)


def at(hour: float) -> datetime:
    return DAY + timedelta(hours=hour)


def hourly(values: dict[int, float], meter_id: str = "1", quality: str | None = "A") -> list[tuple]:
    """Hourly readings of the day, by hour, on line hour + 2."""
    return [
        reading(meter_id, at(hour), value, line=hour + 2, minutes=60, quality=quality)
        for hour, value in sorted(values.items())
    ]


def estimating(
    *rows: tuple, minutes: float | None = 180, uploaded_at: datetime = UPLOADED
) -> Validation:
    found = standardized(*rows, uploaded_at=uploaded_at)
    return validated(found, METERS, Thresholds(estimate_max_minutes=minutes))


def estimates(found: Validation) -> list[tuple]:
    """(start, value) of each estimated interval, in order."""
    chosen = found.rows.filter(pl.col("validation") == "estimated")
    return list(chosen.select("interval_start", "value").iter_rows())


def test_without_a_limit_no_gap_is_estimated() -> None:
    found = estimating(*hourly({0: 10.0, 2: 30.0}), minutes=None)
    assert estimates(found) == []
    assert found.rows.height == 2


@pytest.mark.parametrize("missing", [1, 2, 3, 4])
@pytest.mark.parametrize("limit", [59, 60, 90, 120, 180, 240])
def test_a_gap_is_estimated_when_it_lasts_at_most_the_limit(missing: int, limit: int) -> None:
    after = missing + 1
    found = estimating(*hourly({0: 10.0, after: 10.0 * (after + 1)}), minutes=limit)
    expected = [(at(hour), 10.0 * (hour + 1)) for hour in range(1, after)]
    assert estimates(found) == (expected if missing * 60 <= limit else [])


def test_the_values_lie_on_the_line_between_the_neighbours() -> None:
    found = estimating(*hourly({0: 10.0, 4: 2.0}))
    assert [value for _, value in estimates(found)] == pytest.approx([8.0, 6.0, 4.0])


def test_the_gaps_energy_is_its_intervals_times_the_neighbours_mean() -> None:
    found = estimating(*hourly({0: 7.0, 3: 1.0}), minutes=120)
    assert sum(value for _, value in estimates(found)) == pytest.approx(2 * (7.0 + 1.0) / 2)


def test_an_estimate_is_flagged_on_its_meters_grid_and_local_time() -> None:
    found = estimating(*hourly({0: 10.0, 2: 30.0}))
    [estimate] = found.rows.filter(pl.col("validation") == "estimated").iter_rows(named=True)
    assert estimate["interval_start"] == at(1) and estimate["interval_end"] == at(2)
    assert (estimate["quality"], estimate["failed_rules"]) == ("E", None)
    assert estimate["local_start"] == "2021-11-10T01:00:00-05:00"
    assert (estimate["meter_id"], estimate["unit"], estimate["meter_known"]) == ("1", "kWh", True)
    assert found.rows["validation"].to_list() == ["validated", "validated", "estimated"]


def test_real_readings_are_kept_as_they_came() -> None:
    rows = hourly({0: 10.0, 2: 30.0, 5: 60.0, 6: 999.0})
    real = estimating(*rows).rows.filter(pl.col("validation") != "estimated")
    assert real.equals(estimating(*rows, minutes=None).rows)


def test_the_gaps_the_rules_report_are_still_reported() -> None:
    found = estimating(*hourly({0: 10.0, 2: 30.0}))
    assert found.cases.filter(pl.col("rule") == "gaps")["intervals"].to_list() == [1]


def test_nothing_is_estimated_before_the_first_or_after_the_last_reading() -> None:
    found = estimating(*hourly({3: 10.0, 4: 30.0}), minutes=24 * 60)
    assert estimates(found) == []


def test_an_estimate_never_leans_on_a_questionable_reading() -> None:
    # A negative forward flow before the gap, then a spike after the next one.
    rows = hourly({0: -1.0, 2: 3.0, 3: 3.0, 4: 3.0, 6: 300.0})
    assert estimates(estimating(*rows)) == []


def test_an_estimate_never_leans_on_a_placeholder() -> None:
    rows = [*hourly({0: 10.0}), *hourly({2: 0.0}, quality="M"), *hourly({4: 50.0})]
    assert estimates(estimating(*rows)) == []


def test_an_estimate_leans_on_a_reading_without_a_flag() -> None:
    rows = [*hourly({0: 10.0}, quality=None), *hourly({2: 30.0}, quality="E")]
    assert estimates(estimating(*rows)) == [(at(1), 20.0)]


def test_an_estimate_never_leans_on_an_interval_of_another_length() -> None:
    quarter = reading("1", at(1), 5.0, line=3, minutes=15)  # misaligned on an hourly meter
    rows = [*hourly({0: 10.0}), quarter, *hourly({3: 40.0})]
    assert estimates(estimating(*rows)) == []


def test_quarter_hours_are_estimated_at_their_length() -> None:
    rows = [reading("3", at(0) + timedelta(minutes=15 * n), 1.0 + n, line=n + 2)
            for n in (0, 3)]  # fmt: skip
    found = estimating(*rows, minutes=30)
    assert estimates(found) == [(at(0.25), 80.0), (at(0.5), 120.0)]  # multiplier 40


def test_each_meter_is_estimated_on_its_own() -> None:
    rows = [*hourly({0: 10.0}, meter_id="1"), *hourly({2: 30.0}, meter_id="chicago")]
    assert estimates(estimating(*rows)) == []


def test_an_estimate_across_the_fall_back_night_has_each_hours_offset() -> None:
    fall_back = utc(2021, 11, 7, 4)  # midnight EDT; 01:00 comes twice
    rows = [
        reading("1", fall_back + timedelta(hours=hour), 10.0, line=hour + 2, minutes=60)
        for hour in (0, 4)
    ]
    found = estimating(*rows)
    assert found.rows.filter(pl.col("validation") == "estimated")["local_start"].to_list() == [
        "2021-11-07T01:00:00-04:00",
        "2021-11-07T01:00:00-05:00",
        "2021-11-07T02:00:00-05:00",
    ]


@pytest.mark.parametrize(
    ("before", "after", "newer"),
    [
        ((0, "a.csv"), (1, "b.csv"), (1, "b.csv", 4)),  # the later upload
        ((1, "a.csv"), (0, "b.csv"), (1, "a.csv", 2)),
        ((0, "b.csv"), (0, "a.csv"), (0, "b.csv", 2)),  # then the later name
        ((0, "a.csv"), (0, "a.csv"), (0, "a.csv", 4)),  # then the later line
    ],
)
def test_an_estimate_has_the_version_of_its_newer_neighbour(
    before: tuple, after: tuple, newer: tuple
) -> None:
    def uploaded(minutes: int, name: str, hour: int, value: float) -> pl.DataFrame:
        at = UPLOADED + timedelta(minutes=minutes)
        return standardized(*hourly({hour: value}), uploaded_at=at, source_file=name)

    rows = pl.concat([uploaded(*before, 0, 10.0), uploaded(*after, 2, 30.0)])
    found = validated(rows, METERS, Thresholds(estimate_max_minutes=60))
    [estimate] = found.rows.filter(pl.col("validation") == "estimated").iter_rows(named=True)
    minutes, name, line = newer
    assert (estimate["uploaded_at"], estimate["source_file"], estimate["source_line"]) == (
        UPLOADED + timedelta(minutes=minutes),
        name,
        line,
    )


def merged(*hours: pl.DataFrame) -> list[tuple]:
    """(start, value, validation) of the meter-hour object of hour 1 after merging the
    hours' rows in this order."""
    content = None
    for rows in hours:
        for name, document in meter_hour_documents(rows):
            if name.endswith("T06:00:00"):
                content = merge_meter_hour_document(content, document)
    assert content is not None
    return [(each["start"], each["value"], each["validation"])
            for each in json.loads(content)["intervals"]]  # fmt: skip


def test_a_real_reading_replaces_an_estimate_whatever_the_upload_times() -> None:
    estimate = estimating(*hourly({0: 10.0, 2: 30.0}), uploaded_at=UPLOADED).rows
    earlier_real = estimating(*hourly({1: 5.0}), uploaded_at=UPLOADED - timedelta(days=1)).rows
    real = [("2021-11-10T06:00:00Z", 5.0, "validated")]
    assert merged(estimate, earlier_real) == real
    assert merged(earlier_real, estimate) == real


def test_an_estimate_replaces_an_older_estimate() -> None:
    older = estimating(*hourly({0: 10.0, 2: 30.0})).rows
    newer = estimating(*hourly({0: 10.0, 2: 50.0}), uploaded_at=UPLOADED + timedelta(hours=1))
    newest = [("2021-11-10T06:00:00Z", 30.0, "estimated")]
    assert merged(older, newer.rows) == newest
    assert merged(newer.rows, older) == newest


def test_completeness_counts_an_estimated_interval_as_missing() -> None:
    rows = estimating(*hourly({0: 10.0, 2: 30.0})).rows
    objects = [merge_meter_hour_document(None, document)
               for _, document in meter_hour_documents(rows)]  # fmt: skip
    held = [start for content in objects for _, start, _ in spans(content)]
    assert held == ["2021-11-10T05:00:00Z", "2021-11-10T07:00:00Z"]
