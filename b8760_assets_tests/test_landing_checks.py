"""The landing check: files accepted with their normalized readings, and every rule that
refuses a file, with the line and the offending value in its message."""

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from b8760_assets.config import ConnectorProperties
from b8760_assets.config.properties import KNOWN_FORMATS
from b8760_assets.landing import file_checks
from b8760_assets.landing.csv_format import CsvFormat, timestamps
from b8760_assets.landing.file_checks import (
    FORMATS,
    CheckedFile,
    check_file,
    check_local_file,
    check_name,
    check_size,
)
from b8760_assets.landing.formats import (
    QUALITY_FLAGS,
    READINGS_SCHEMA,
    SHOWN_CHARS,
    FormatRejected,
    Rejection,
)
from b8760_assets.layout import MAX_NAME_BYTES, RESERVED_NAMES

EXT_CONN1 = ConnectorProperties(
    name="ext_conn1",
    participant="participant_1",
    bucket="participant_1",
    external=True,
    formats=("csv",),
    timezone="America/New_York",
    unit="kWh",
    start_hour=datetime(2021, 11, 1, tzinfo=UTC),
    max_file_bytes=1_048_576,
    source=Path("connectors/ext_conn1/properties.xml"),
)
HEADER = "meter_id,start,end,value,unit,quality"
ROW_A = "3,2021-11-08T14:00:00-05:00,2021-11-08T15:00:00-05:00,12.5,kWh,A"
ROW_B = "3,2021-11-08T15:00:00-05:00,2021-11-08T16:00:00-05:00,11.75,kWh,E"
# The reading on line 3 of the files that break one rule at a time.
LINE_3 = {
    "meter_id": "3",
    "start": "2021-11-08T21:00:00Z",
    "end": "2021-11-08T22:00:00Z",
    "value": "1",
    "unit": "kWh",
    "quality": "A",
}


def csv_bytes(*lines: str, line_end: str = "\n") -> bytes:
    return "".join(line + line_end for line in lines).encode()


def line_3_with(**changes: str) -> bytes:
    """A good file but for its line 3, where the given columns take the given text."""
    return csv_bytes(HEADER, ROW_A, ",".join({**LINE_3, **changes}.values()))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def readings(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=READINGS_SCHEMA, orient="row")


def accepted(data: bytes, connector: ConnectorProperties = EXT_CONN1) -> pl.DataFrame:
    checked = check_file("readings.csv", data, connector)
    assert checked.rejection is None, checked.rejection
    assert checked.accepted and checked.format == "csv"
    return checked.readings


def rejection(data: bytes, connector: ConnectorProperties = EXT_CONN1) -> Rejection:
    checked = check_file("readings.csv", data, connector)
    assert not checked.accepted and checked.readings is None
    return checked.rejection


# Accepted files


def test_offset_timestamps_become_utc_readings_with_their_lines() -> None:
    data = csv_bytes(
        HEADER, ROW_A, ROW_B, "7,2021-11-08T19:15:00+00:00,2021-11-08T19:30:00+00:00,-0.5,MWh,M"
    )

    assert_frame_equal(
        accepted(data),
        readings(
            [
                ("3", utc(2021, 11, 8, 19), utc(2021, 11, 8, 20), 12.5, "kWh", "A", 2),
                ("3", utc(2021, 11, 8, 20), utc(2021, 11, 8, 21), 11.75, "kWh", "E", 3),
                ("7", utc(2021, 11, 8, 19, 15), utc(2021, 11, 8, 19, 30), -0.5, "MWh", "M", 4),
            ]
        ),
    )


def test_wall_times_are_in_the_connectors_zone_summer_and_winter() -> None:
    data = csv_bytes(
        HEADER,
        "3,2021-07-01T14:00:00,2021-07-01T15:00:00,1,kWh,A",  # EDT, UTC-4
        "3,2021-11-08T14:00:00,2021-11-08T14:15:00,2,kWh,A",  # EST, UTC-5
        # The hour that happens twice, told apart by its offsets.
        "3,2021-11-07T01:30:00-04:00,2021-11-07T01:45:00-04:00,3,kWh,A",
        "3,2021-11-07T01:30:00-05:00,2021-11-07T01:45:00-05:00,4,kWh,A",
    )

    frame = accepted(data)

    assert frame["interval_start"].to_list() == [
        utc(2021, 7, 1, 18),
        utc(2021, 11, 8, 19),
        utc(2021, 11, 7, 5, 30),
        utc(2021, 11, 7, 6, 30),
    ]
    assert frame["interval_end"].to_list()[:2] == [utc(2021, 7, 1, 19), utc(2021, 11, 8, 19, 15)]


def test_wall_times_follow_the_connectors_zone() -> None:
    data = csv_bytes(HEADER, "3,2021-07-01T14:00:00,2021-07-01T15:00:00,1,kWh,A")

    frame = accepted(data, replace(EXT_CONN1, timezone="Europe/Berlin"))

    assert frame["interval_start"].to_list() == [utc(2021, 7, 1, 12)]


@pytest.mark.parametrize(
    "start, end",
    [
        ("2021-11-08T19:00:00Z", "2021-11-08T20:00:00Z"),
        ("2021-11-08T19:00:00.000Z", "2021-11-08T20:00:00.000Z"),  # JavaScript's toISOString()
        ("2021-11-08T14:00:00-0500", "2021-11-08T15:00:00-0500"),
        ("2021-11-09T00:30:00+05:30", "2021-11-09T01:30:00+05:30"),
    ],
)
def test_iso_8601_offset_forms(start: str, end: str) -> None:
    frame = accepted(csv_bytes(HEADER, f"3,{start},{end},1,kWh,A"))

    assert frame.select("interval_start", "interval_end").row(0) == (
        utc(2021, 11, 8, 19),
        utc(2021, 11, 8, 20),
    )


@pytest.mark.parametrize("first", ["offset", "wall time"])
def test_offset_and_wall_times_may_mix_in_one_file(first: str) -> None:
    rows = [
        "3,2021-11-08T19:00:00Z,2021-11-08T20:00:00Z,1,kWh,A",
        "4,2021-11-08T14:00:00,2021-11-08T15:00:00,2,kWh,A",
    ]
    if first == "wall time":
        rows.reverse()

    frame = accepted(csv_bytes(HEADER, *rows))

    assert frame["interval_start"].to_list() == [utc(2021, 11, 8, 19)] * 2


def test_empty_unit_is_the_connectors_unit_and_empty_quality_is_null() -> None:
    data = csv_bytes(
        HEADER,
        "3,2021-11-08T19:00:00Z,2021-11-08T20:00:00Z,1,,",
        "3,2021-11-08T20:00:00Z,2021-11-08T21:00:00Z,2,therm,",
    )

    frame = accepted(data, replace(EXT_CONN1, unit="MWh"))

    assert frame.select("unit", "quality").rows() == [("MWh", None), ("therm", None)]


@pytest.mark.parametrize(
    "row",
    [
        '3,2021-11-08T19:00:00Z,2021-11-08T20:00:00Z,1,"",""',
        '"3","2021-11-08T19:00:00Z","2021-11-08T20:00:00Z","1","",""',
        '3,2021-11-08T19:00:00Z,2021-11-08T20:00:00Z,1," "," "',
    ],
)
def test_quoted_empty_unit_and_quality_are_empty(row: str) -> None:
    frame = accepted(csv_bytes(HEADER, row), replace(EXT_CONN1, unit="MWh"))

    assert frame.select("unit", "quality").rows() == [("MWh", None)]


@pytest.mark.parametrize(
    "before, after",
    [(" ", " "), ("\t", "\t"), ("  ", ""), ("", "  "), ("\u00a0", "\u00a0")],
    ids=["spaces", "tabs", "leading", "trailing", "no-break spaces"],
)
def test_whitespace_around_values_and_column_names_is_ignored(before: str, after: str) -> None:
    """Leading and trailing alike, for every value: polars alone skips only leading ones, and
    only before a timestamp."""
    padded = [
        ",".join(f"{before}{cell}{after}" for cell in line.split(","))
        for line in (HEADER, ROW_A, "7,2021-11-08T14:15:00,2021-11-08T14:30:00,2,,")
    ]

    assert_frame_equal(
        accepted(csv_bytes(*padded)),
        readings(
            [
                ("3", utc(2021, 11, 8, 19), utc(2021, 11, 8, 20), 12.5, "kWh", "A", 2),
                ("7", utc(2021, 11, 8, 19, 15), utc(2021, 11, 8, 19, 30), 2.0, "kWh", None, 3),
            ]
        ),
    )


def test_lines_of_empty_values_are_blank_lines() -> None:
    data = csv_bytes(HEADER, ROW_A, ",,,,,", '"","","","","",""', "   ", ROW_B)

    assert accepted(data)["line"].to_list() == [2, 6]


def test_messages_show_a_value_without_the_whitespace_around_it() -> None:
    refused = rejection(line_3_with(unit=" kwh\t"))

    assert (refused.rule, refused.line) == ("csv.unknown_unit", 3)
    assert 'unit "kwh" is not a known unit' in refused.message


def test_minus_zero_is_zero() -> None:
    assert accepted(line_3_with(value="-0"))["value"].to_list() == [12.5, 0.0]


def test_columns_in_any_order_and_quality_optional() -> None:
    data = csv_bytes(
        "value,unit,end,start,meter_id", "12.5,,2021-11-08T20:00:00Z,2021-11-08T19:00:00Z,m-1.a_b"
    )

    assert_frame_equal(
        accepted(data),
        readings([("m-1.a_b", utc(2021, 11, 8, 19), utc(2021, 11, 8, 20), 12.5, "kWh", None, 2)]),
    )


def test_windows_file_with_bom_and_crlf_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(HEADER, ROW_A, ROW_B, line_end="\r\n")

    frame = accepted(data)

    assert frame.select("meter_id", "unit", "quality", "line").rows() == [
        ("3", "kWh", "A", 2),
        ("3", "kWh", "E", 3),
    ]


def test_blank_lines_are_skipped_and_lines_still_counted() -> None:
    data = csv_bytes(HEADER, ROW_A, "", ROW_B, "", "")

    assert accepted(data)["line"].to_list() == [2, 4]


def test_quoted_values_are_read_as_csv() -> None:
    data = csv_bytes(HEADER, '"3","2021-11-08T19:00:00Z","2021-11-08T20:00:00Z","12.5","kWh","A"')

    assert accepted(data).select("meter_id", "value", "unit").row(0) == ("3", 12.5, "kWh")


def test_a_file_without_csv_name_is_recognized_by_its_header() -> None:
    checked = check_file("upload-2021-11-08.txt", csv_bytes(HEADER, ROW_A), EXT_CONN1)

    assert (checked.accepted, checked.format, checked.readings.height) == (True, "csv", 1)


def test_connector_takes_files_up_to_its_limit() -> None:
    data = csv_bytes(HEADER, ROW_A)

    assert accepted(data, replace(EXT_CONN1, max_file_bytes=len(data))).height == 1


def test_same_start_for_different_meters_is_no_duplicate() -> None:
    data = csv_bytes(HEADER, ROW_A, ROW_A.replace("3,", "4,", 1))

    assert accepted(data)["meter_id"].to_list() == ["3", "4"]


def test_readings_have_the_normalized_schema() -> None:
    assert accepted(csv_bytes(HEADER, ROW_A)).schema == READINGS_SCHEMA


# Rejected files: one value broken at a time, on line 3


@pytest.mark.parametrize(
    "changes, rule, shown",
    [
        ({"meter_id": "a/b"}, "csv.bad_meter_id", 'meter id "a/b"'),
        ({"meter_id": ""}, "csv.bad_meter_id", 'meter id ""'),
        ({"start": "2021-13-01T00:00"}, "csv.bad_timestamp", 'start "2021-13-01T00:00"'),
        ({"end": "2021-11-08 22:00"}, "csv.bad_timestamp", 'end "2021-11-08 22:00"'),
        ({"start": ""}, "csv.bad_timestamp", 'start ""'),
        # Year 0 reads as ISO 8601 but is out of the datetime range later steps use.
        (
            {"start": "0000-11-08T21:00:00Z", "end": "0000-11-08T22:00:00Z"},
            "csv.bad_timestamp",
            'start "0000-11-08T21:00:00Z"',
        ),
        (
            {"start": "0000-11-08T21:00:00", "end": "0000-11-08T22:00:00"},
            "csv.bad_timestamp",
            'start "0000-11-08T21:00:00"',
        ),
        ({"end": "0000-11-08T22:00:00"}, "csv.bad_timestamp", 'end "0000-11-08T22:00:00"'),
        ({"start": "-0001-11-08T21:00:00"}, "csv.bad_timestamp", 'start "-0001-11-08T21:00:00"'),
        (
            {"start": "10000-11-08T21:00:00", "end": "10000-11-08T22:00:00"},
            "csv.bad_timestamp",
            'start "10000-11-08T21:00:00"',
        ),
        (
            {"start": "10000-11-08T21:00:00Z", "end": "10000-11-08T22:00:00Z"},
            "csv.bad_timestamp",
            'start "10000-11-08T21:00:00Z"',
        ),
        # In range as written, beyond 9999 in UTC.
        (
            {"start": "9999-12-31T22:00:00", "end": "9999-12-31T23:00:00"},
            "csv.bad_timestamp",
            'start "9999-12-31T22:00:00"',
        ),
        (
            {"start": "2021-11-07T01:30:00", "end": "2021-11-07T02:30:00"},
            "timestamp.ambiguous_local_time",
            'start "2021-11-07T01:30:00"',
        ),
        (
            {"start": "2021-03-14T02:30:00", "end": "2021-03-14T03:30:00"},
            "timestamp.nonexistent_local_time",
            'start "2021-03-14T02:30:00"',
        ),
        ({"end": "2021-11-08T21:10:00Z"}, "csv.bad_interval", "lasts 10 minutes"),
        ({"end": "2021-11-08T20:00:00Z"}, "csv.bad_interval", "lasts -60 minutes"),
        (
            {"start": "2021-11-08T21:05:00Z", "end": "2021-11-08T21:20:00Z"},
            "csv.unaligned_interval",
            "starts at 21:05:00 UTC",
        ),
        # Half a second past the hour: the message shows the fraction that is wrong.
        (
            {"start": "2021-11-08T21:00:00.5Z", "end": "2021-11-08T22:00:00.5Z"},
            "csv.unaligned_interval",
            "starts at 21:00:00.500000 UTC; a 60-minute interval starts on the hour",
        ),
        # Local hours of a +05:30 zone are not UTC hours.
        (
            {"start": "2021-11-08T15:00:00+05:30", "end": "2021-11-08T16:00:00+05:30"},
            "csv.unaligned_interval",
            'start "2021-11-08T15:00:00+05:30"',
        ),
        ({"value": '"12,5"'}, "csv.bad_value", 'value "12,5"'),
        ({"value": "NaN"}, "csv.bad_value", 'value "NaN"'),
        ({"value": "1e999"}, "csv.bad_value", 'value "1e999"'),
        ({"value": "1e309"}, "csv.bad_value", 'value "1e309"'),
        ({"value": "nan"}, "csv.bad_value", 'value "nan"'),
        ({"value": "inf"}, "csv.bad_value", 'value "inf"'),
        ({"value": "-Infinity"}, "csv.bad_value", 'value "-Infinity"'),
        ({"value": '""'}, "csv.bad_value", 'value ""'),
        ({"unit": "k\x00Wh"}, "csv.unknown_unit", 'unit "k\\u0000Wh"'),
        ({"value": ""}, "csv.bad_value", 'value ""'),
        ({"unit": "kwh"}, "csv.unknown_unit", 'unit "kwh"'),
        ({"quality": "a"}, "csv.unknown_quality", 'quality "a"'),
        ({"quality": "A,extra"}, "csv.too_many_fields", ',A,extra"'),
        ({"value": '"1"2'}, "csv.bad_quoting", "line 3: "),
        ({"meter_id": '"3\n4"'}, "csv.line_break_in_value", 'meter_id "3\\n4"'),
    ],
)
def test_each_rule_names_its_line_and_value(changes: dict[str, str], rule: str, shown: str) -> None:
    refused = rejection(line_3_with(**changes))

    assert (refused.rule, refused.line) == (rule, 3)
    assert refused.message.startswith("line 3: ")
    assert shown in refused.message


@pytest.mark.parametrize(
    "text",
    [
        "0000-11-08T21:00:00",
        "0000-11-08T21:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T23:00:00Z",
        "9999-12-31T23:00:00Z",  # on the last day, past its first instant
    ],
)
def test_timestamps_out_of_range_say_so(text: str) -> None:
    message = rejection(line_3_with(start=text)).message

    assert f'start "{text}" is out of range' in message
    assert "between 0001-01-02T00:00:00+00:00 and 9999-12-31T00:00:00+00:00, both included" in (
        message
    )


def test_the_range_the_message_names_is_the_range_taken() -> None:
    first = "0001-01-02T00:00:00Z,0001-01-02T01:00:00Z"
    last = "9999-12-30T23:00:00Z,9999-12-31T00:00:00Z"

    assert accepted(csv_bytes(HEADER, f"3,{first},1,kWh,A", f"3,{last},1,kWh,A")).height == 2


SHORT_LINE = "3,2021-11-08T21:00:00Z"


@pytest.mark.parametrize(
    "data, line",
    [
        (csv_bytes(HEADER, ROW_A, SHORT_LINE), 3),
        (csv_bytes(HEADER, ROW_A, "", SHORT_LINE, line_end="\r\n"), 4),
        (csv_bytes(HEADER, ROW_A, SHORT_LINE, '"4",' + ROW_B[2:]), 3),  # quotes: another reader
    ],
)
def test_a_line_of_too_few_fields_says_so(data: bytes, line: int) -> None:
    refused = rejection(data)

    assert (refused.rule, refused.line) == ("csv.too_few_fields", line)
    assert refused.message == (
        f'line {line}: "{SHORT_LINE}" has 2 field(s) but the header names 6 columns, so it has '
        "no end, value; write a field for every column, separated by commas"
    )


def test_a_line_short_of_the_columns_that_may_be_empty_is_a_reading() -> None:
    """Its missing unit and quality are empty ones: the connector's unit, no flag."""
    frame = accepted(csv_bytes(HEADER, ROW_A, ",".join(list(LINE_3.values())[:4])))

    assert frame.row(1)[4:] == ("kWh", None, 3)


def test_long_line_is_refused_for_its_value() -> None:
    refused = rejection(line_3_with(meter_id="m" * 1_000_000))

    assert (refused.rule, refused.line) == ("csv.bad_meter_id", 3)


@pytest.mark.parametrize(
    "data, line",
    [
        (csv_bytes(HEADER, ROW_A, ROW_B, line_end="\r"), 1),  # classic Mac OS
        (csv_bytes(HEADER, line_end="\r"), 1),
        (csv_bytes(HEADER, ROW_A, line_end="\r\n") + ROW_B.encode() + b"\r", 3),
        (line_3_with(quality='"A\rB"'), 3),
        (b"\r", 1),
    ],
)
def test_a_lone_cr_is_refused(data: bytes, line: int) -> None:
    refused = rejection(data)

    assert (refused.rule, refused.line) == ("csv.line_ends", line)
    assert "end each line with LF or CRLF" in refused.message


def test_not_utf8_names_the_line_and_byte() -> None:
    data = line_3_with(unit="k?Wh").replace(b"k?Wh", b"k\xe9Wh")  # é as Windows-1252 has it

    refused = rejection(data)

    assert (refused.rule, refused.line) == ("csv.not_utf8", 3)
    assert "0xE9" in refused.message and "save it as UTF-8" in refused.message


def test_ambiguous_wall_time_message_offers_both_offsets() -> None:
    refused = rejection(line_3_with(start="2021-11-07T01:30:00", end="2021-11-07T02:30:00"))

    assert "2021-11-07T01:30:00-04:00 or 2021-11-07T01:30:00-05:00" in refused.message
    assert "America/New_York" in refused.message


def test_duplicate_reading_names_both_lines_even_written_differently() -> None:
    data = csv_bytes(HEADER, ROW_A, ROW_B, "3,2021-11-08T19:00:00Z,2021-11-08T20:00:00Z,99,kWh,A")

    refused = rejection(data)

    assert (refused.rule, refused.line) == ("csv.duplicate_reading", 4)
    assert 'meter "3"' in refused.message and '"2021-11-08T19:00:00Z"' in refused.message
    assert "on line 2" in refused.message


def test_earliest_offending_line_is_reported_whatever_its_rule() -> None:
    data = csv_bytes(
        HEADER,
        ROW_A,
        "3,2021-11-08T15:00:00Z,2021-11-08T16:00:00Z,1,kWh,Z",  # line 3: quality
        "a/b,2021-11-08T16:00:00Z,2021-11-08T17:00:00Z,x,kWh,A",  # line 4: meter id and value
    )

    refused = rejection(data)

    assert (refused.rule, refused.line) == ("csv.unknown_quality", 3)


def test_on_one_line_the_first_column_rule_wins() -> None:
    assert rejection(line_3_with(meter_id="a/b", value="x")).rule == "csv.bad_meter_id"


def test_long_values_are_cut_in_messages() -> None:
    meter = "m" * 300

    message = rejection(line_3_with(meter_id=meter)).message

    assert f'"{"m" * SHOWN_CHARS}…"' in message
    assert meter not in message


def test_unknown_quality_message_lists_the_flags() -> None:
    message = rejection(line_3_with(quality="X")).message

    assert all(f"{flag} ({meaning})" in message for flag, meaning in QUALITY_FLAGS.items())


# Rejected files: header and whole-file rules


@pytest.mark.parametrize(
    "header, rule, shown",
    [
        ("meter_id,start,end,value", "csv.missing_column", "lacks unit"),
        ("meter_id,start,end,value,unit,notes", "csv.unknown_column", '"notes"'),
        ("meter_id,start,end,value,unit,value", "csv.duplicate_column", '"value"'),
        (ROW_A, "csv.unknown_column", '"2021-11-08T14:00:00-05:00"'),  # no header at all
        ("", "csv.missing_column", "lacks meter_id, start, end, value, unit"),
        (" meter_id ,start,end,value,unit, notes ", "csv.unknown_column", 'column(s) "notes";'),
        ('meter_id,start,end,value,unit,"quality', "csv.bad_header", "unexpected end of data"),
        ('"meter_id"x,start,end,value,unit', "csv.bad_header", "',' expected after '\"'"),
        ("m" * 200_000, "csv.bad_header", "field larger than field limit"),
    ],
)
def test_header_rules(header: str, rule: str, shown: str) -> None:
    refused = rejection(csv_bytes(header, ROW_A))

    assert (refused.rule, refused.line) == (rule, 1)
    assert shown in refused.message


def test_a_header_quote_left_open_does_not_swallow_lines() -> None:
    """Polars would read the quote on into line 2, and miscount every line after it."""
    data = csv_bytes('meter_id,start,end,value,unit,"quality', '"', ROW_A)

    assert rejection(data).rule == "csv.bad_header"


def test_a_header_of_many_unknown_columns_is_named_in_short() -> None:
    header = HEADER + "".join(f",x{number}" for number in range(20_000))

    refused = rejection(csv_bytes(header, ROW_A))

    assert refused.rule == "csv.unknown_column"
    assert '"x0", "x1"' in refused.message and "and 19,990 more" in refused.message
    assert len(refused.message) < 1000


@pytest.mark.parametrize(
    "data",
    [
        csv_bytes(HEADER),
        csv_bytes(HEADER, "", "", line_end="\r\n"),
        HEADER.encode(),
        b"\xef\xbb\xbf" + HEADER.encode(),
    ],
)
def test_header_without_readings(data: bytes) -> None:
    assert rejection(data).rule == "csv.no_readings"


def test_empty_file() -> None:
    assert rejection(b"").rule == "file.empty"


def test_listed_size_is_enough_to_refuse_a_file() -> None:
    assert check_size(1_048_577, EXT_CONN1).rule == "file.too_large"
    assert check_size(1_048_576, EXT_CONN1) is None


def test_size_limit_is_checked_before_the_file_is_read() -> None:
    data = b"\xff" * 11  # would be refused as not UTF-8 if it were read

    refused = rejection(data, replace(EXT_CONN1, max_file_bytes=10))

    assert refused.rule == "file.too_large"
    assert "11 bytes" in refused.message and "at most 10 bytes" in refused.message


def test_unknown_format_names_the_accepted_ones() -> None:
    checked = check_file("readings.xlsx", b"PK\x03\x04binary", EXT_CONN1)

    assert (checked.accepted, checked.format, checked.rejection.rule) == (
        False,
        None,
        "format.unknown",
    )
    assert '"readings.xlsx"' in checked.rejection.message
    assert "(csv)" in checked.rejection.message


class JsonReadings:
    """A second format, for what a connector that takes only some formats does."""

    name = "json"
    hint = "a JSON file starts with {"

    def detect(self, head: bytes, name: str) -> bool:
        return head.startswith(b"{")

    def read(self, data: bytes, connector: ConnectorProperties, **_: object) -> pl.DataFrame:
        return pl.DataFrame(schema=READINGS_SCHEMA)


def test_format_the_connector_does_not_take(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(file_checks.FORMATS, "json", JsonReadings())
    json_only = replace(EXT_CONN1, formats=("json",))

    as_json = check_file("readings.json", b'{"readings": []}', EXT_CONN1).rejection
    as_csv = check_file("readings.csv", csv_bytes(HEADER, ROW_A), json_only).rejection

    assert as_json.rule == as_csv.rule == "format.not_accepted"
    assert "is a json file" in as_json.message and "takes only csv" in as_json.message
    assert "is a csv file" in as_csv.message and "takes only json" in as_csv.message


def test_every_format_properties_xml_may_name_has_a_reader() -> None:
    assert set(FORMATS) == KNOWN_FORMATS
    assert all(FORMATS[name].name == name for name in FORMATS)


# Names


# Names fake-gcs-server rewrites on upload (a/../b to b, ./b to b, a//b to a/b): the intake
# tests on the local stack cannot carry them, so the check and its verdict are held to them here.
REWRITTEN_BY_THE_EMULATOR = [
    pytest.param(name, rule, id=f"{rule}: {name}")
    for name, rule in [
        ("2021/../readings.csv", "name.unsafe"),
        ("./readings.csv", "name.unsafe"),
        ("2021//readings.csv", "name.empty_segment"),
    ]
]


@pytest.mark.parametrize(
    "name, rule",
    [
        *REWRITTEN_BY_THE_EMULATOR,
        ("../ext_conn10/readings.csv", "name.unsafe"),
        ("/readings.csv", "name.empty_segment"),
        ("2021/", "name.empty_segment"),
        ("", "name.empty_segment"),
        ("readings\n.csv", "name.unprintable"),
        ("readings\x00.csv", "name.unprintable"),
        ("readings\u202e.csv", "name.unprintable"),  # right-to-left override: hides the ending
        ("readings\udcff.csv", "name.not_utf8"),  # an undecodable byte, as Python keeps it
        ("a" * (MAX_NAME_BYTES + 1), "name.too_long"),
        ("é" * (MAX_NAME_BYTES // 2 + 1), "name.too_long"),  # bytes, not characters
        ("readme.txt", "name.reserved"),
        ("_manifest.json", "name.reserved"),
    ],
)
def test_name_rules(name: str, rule: str) -> None:
    refused = check_name(name)

    assert refused is not None and refused.rule == rule
    json.dumps(refused.to_json()).encode("utf-8")  # the reason itself is writable as UTF-8


@pytest.mark.parametrize(
    "name",
    [
        "readings.csv",
        "2021/11/readings 08.csv",
        "données.csv",
        "sub/readme.txt",
        "a" * MAX_NAME_BYTES,
    ],
)
def test_names_that_are_fine(name: str) -> None:
    assert check_name(name) is None


def test_name_messages_show_the_hidden_character() -> None:
    message = check_name("readings\n.csv").message

    assert '"readings\\n.csv"' in message and "U+000A" in message


def test_readme_is_reserved_for_the_sensor_to_skip() -> None:
    assert "readme.txt" in RESERVED_NAMES


@pytest.mark.parametrize(
    "name, rule", [*REWRITTEN_BY_THE_EMULATOR, ("../readings.csv", "name.unsafe")]
)
def test_a_bad_name_refuses_the_file_without_reading_it(
    name: str, rule: str, tmp_path: Path
) -> None:
    """In memory and downloaded (as the intake checks a file) alike."""
    data = csv_bytes(HEADER, ROW_A)
    downloaded = tmp_path / "upload"
    downloaded.write_bytes(data)

    for checked in check_file(name, data, EXT_CONN1), check_local_file(name, downloaded, EXT_CONN1):
        assert checked == CheckedFile(name, None, None, checked.rejection)
        assert checked.rejection.rule == rule


# The verdict's shape


def test_rejection_json_for_the_error_file() -> None:
    refused = rejection(line_3_with(unit="kwh"))

    assert json.loads(json.dumps(refused.to_json())) == {
        "rule": "csv.unknown_unit",
        "line": 3,
        "message": refused.message,
    }


def test_rejected_csv_keeps_its_name_and_format() -> None:
    checked = check_file("2021/readings.csv", line_3_with(unit="kwh"), EXT_CONN1)

    assert (checked.name, checked.format, checked.accepted) == ("2021/readings.csv", "csv", False)


def test_accepted_verdicts_compare_and_print_without_their_readings() -> None:
    data = csv_bytes(HEADER, ROW_A)

    checked = check_file("readings.csv", data, EXT_CONN1)

    assert checked == check_file("readings.csv", data, EXT_CONN1)
    assert repr(checked) == (
        "CheckedFile(name='readings.csv', format='csv', rejection=None, notices=())"
    )


# Untrusted uploads: always a verdict, never an exception (which would stop the hour's intake)


@pytest.mark.parametrize(
    "error", [RuntimeError("reader bug"), pl.exceptions.PanicException("reader bug")]
)
def test_a_reader_that_fails_refuses_the_file_as_unreadable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: BaseException
) -> None:
    def failing_read(self: CsvFormat, data: bytes, connector: object, **_: object) -> None:
        raise error

    monkeypatch.setattr(CsvFormat, "read", failing_read)

    with caplog.at_level(logging.ERROR, logger=file_checks.__name__):
        checked = check_file("2021/readings.csv", csv_bytes(HEADER, ROW_A), EXT_CONN1)

    assert (checked.format, checked.readings) == ("csv", None)
    assert (checked.rejection.rule, checked.rejection.line) == ("file.unreadable", None)
    message = checked.rejection.message
    assert f'{type(error).__name__}: "reader bug"' in message
    assert 'contact Benchmark 8760 support with the file name "2021/readings.csv"' in message
    assert caplog.records[-1].exc_info[1] is error  # the traceback, for the platform's team


def test_a_readers_own_rejection_is_kept_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = Rejection("csv.some_rule", 7, "line 7: a reason")

    def refusing_read(self: CsvFormat, data: bytes, connector: object, **_: object) -> None:
        raise FormatRejected(refused)

    monkeypatch.setattr(CsvFormat, "read", refusing_read)

    assert rejection(csv_bytes(HEADER, ROW_A)) == refused


# Fragments a CSV upload could hold: each column's good and bad values, separators, quotes,
# every kind of line end, whitespace, control characters and a byte-order mark.
FRAGMENTS = st.sampled_from(
    [
        *HEADER.split(","),
        *LINE_3.values(),
        *[",", ",", "\n", "\r\n", "\r", '"', '""', " ", "\t", "\x00", "\ufeff", "é", "\u2028"],
        *["2021-11-07T01:30:00", "2021-03-14T02:30:00", "0000-01-01T00:00:00", "+05:30"],
        *["9999-12-31T23:00:00", "-0001-01-01T00:00:00", "nan", "inf", "1e309", "-0", "line"],
    ]
)


def upload(header: str, fragments: list[str], noise: bytes, at: int) -> bytes:
    """The fragments under the header, with a few arbitrary bytes put in at one place."""
    text = (header + "".join(fragments)).encode()
    return text[:at] + noise + text[at:]


UPLOADS = st.builds(
    upload,
    st.sampled_from([HEADER + "\n", HEADER + "\r\n", "\ufeff" + HEADER + "\n", ""]),
    st.lists(FRAGMENTS, max_size=40),
    st.binary(max_size=4),
    st.integers(min_value=0, max_value=400),
)


@settings(max_examples=300, deadline=None)
@given(data=UPLOADS, timezone=st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC"]))
def test_the_csv_reader_reads_or_refuses_any_upload(data: bytes, timezone: str) -> None:
    """Without the safety net of check_file: no upload may reach it."""
    try:
        frame = CsvFormat().read(
            data, replace(EXT_CONN1, timezone=timezone), meters={}, notice=pytest.fail
        )
    except FormatRejected:
        return
    assert frame.schema == READINGS_SCHEMA


COLUMN_VALUES = {
    "meter_id": ["3", "m-1", "a/b", ""],
    "start": ["2021-11-08T21:00:00Z", "2021-11-08T16:00:00", "2021-11-07T01:30:00", "x", ""],
    "end": ["2021-11-08T22:00:00Z", "2021-11-08T17:00:00", "0000-01-01T00:00:00", ""],
    "value": ["1", "-2.5", "nan", ""],
    "unit": ["kWh", "kwh", ""],
    "quality": ["A", "Z", ""],
}
PADDING = st.sampled_from(["", " ", "\t", "  "])


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(*(st.sampled_from(values) for values in COLUMN_VALUES.values())),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_whitespace_around_values_never_changes_the_verdict(
    rows: list[tuple[str, ...]], data: st.DataObject
) -> None:
    def verdict(pad: bool) -> tuple:
        lines = [
            ",".join(
                f"{data.draw(PADDING)}{cell}{data.draw(PADDING)}" if pad else cell for cell in line
            )
            for line in [tuple(COLUMN_VALUES), *rows]
        ]
        checked = check_file("readings.csv", csv_bytes(*lines), EXT_CONN1)
        return checked.rejection, checked.readings is not None and checked.readings.rows()

    assert verdict(pad=True) == verdict(pad=False)


# Timestamps as files write them: offsets, wall times (some twice or never in New York),
# out of range, not timestamps at all, empty.
TIMESTAMP_TEXTS = st.sampled_from(
    [
        "2021-11-07T01:00:00-04:00",
        "2021-11-07T01:00:00-05:00",
        "2021-11-07T05:00:00Z",
        "2021-11-07T01:00:00",  # twice
        "2021-03-14T02:30:00",  # never
        "2021-11-07T02:00:00",
        "1800-01-01T00:00:00Z",
        "yesterday",
        None,
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TIMESTAMP_TEXTS, TIMESTAMP_TEXTS), min_size=20, max_size=40))
def test_ends_looked_up_among_starts_read_as_ends_parsed_alone(pairs: list[tuple]) -> None:
    """The ends that are some row's start are looked up among the starts: the instants must
    be those of parsing each column alone."""
    start = pl.Series([s for s, _ in pairs], dtype=pl.String)
    end = pl.Series([e for _, e in pairs], dtype=pl.String)
    zone = "America/New_York"
    starts, ends = timestamps.utc_starts_and_ends(start, end, zone)
    assert starts.equals(timestamps.utc_times(start, zone))
    assert ends.equals(timestamps.utc_times(end, zone))
