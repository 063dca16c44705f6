"""The validation rules on real meter data: the four hourly samples of the eemeter package
(OpenEEmeter, Apache 2.0: 2015-11-22 to 2018-02-08, America/Chicago, two electricity meters
in kWh and two gas meters in therm), normalized as the coned connector's would be and
validated as one arrival hour's files.

The samples have no missing hour and cross four DST changes (two 23-hour and two 25-hour
local days per meter): a DST-naive rule would find gaps or duplicates there. Their figures
per rule and meter are pinned below; the samples' metadata names a blackout period, cut out
here to give them real gaps of whole local days."""

import importlib.util
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from b8760_assets.landing.formats import READINGS_SCHEMA
from b8760_assets.standardized.normalize import Normalizer
from b8760_assets.validation import RULES, Thresholds, Validation
from b8760_assets_tests.standardized_rows import CONED, meter, utc, validated

SAMPLES = {
    "il-electricity-cdd-hdd-hourly": "kWh",
    "il-electricity-cdd-only-hourly": "kWh",
    "il-gas-hdd-only-hourly": "therm",
    "il-gas-intercept-only-hourly": "therm",
}
METERS = {name: meter(name, unit, timezone="America/Chicago") for name, unit in SAMPLES.items()}
# The samples' blackout_start_date and blackout_end_date (metadata.json), both included.
BLACKOUT = (date(2016, 12, 26), date(2017, 1, 4))


def samples_folder() -> Path:
    """Where the eemeter package keeps its samples, found without importing it (it pulls in
    numba and scikit-fda)."""
    spec = importlib.util.find_spec("eemeter")
    assert spec is not None and spec.submodule_search_locations, "pip install eemeter==4.1.1"
    return Path(spec.submodule_search_locations[0]) / "eemeter" / "samples"


def sample_readings(name: str) -> pl.DataFrame:
    """A sample's readings (start with offset, value) as the landing check hands them on."""
    raw = pl.read_csv(samples_folder() / f"{name}.csv.gz", schema_overrides={"value": pl.Float64})
    start = pl.col("start").str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_unit="us")
    return raw.select(
        meter_id=pl.lit(name),
        interval_start=start.dt.convert_time_zone("UTC"),
        interval_end=start.dt.convert_time_zone("UTC") + pl.duration(hours=1),
        value="value",
        unit=pl.lit(SAMPLES[name]),
        quality=pl.lit(None, dtype=pl.String),
        line=pl.int_range(2, raw.height + 2, dtype=pl.Int64),
    ).cast(READINGS_SCHEMA)


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    readings = pl.concat(sample_readings(name) for name in SAMPLES)
    normalizer = Normalizer(CONED, METERS)
    arrival = utc(2018, 3, 1)
    return normalizer.normalize(
        readings, arrival_hour=arrival, source_file="eemeter.csv", uploaded_at=arrival
    ).rows


def figures(found: Validation) -> dict[tuple[str, str], int]:
    """Intervals found per (rule, meter), every rule and meter listed."""
    counted = found.cases.group_by("rule", "meter_id").agg(pl.col("intervals").sum())
    got = {
        (row["rule"], row["meter_id"]): row["intervals"] for row in counted.iter_rows(named=True)
    }
    return {(rule, name): got.get((rule, name), 0) for rule in RULES for name in SAMPLES}


def test_the_samples_cross_dst_without_a_gap_or_a_duplicate(rows: pl.DataFrame) -> None:
    days = rows.group_by("meter_id", day=pl.col("local_start").str.slice(0, 10)).len()
    lengths = days.group_by("len").agg(pl.col("day").unique().sort())
    by_length = {row["len"]: row["day"] for row in lengths.iter_rows(named=True)}
    assert by_length[23] == ["2016-03-13", "2017-03-12"]
    assert by_length[25] == ["2016-11-06", "2017-11-05"]
    assert rows.height == 4 * 19417

    found = validated(rows, METERS)

    assert set(figures(found).values()) == {0}  # at the defaults, every rule passes
    assert set(found.rows["validation"]) == {"validated"}


def test_at_a_spike_ratio_of_5_the_samples_have_spikes(rows: pl.DataFrame) -> None:
    found = validated(rows, METERS, Thresholds(spike_ratio=5.0))
    spikes = {name: count for (rule, name), count in figures(found).items() if rule == "spikes"}
    assert spikes == {
        "il-electricity-cdd-hdd-hourly": 5,
        "il-electricity-cdd-only-hourly": 13,
        "il-gas-hdd-only-hourly": 7,
        "il-gas-intercept-only-hourly": 1,
    }
    assert {rule for (rule, _), count in figures(found).items() if count} == {"spikes"}


def test_the_blackout_cut_out_is_ten_missing_local_days(rows: pl.DataFrame) -> None:
    day = pl.col("local_start").str.slice(0, 10).str.to_date()
    cut = rows.filter(~day.is_between(*BLACKOUT))

    found = validated(cut, METERS)

    gaps = found.cases.filter(pl.col("rule") == "gaps")
    assert {name: count for (rule, name), count in figures(found).items() if rule == "gaps"} == {
        name: 240 for name in SAMPLES
    }
    assert gaps.height == 40
    assert set(gaps["detail"]) == {"24 of the day's 24 intervals missing"}
    assert gaps["local_day"].min() == BLACKOUT[0] and gaps["local_day"].max() == BLACKOUT[1]
