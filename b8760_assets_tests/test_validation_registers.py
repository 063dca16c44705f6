"""The register-versus-interval rule on small frames: a register that rises as its intervals
add up passes, one that does not is named with its span, and what cannot be judged (a single
read, intervals missing or straddling a read) is counted, not failed; and the check's
tolerances as the connector and its meters give them."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from b8760_assets.config import Meter
from b8760_assets.standardized.normalize import Normalizer
from b8760_assets.standardized.register_check import RegisterCheck
from b8760_assets.standardized.validation_checks import ValidationTotals
from b8760_assets.validation.registers import (
    RegisterSums,
    find_register_mismatches,
    register_cases,
    register_spans,
)
from b8760_assets.validation.rules import REGISTERS
from b8760_assets_tests.standardized_rows import CONED

T0 = datetime(2022, 3, 1, 5, tzinfo=UTC)  # midnight in New York
HOUR = timedelta(hours=1)
ZONES = pl.DataFrame({"meter_id": ["M1"], "timezone": ["America/New_York"]})


def reads(*reads: tuple[str, int, float], resolution: float = 1.0) -> pl.DataFrame:
    """Register reads: (meter, hours after T0, value)."""
    return pl.DataFrame(
        {
            "meter_id": [meter for meter, _, _ in reads],
            "read_at": [T0 + hours * HOUR for _, hours, _ in reads],
            "value": [value for _, _, value in reads],
            "resolution": [resolution] * len(reads),
            "unit": ["Wh"] * len(reads),
        },
        schema_overrides={"read_at": pl.Datetime("us", "UTC")},
    )


def intervals(meter: str, values: list[float | None], minutes: int = 60) -> pl.DataFrame:
    """A meter's intervals from T0, one after another; None leaves that interval out."""
    length = timedelta(minutes=minutes)
    rows = [(T0 + n * length, value) for n, value in enumerate(values) if value is not None]
    return pl.DataFrame(
        {
            "meter_id": [meter] * len(rows),
            "interval_start": [start for start, _ in rows],
            "interval_end": [start + length for start, _ in rows],
            "value": [value for _, value in rows],
        },
        schema_overrides={
            "interval_start": pl.Datetime("us", "UTC"),
            "interval_end": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
    )


def test_a_register_that_rises_by_its_intervals_sum_passes() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 1030.0), ("M1", 4, 1070.0)),
        intervals("M1", [10, 20, 15, 25]),
        1.0,
    )

    assert (found.mismatches.height, found.judged, found.not_covered) == (0, 2, 0)


def test_a_register_read_off_names_its_meter_span_delta_and_sum() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 1050.0), ("M1", 4, 1070.0)),
        intervals("M1", [10, 20, 15, 25]),
        1.0,
    )

    assert found.judged == 2
    assert found.mismatches.select(
        "meter_id", "from", "to", "register_delta", "interval_sum", "intervals"
    ).rows() == [
        ("M1", T0, T0 + 2 * HOUR, 50.0, 30.0, 2),
        ("M1", T0 + 2 * HOUR, T0 + 4 * HOUR, 20.0, 40.0, 2),
    ]


def test_a_single_read_judges_nothing() -> None:
    found = find_register_mismatches(reads(("M1", 0, 1000.0)), intervals("M1", [10, 20]), 1.0)

    assert (found.mismatches.height, found.judged, found.not_covered) == (0, 0, 0)


def test_a_span_with_intervals_missing_is_counted_not_failed() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 1030.0), ("M1", 4, 1999.0)),
        intervals("M1", [10, 20, 15, None]),
        1.0,
    )

    assert (found.mismatches.height, found.judged, found.not_covered) == (0, 1, 1)


def test_a_span_without_any_interval_is_not_covered() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 1030.0)), intervals("M1", []), 1.0
    )

    assert (found.judged, found.not_covered) == (0, 1)


def test_an_interval_straddling_a_read_leaves_both_spans_uncovered() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 1, 1010.0), ("M1", 2, 1030.0)),
        intervals("M1", [10, 20], minutes=90),  # 0:00-1:30, 1:30-3:00
        1.0,
    )

    assert (found.judged, found.not_covered) == (0, 2)


def test_intervals_before_the_first_and_after_the_last_read_do_not_count() -> None:
    found = find_register_mismatches(
        reads(("M1", 1, 1000.0), ("M1", 3, 1035.0)), intervals("M1", [99, 15, 20, 99]), 1.0
    )

    assert (found.mismatches.height, found.judged) == (0, 1)


@pytest.mark.parametrize(
    ("register_rise", "percent", "resolution", "mismatch"),
    [
        (1010.0, 1.0, 1.0, False),  # 10 off a rise of 1010: exactly 1 %
        (1011.0, 1.0, 1.0, True),  # 11 off: beyond 1 % (10.11) and the resolution
        (1020.0, 2.0, 1.0, False),  # a connector's 2 %
        (1100.0, 1.0, 100.0, False),  # a register read to 100 Wh: 100 off is its last digit
        (1101.0, 1.0, 100.0, True),
        (999.0, 0.05, 1.0, False),  # 1 off: one unit of the resolution, above 0.05 %
        (998.0, 0.05, 1.0, True),
    ],
)
def test_the_tolerance_is_a_share_of_the_rise_or_one_unit_of_resolution(
    register_rise: float, percent: float, resolution: float, mismatch: bool
) -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 0.0), ("M1", 2, register_rise), resolution=resolution),
        intervals("M1", [500, 500]),
        percent,
    )

    assert (found.mismatches.height == 1) is mismatch


def test_a_meters_own_tolerance_stands_for_the_connectors() -> None:
    registers = reads(("M1", 0, 0.0), ("M1", 2, 1030.0), ("M2", 0, 0.0), ("M2", 2, 1030.0))
    every = pl.concat([intervals("M1", [500, 500]), intervals("M2", [500, 500])])

    found = find_register_mismatches(registers, every, 1.0, {"M2": 5.0})

    assert found.mismatches["meter_id"].to_list() == ["M1"]  # 30 off: above 1 %, within 5 %


def test_meters_are_judged_each_against_their_own_intervals() -> None:
    found = find_register_mismatches(
        reads(("M2", 2, 50.0), ("M1", 0, 0.0), ("M2", 0, 0.0), ("M1", 2, 30.0)),  # any order
        pl.concat([intervals("M1", [10, 20]), intervals("M2", [10, 20])]),
        1.0,
    )

    assert (found.judged, found.mismatches["meter_id"].to_list()) == (2, ["M2"])


def test_a_read_given_twice_is_one_and_two_reads_of_an_instant_must_agree() -> None:
    every = intervals("M1", [10, 20])
    again = reads(("M1", 0, 1000.0), ("M1", 0, 1000.0), ("M1", 2, 1030.0))
    conflicting = reads(("M1", 0, 1000.0), ("M1", 0, 1004.0), ("M1", 2, 1034.0))

    twice = find_register_mismatches(again, every, 1.0)
    differ = find_register_mismatches(conflicting, every, 1.0)

    assert (twice.judged, twice.mismatches.height) == (1, 0)
    assert differ.judged == 2  # 00:00-00:00 rises by 4 in no time; 00:00-02:00 by 30, as summed
    assert differ.mismatches.select("from", "to", "register_delta").rows() == [(T0, T0, 4.0)]


def test_a_falling_register_fails_against_positive_intervals() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 970.0)), intervals("M1", [10, 20]), 1.0
    )

    assert found.mismatches["register_delta"].to_list() == [-30.0]


def test_intervals_added_a_batch_at_a_time_find_what_they_find_together() -> None:
    registers = reads(("M1", 0, 1000.0), ("M1", 4, 1075.0), ("M1", 8, 1145.0))
    every = intervals("M1", [10, 20, 15, 25, 10, 20, 15, 25], minutes=60)
    sums = RegisterSums(register_spans(registers))
    for batch in every.iter_slices(3):  # a span's intervals split across batches
        sums.add(batch)

    in_batches = sums.findings(1.0)
    together = find_register_mismatches(registers, every, 1.0)

    assert in_batches.mismatches.equals(together.mismatches)
    assert (in_batches.judged, in_batches.not_covered) == (together.judged, together.not_covered)
    assert (together.judged, together.mismatches["from"].to_list()) == (2, [T0])


def test_mismatches_are_cases_in_the_meters_local_day_naming_the_span() -> None:
    found = find_register_mismatches(
        reads(("M1", 0, 1000.0), ("M1", 2, 1050.0), ("X9", 0, 0.0), ("X9", 2, 9.0)),
        pl.concat([intervals("M1", [10, 20]), intervals("X9", [1, 2])]),
        1.0,
    )

    cases = register_cases(found.mismatches, ZONES, "UTC")

    assert cases.rows() == [
        (
            REGISTERS,
            "M1",
            datetime(2022, 3, 1).date(),  # 00:00 in New York
            2,
            "from 2022-03-01T05:00Z to 2022-03-01T07:00Z: register delta 50.0 Wh, "
            "interval sum 30.0 Wh",
        ),
        (
            REGISTERS,
            "X9",
            datetime(2022, 3, 1).date(),
            2,
            "from 2022-03-01T05:00Z to 2022-03-01T07:00Z: register delta 9.0 Wh, "
            "interval sum 3.0 Wh",
        ),
    ]


def test_the_check_takes_a_meters_tolerance_from_its_meter_xml() -> None:
    def meter(meter_id: str, tolerance: float | None) -> Meter:
        return Meter(meter_id, "coned", "participant_1", "electricity", "Wh", 1.0,
                     "America/New_York", "a site", Path("meters/coned.xml"), 3,
                     register_tolerance_percent=tolerance)  # fmt: skip

    meters = {"M1": meter("M1", None), "M2": meter("M2", 5.0)}
    connector = replace(CONED, register_tolerance_percent=1.0)
    totals = ValidationTotals()
    check = RegisterCheck.of(Normalizer(connector, meters), meters, totals)
    sums = RegisterSums(
        register_spans(reads(("M1", 0, 0.0), ("M1", 2, 1030.0), ("M2", 0, 0.0), ("M2", 2, 1030.0)))
    )
    sums.add(pl.concat([intervals("M1", [500, 500]), intervals("M2", [500, 500])]))

    check.report(sums)

    found = totals.rules[REGISTERS]
    assert (found.meters, found.cases) == ({"M1"}, 1)
    assert found.counts == {"register_spans_judged": 2, "register_spans_not_covered": 0}
