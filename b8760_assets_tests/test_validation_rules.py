"""The validation rules on small frames: each rule's cases and flags, the verdicts the rows
carry, thresholds and limits, DST days, and an hour's rows held in bounded memory."""

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from b8760_assets.standardized import hour_rows
from b8760_assets.standardized.hour_rows import HourRows
from b8760_assets.validation import Thresholds, Validation
from b8760_assets_tests.standardized_rows import (
    METERS,
    meter,
    reading,
    standardized,
    utc,
    validated,
)

UPLOADED = utc(2021, 11, 20, 12)
# Midnight of 2021-11-10 in New York (UTC-5).
DAY = utc(2021, 11, 10, 5)


def hourly(values: list[float], start: datetime = DAY, meter_id: str = "1") -> list[tuple]:
    return [
        reading(meter_id, start + timedelta(hours=n), value, line=n + 2, minutes=60)
        for n, value in enumerate(values)
    ]


def check(*rows: tuple, meters: dict = METERS, rules: Thresholds | None = None) -> Validation:
    return validated(standardized(*rows, uploaded_at=UPLOADED, meters=meters), meters, rules)


def cases(found: Validation, rule: str) -> list[tuple]:
    return [
        (row["meter_id"], str(row["local_day"]), row["intervals"])
        for row in found.cases.filter(pl.col("rule") == rule).iter_rows(named=True)
    ]


def failed(found: Validation) -> list[str | None]:
    return found.rows["failed_rules"].to_list()


def test_steady_readings_pass_every_rule() -> None:
    found = check(*hourly([1.0 + n % 5 for n in range(48)]))
    assert found.cases.height == 0
    assert set(found.rows["validation"]) == {"validated"}
    assert failed(found) == [None] * 48


def test_missing_hours_are_counted_in_their_local_day() -> None:
    values = [1.0] * 48
    rows = [each for n, each in enumerate(hourly(values)) if n not in (3, 4, 23, 24, 25)]
    found = check(*rows)
    assert cases(found, "gaps") == [("1", "2021-11-10", 3), ("1", "2021-11-11", 2)]
    assert found.cases["detail"].to_list() == [
        "3 of the day's 24 intervals missing",
        "2 of the day's 24 intervals missing",
    ]
    assert failed(found) == [None] * 43  # a gap flags no reading: it has none


@pytest.mark.parametrize(
    ("midnight", "hours"),
    [(utc(2021, 3, 14, 5), 23), (utc(2021, 11, 7, 4), 25), (utc(2021, 11, 8, 5), 24)],
)
def test_a_local_day_holds_23_24_or_25_hours_across_dst(midnight: datetime, hours: int) -> None:
    rows = [each for n, each in enumerate(hourly([1.0] * hours, midnight)) if n != 10]
    found = check(*rows)
    assert found.cases["detail"].to_list() == [f"1 of the day's {hours} intervals missing"]
    assert cases(found, "gaps") == [("1", str(midnight.date()), 1)]


def test_the_expected_count_follows_the_meters_interval_length() -> None:
    quarters = [reading("1", DAY + timedelta(minutes=15 * n), 1.0, line=n + 2) for n in range(96)]
    found = check(*(each for n, each in enumerate(quarters) if n not in (40, 41, 42)))
    assert found.cases["detail"].to_list() == ["3 of the day's 96 intervals missing"]


def test_before_the_first_and_after_the_last_reading_nothing_is_missing() -> None:
    found = check(*hourly([1.0] * 5, DAY + timedelta(hours=9)))
    assert cases(found, "gaps") == []


def test_two_files_that_differ_on_an_interval_are_duplicates() -> None:
    first = standardized(*hourly([1.0, 2.0, 3.0]), uploaded_at=UPLOADED, source_file="a.csv")
    second = standardized(
        *hourly([1.0, 2.5]), uploaded_at=UPLOADED + timedelta(minutes=1), source_file="b.csv"
    )
    found = validated(pl.concat([first, second]))
    assert cases(found, "duplicates") == [("1", "2021-11-10", 2)]
    flagged = found.rows.filter(pl.col("failed_rules") == "duplicates")
    assert sorted(flagged["value"].to_list()) == [2.0, 2.5]
    assert found.cases.filter(pl.col("rule") == "duplicates")["detail"].to_list() == [
        "2 files, e.g. at 01:00-05:00"
    ]


def test_a_repeat_of_the_same_value_is_no_duplicate() -> None:
    first = standardized(*hourly([1.0, 2.0]), uploaded_at=UPLOADED, source_file="a.csv")
    second = standardized(*hourly([1.0, 2.0]), uploaded_at=UPLOADED, source_file="b.csv")
    assert validated(pl.concat([first, second])).cases.height == 0


def test_a_quarter_hour_inside_an_hourly_reading_overlaps_it() -> None:
    found = check(
        *hourly([4.0, 4.0, 4.0, 4.0]),
        reading("1", DAY + timedelta(hours=1, minutes=15), 1.0, line=9),
    )
    assert cases(found, "overlaps") == [("1", "2021-11-10", 2)]
    by_value = dict(zip(found.rows["local_start"], failed(found), strict=True))
    assert by_value["2021-11-10T01:00:00-05:00"] == "overlaps"
    assert by_value["2021-11-10T01:15:00-05:00"] == "overlaps,misaligned"


def test_the_highest_reading_of_a_day_far_above_the_third_highest_is_a_spike() -> None:
    values = [1.0] * 24
    values[13] = 10.5
    found = check(*hourly(values))
    assert cases(found, "spikes") == [("1", "2021-11-10", 1)]
    assert found.cases["detail"].to_list() == ["10.5 at 13:00-05:00, the third-highest 1.0"]
    assert found.rows.filter(pl.col("failed_rules").is_not_null())["value"].to_list() == [10.5]
    assert found.rows["value"].to_list() == values  # flagged, never changed


@pytest.mark.parametrize(
    ("values", "ratio", "spikes"),
    [
        ([1.0, 1.0, 10.0], 10.0, 0),  # exactly ten times: not above
        ([1.0, 1.0, 10.01], 10.0, 1),
        ([1.0, 2.0, 12.0], 10.0, 1),  # the second-highest does not vouch alone
        ([1.0, 9.0, 10.0, 1.0], 10.0, 0),  # two highs vouch for each other
        ([0.0, 0.0, 50.0], 10.0, 0),  # the third-highest is zero: not judged
        ([1.0, 50.0], 10.0, 0),  # fewer than three readings
        ([1.0, 1.0, 3.0], 2.0, 1),  # the connector's own ratio
    ],
)
def test_the_spike_rule(values: list[float], ratio: float, spikes: int) -> None:
    found = check(*hourly(values), rules=Thresholds(spike_ratio=ratio))
    assert sum(count for *_, count in cases(found, "spikes")) == spikes


def test_readings_outside_the_meters_limits() -> None:
    limited = {"1": dataclasses.replace(METERS["1"], high_limit=5.0, low_limit=0.5)}
    found = check(*hourly([1.0, 6.0, 0.25, 5.0, 0.5]), meters=limited)
    assert cases(found, "limits") == [("1", "2021-11-10", 2)]
    assert failed(found) == [None, "limits", "limits", None, None]
    assert found.cases["detail"].to_list() == ["6.0 at 01:00-05:00 (limits 0.5 to 5.0)"]


def test_negative_readings_fail_except_on_a_net_meter() -> None:
    values = [1.0, -0.5, 2.0]
    assert cases(check(*hourly(values)), "negatives") == [("1", "2021-11-10", 1)]
    net = {"1": dataclasses.replace(METERS["1"], flow_direction="net")}
    assert check(*hourly(values), meters=net).cases.height == 0


def test_a_meter_no_meter_xml_describes_is_validated_in_the_connectors_zone() -> None:
    found = check(*hourly([1.0, -1.0], meter_id="unknown"))
    assert cases(found, "negatives") == [("unknown", "2021-11-10", 1)]


@pytest.mark.parametrize(("zeros", "flagged"), [(23, 0), (24, 24), (30, 30)])
def test_a_long_run_of_zeros(zeros: int, flagged: int) -> None:
    found = check(*hourly([1.0] + [0.0] * zeros + [1.0]))
    assert sum(count for *_, count in cases(found, "zero_runs")) == flagged


def test_a_gap_ends_a_run_of_zeros() -> None:
    rows = [each for n, each in enumerate(hourly([0.0] * 30)) if n != 15]
    found = check(*rows)
    assert cases(found, "zero_runs") == []
    assert cases(found, "gaps") == [("1", "2021-11-10", 1)]


def test_the_zero_run_threshold_is_the_connectors() -> None:
    found = check(*hourly([0.0] * 6 + [1.0]), rules=Thresholds(zero_run_hours=6))
    assert cases(found, "zero_runs") == [("1", "2021-11-10", 6)]


def test_an_interval_of_another_length_than_its_meters_is_misaligned() -> None:
    quarters = [reading("1", DAY + timedelta(minutes=15 * n), 1.0, line=n + 2) for n in range(8)]
    found = check(*quarters, reading("1", DAY + timedelta(hours=2), 4.0, line=20, minutes=60))
    assert cases(found, "misaligned") == [("1", "2021-11-10", 1)]
    assert found.cases.filter(pl.col("rule") == "misaligned")["detail"].to_list() == [
        "60-minute interval at 02:00-05:00, the meter's is 15 minutes"
    ]


def test_each_meter_is_validated_on_its_own() -> None:
    values = [1.0] * 24
    values[5] = 50.0
    other = [reading("4", DAY + timedelta(hours=n), 1.0, "therm", line=100 + n, minutes=60)
             for n in range(24) if n != 7]  # fmt: skip
    found = check(*hourly(values), *other)
    assert cases(found, "spikes") == [("1", "2021-11-10", 1)]
    assert cases(found, "gaps") == [("4", "2021-11-10", 1)]


def test_a_reading_breaking_several_rules_names_them_all() -> None:
    limited = {"1": dataclasses.replace(METERS["1"], high_limit=5.0)}
    values = [1.0] * 24
    values[2] = -60.0
    values[3] = 60.0
    found = check(*hourly(values), meters=limited)
    assert set(failed(found)) == {None, "negatives", "spikes,limits"}
    assert found.rows.filter(pl.col("validation") == "questionable").height == 2


def test_an_hour_beyond_the_rows_held_comes_back_in_parts_of_whole_meters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hour_rows, "HELD_ROWS", 10)
    meters = {str(n): meter(str(n), "kWh") for n in range(12)}
    files = [
        standardized(*hourly([1.0] * 6, meter_id=str(n)), uploaded_at=UPLOADED, meters=meters)
        for n in range(12)
    ]
    held = HourRows(tmp_path)
    for each in files:
        held.add(each)
    parts = list(held.parts())
    assert len(parts) > 1
    assert sum(part.height for part in parts) == 72
    meter_parts = [set(part["meter_id"]) for part in parts]
    assert sum(len(each) for each in meter_parts) == 12  # no meter in two parts
    assert list(tmp_path.iterdir()) == []
