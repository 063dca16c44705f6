"""CSV layouts (file.csv.*): a utility's "Download My Data" file through the landing check on
both DST days, each DST rule on the repeated and the missing hour, and the other parts a
layout moves: fixed parts, interval lengths, the decimal comma, lines before the header."""

from pathlib import Path

import pytest

from b8760_assets.config import ConnectorProperties, read_properties
from b8760_assets.config.csv_layout import CsvLayout
from b8760_assets.landing.file_checks import CheckedFile, check_file
from b8760_assets.landing.formats import Rejection
from b8760_assets_tests.config_files import CONED, write_properties
from b8760_assets_tests.download_my_data import (
    FALL,
    HEADER_LINE,
    LAYOUT,
    METER,
    SPRING,
    download_my_data,
    file_of,
    intervals,
    row,
)
from b8760_assets_tests.test_landing_checks import utc
from b8760_assets_tests.test_landing_checks_batched import assert_same_verdicts

ZONE = "America/New_York"


def connector_of(tmp_path: Path, **changes: str | None) -> ConnectorProperties:
    """coned in New York with the Download My Data layout, read from its properties.xml, with
    these keys changed (None: left out)."""
    entries = {**CONED, **LAYOUT, **changes}
    folder = tmp_path / f"coned-{len(list(tmp_path.glob('coned*')))}" / "coned"
    path = write_properties(folder, {k: v for k, v in entries.items() if v is not None})
    return read_properties(path)


def checked(data: bytes, connector: ConnectorProperties) -> CheckedFile:
    return check_file("usage.csv", data, connector)


def refused(data: bytes, connector: ConnectorProperties) -> Rejection:
    verdict = checked(data, connector)
    assert not verdict.accepted, verdict.readings
    return verdict.rejection


@pytest.mark.parametrize("minutes", [60, 15])
def test_download_my_data_on_both_dst_days(tmp_path: Path, minutes: int) -> None:
    connector = connector_of(tmp_path)
    expected = intervals([SPRING, FALL], ZONE, minutes)

    verdict = checked(file_of([SPRING, FALL], ZONE, minutes), connector)

    assert verdict.rejection is None
    frame = verdict.readings
    assert frame.rows() == [
        (METER, each.start, each.end, each.value, "kWh", None, each.line) for each in expected
    ]
    per_day = 60 // minutes
    spring = frame.filter(frame["interval_start"] < utc(2021, 3, 15, 4))
    fall = frame.filter(frame["interval_start"] >= utc(2021, 11, 7, 4))
    assert (spring.height, fall.height) == (23 * per_day, 25 * per_day)
    # The spring day runs 05:00-04:00 UTC (EST, then EDT from 02:00, which never happens);
    # the fall day 04:00-05:00 UTC, 01:00 EDT and 01:00 EST one after the other.
    assert (spring["interval_start"].min(), spring["interval_end"].max()) == (
        utc(2021, 3, 14, 5),
        utc(2021, 3, 15, 4),
    )
    assert (fall["interval_start"].min(), fall["interval_end"].max()) == (
        utc(2021, 11, 7, 4),
        utc(2021, 11, 8, 5),
    )
    assert spring["value"].sum() == pytest.approx(sum(e.value for e in expected[: spring.height]))
    assert fall["value"].sum() == pytest.approx(sum(e.value for e in expected[spring.height :]))


def fall_rows(zone: str = ZONE) -> list[str]:
    return [row(each, zone) for each in intervals([FALL], zone)]


def first_line_of(rows: list[str], text: str) -> int:
    return HEADER_LINE + 1 + next(n for n, each in enumerate(rows) if text in each)


def test_a_repeated_hour_refused_by_the_reject_rule(tmp_path: Path) -> None:
    connector = connector_of(tmp_path, **{"file.csv.dst.repeated": "reject"})
    rows = fall_rows()

    rejection = refused(download_my_data(rows), connector)

    line = first_line_of(rows, ",01:00,")
    assert (rejection.rule, rejection.line) == ("timestamp.ambiguous_local_time", line)
    assert rejection.message.startswith(
        f'line {line}: DATE and START TIME "2021-11-07 01:00" happens twice in {ZONE}'
    )
    assert "2021-11-07T01:00:00-04:00 or 2021-11-07T01:00:00-05:00" in rejection.message
    assert "file.csv.dst.repeated" in rejection.message


@pytest.mark.parametrize(("rule", "utc_hour"), [("first", 5), ("second", 6)])
def test_a_repeated_hour_written_once_takes_the_offset_its_rule_says(
    tmp_path: Path, rule: str, utc_hour: int
) -> None:
    connector = connector_of(tmp_path, **{"file.csv.dst.repeated": rule})
    rows = fall_rows()
    once = [each for n, each in enumerate(rows) if ",01:00," not in each or n == 1]

    frame = checked(download_my_data(once), connector).readings

    [repeated] = frame.filter(frame["line"] == first_line_of(once, ",01:00,")).rows(named=True)
    assert (repeated["interval_start"], repeated["interval_end"]) == (
        utc(2021, 11, 7, utc_hour),
        utc(2021, 11, 7, utc_hour + 1),
    )
    assert frame.height == 24


def test_a_repeated_hour_written_twice_repeats_a_reading_by_first(tmp_path: Path) -> None:
    """first (or second) gives both lines of the repeated hour one instant: file_order is the
    rule for files that write it twice."""
    connector = connector_of(tmp_path, **{"file.csv.dst.repeated": "first"})
    rows = fall_rows()
    first = first_line_of(rows, ",01:00,")

    rejection = refused(download_my_data(rows), connector)

    assert (rejection.rule, rejection.line) == ("csv.duplicate_reading", first + 1)
    assert f"on line {first}" in rejection.message


def test_file_order_across_batches_gives_the_verdict_of_a_whole_read(tmp_path: Path) -> None:
    """Batches of one line put a meter's two lines of the repeated hour in different batches:
    the second must still take the offset after the change."""
    connector = connector_of(tmp_path)
    data = file_of([FALL], ZONE, 15)
    assert checked(data, connector).accepted
    assert_same_verdicts(data, tmp_path, connector=connector)
    third = download_my_data([*fall_rows(), fall_rows()[1]])  # 01:00 a third time
    assert refused(third, connector).rule == "csv.duplicate_reading"
    assert_same_verdicts(third, tmp_path, connector=connector)


SPRING_ROWS = [
    "Electric usage,2021-03-14,01:00,01:29,0.50,kWh,$0.07,",
    "Electric usage,2021-03-14,01:30,01:59,0.50,kWh,$0.07,",
    "Electric usage,2021-03-14,02:30,02:59,0.75,kWh,$0.10,",  # a time that never happens
    "Electric usage,2021-03-14,03:00,03:29,0.50,kWh,$0.07,",
]


def test_a_missing_hour_refused_by_the_reject_rule(tmp_path: Path) -> None:
    rejection = refused(download_my_data(SPRING_ROWS), connector_of(tmp_path))

    line = HEADER_LINE + 3
    assert (rejection.rule, rejection.line) == ("timestamp.nonexistent_local_time", line)
    assert rejection.message.startswith(
        f'line {line}: DATE and START TIME "2021-03-14 02:30" does not exist in {ZONE}'
    )
    assert "file.csv.dst.missing" in rejection.message


@pytest.mark.parametrize(
    ("rule", "start"),
    # 02:30 with the offset before the change (EST, 07:30 UTC) or after it (EDT, 06:30 UTC)
    [("first", utc(2021, 3, 14, 7, 30)), ("second", utc(2021, 3, 14, 6, 30))],
)
def test_a_missing_hour_takes_the_offset_its_rule_says(
    tmp_path: Path, rule: str, start: object
) -> None:
    connector = connector_of(tmp_path, **{"file.csv.dst.missing": rule})
    shifted = [each for each in SPRING_ROWS if "02:30" in each]

    frame = checked(download_my_data(shifted), connector).readings

    assert frame.select("interval_start", "interval_end").row(0) == (
        start,
        start + (utc(2021, 1, 1, 0, 30) - utc(2021, 1, 1)),
    )


def test_the_spring_days_last_minute_before_the_jump_ends_at_the_jump(tmp_path: Path) -> None:
    """01:30-01:59 ends at 02:00, which never happens: at 07:00 UTC, when clocks show 03:00."""
    frame = checked(download_my_data(SPRING_ROWS[:2] + SPRING_ROWS[3:]), connector_of(tmp_path))

    assert frame.readings["interval_end"].to_list() == [
        utc(2021, 3, 14, 6, 30),
        utc(2021, 3, 14, 7),
        utc(2021, 3, 14, 7, 30),
    ]


EUROPEAN = {
    **dict.fromkeys(LAYOUT),
    "file.csv.column.meter_id": "Zähler",
    "file.csv.column.start": "Beginn",
    "file.csv.interval.minutes": "15",
    "file.csv.column.value": "Verbrauch",
    "file.csv.unit": "Wh",
    "file.csv.decimal": ",",
}


@pytest.mark.parametrize(
    ("separator", "lines"),
    [
        # A decimal comma in a comma-separated file is quoted; with semicolons it is not.
        (
            ",",
            [
                "Zähler,Beginn,Verbrauch",
                'M-1,2021-07-01T14:00:00,"1,25"',
                "M-1,2021-07-01T14:15:00,2",
            ],
        ),
        (
            ";",
            [
                "Zähler;Beginn;Verbrauch",
                "M-1;2021-07-01T14:00:00;1,25",
                "M-1;2021-07-01T14:15:00;2",
            ],
        ),
    ],
)
def test_fixed_unit_interval_length_decimal_comma_and_separator(
    tmp_path: Path, separator: str, lines: list[str]
) -> None:
    connector = connector_of(tmp_path, **{**EUROPEAN, "file.csv.separator": separator})
    data = "".join(line + "\n" for line in lines).encode()

    frame = checked(data, connector).readings

    assert frame.select("meter_id", "interval_start", "interval_end", "value", "unit").rows() == [
        ("M-1", utc(2021, 7, 1, 18), utc(2021, 7, 1, 18, 15), 1.25, "Wh"),
        ("M-1", utc(2021, 7, 1, 18, 15), utc(2021, 7, 1, 18, 30), 2.0, "Wh"),
    ]
    assert_same_verdicts(data, tmp_path, connector=connector)
    for bad in (b"1.234,5", b"1.25"):  # a dot is no decimal mark here, nor a thousands one
        rejection = refused(data.replace(b"1,25", bad), connector)
        assert (rejection.rule, rejection.line) == ("csv.bad_value", 2)
        assert "write it like 12,5 (a comma for decimals" in rejection.message


def test_a_line_of_too_few_fields_names_the_layouts_separator(tmp_path: Path) -> None:
    connector = connector_of(tmp_path, **{**EUROPEAN, "file.csv.separator": ";"})
    data = b"Z\xc3\xa4hler;Beginn;Verbrauch\nM-1;2021-07-01T14:00:00\n"

    rejection = refused(data, connector)

    assert (rejection.rule, rejection.line) == ("csv.too_few_fields", 2)
    assert rejection.message.endswith("write a field for every column, separated by semicolons")


def test_a_layouts_header_is_checked_at_its_line(tmp_path: Path) -> None:
    connector = connector_of(tmp_path)
    data = download_my_data([]).replace(b"USAGE,", b"KWH,")

    rejection = refused(data, connector)

    assert (rejection.rule, rejection.line) == ("csv.unknown_column", HEADER_LINE)
    assert rejection.message == (
        f'line {HEADER_LINE}: the header names unknown column(s) "KWH"; line {HEADER_LINE}, '
        "the header, must name the columns DATE, START TIME, END TIME, USAGE, UNITS (and "
        "optionally quality, TYPE, COST, NOTES), in any order"
    )


def test_a_layouts_timestamp_that_does_not_match_its_format(tmp_path: Path) -> None:
    data = download_my_data(["Electric usage,2021-07-01,2pm,14:59,1,kWh,$0.17,"])

    rejection = refused(data, connector_of(tmp_path))

    assert (rejection.rule, rejection.line) == ("csv.bad_timestamp", HEADER_LINE + 1)
    assert rejection.message == (
        f'line {HEADER_LINE + 1}: DATE and START TIME "2021-07-01 2pm" does not match the '
        'layout\'s timestamp format "%Y-%m-%d %H:%M" (file.csv.timestamp.format)'
    )


def test_the_default_layout_reads_wall_times_by_the_dst_rules_too(tmp_path: Path) -> None:
    """Without a timestamp format (ISO 8601), first and second still place wall times."""
    no_layout = dict.fromkeys(LAYOUT)
    default = connector_of(tmp_path, **no_layout)
    second = connector_of(tmp_path, **{**no_layout, "file.csv.dst.repeated": "second"})
    data = (
        b"meter_id,start,end,value,unit\n"
        b"3,2021-11-07T01:00:00-05:00,2021-11-07T02:00:00,1,kWh\n"
        b"4,2021-11-07T01:00:00,2021-11-07T02:00:00,1,kWh\n"
    )

    assert default.csv_layout == CsvLayout()
    assert refused(data, default).rule == "timestamp.ambiguous_local_time"
    assert checked(data, second).readings["interval_start"].to_list() == [
        utc(2021, 11, 7, 6),
        utc(2021, 11, 7, 6),
    ]
