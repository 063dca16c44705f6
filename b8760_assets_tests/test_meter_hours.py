"""The meter-hour objects participants download: their names, how an hour's rows split into
them, their JSON, and merges that end in the same bytes whatever order hours are replayed in."""

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from b8760_assets.layout import meter_hour_name
from b8760_assets.standardized.meter_hours import (
    CONTENT_TYPE,
    merge_meter_hour_document,
    meter_hour_documents,
    meter_hour_metadata,
)
from b8760_assets_tests.reference import decode_meter_hour, newest_per_interval
from b8760_assets_tests.standardized_rows import reading, standardized, utc

DOWNLOADING_MD = Path(__file__).parents[1] / "docs" / "downloading.md"
ARRIVAL = utc(2021, 11, 8, 15)
HOUR = utc(2021, 11, 8, 14)
METER_3_AT_14 = "coned/standardized/3/2021-11-08T14:00:00"


def quarter(hour: datetime, quarter_number: int) -> datetime:
    return hour + timedelta(minutes=15 * quarter_number)


def meter_3_hour(*values: float, uploaded_at: datetime = ARRIVAL) -> pl.DataFrame:
    """Meter 3's 15-minute readings from 14:00 UTC, one a line from line 2."""
    return standardized(
        *(
            reading("3", quarter(HOUR, number), value, line=number + 2)
            for number, value in enumerate(values)
        ),
        uploaded_at=uploaded_at,
    )


def merge_meter_hour(existing: bytes | None, rows: pl.DataFrame) -> bytes:
    """One meter-hour's rows merged into its object's content (None: no object yet), as the
    standardized asset merges each object."""
    [(_, document)] = meter_hour_documents(rows)
    return merge_meter_hour_document(existing, document)


def hour_documents(rows: pl.DataFrame) -> dict[str, dict]:
    """An hour's rows as the documents of the objects they go to, by object name."""
    return dict(meter_hour_documents(rows))


def lines(document: dict) -> list[int]:
    """The source lines of a document's intervals, in its order."""
    return [interval["version"]["line"] for interval in document["intervals"]]


def test_an_object_is_named_by_connector_meter_and_utc_hour() -> None:
    assert meter_hour_name("coned", "3", HOUR) == METER_3_AT_14
    new_york = datetime(2021, 11, 8, 9, 45, tzinfo=ZoneInfo("America/New_York"))
    assert meter_hour_name("coned", "3", new_york) == METER_3_AT_14


def test_rows_go_to_the_object_of_the_utc_hour_their_interval_starts_in() -> None:
    rows = standardized(
        reading("3", utc(2021, 11, 8, 13, 45), 1.0, line=2),
        reading("3", HOUR, 1.0, line=3),
        reading("1", HOUR, 1.0, line=4, minutes=60),
        reading("3", utc(2021, 11, 8, 14, 45), 1.0, line=5),  # ends at 15:00, belongs to 14:00
        reading("3", utc(2021, 11, 8, 15), 1.0, line=6),
        reading("3", utc(2021, 11, 8, 14, 15), 1.0, line=7),
        uploaded_at=ARRIVAL,
    )
    documents = hour_documents(rows)
    assert {name: lines(document) for name, document in documents.items()} == {
        "coned/standardized/1/2021-11-08T14:00:00": [4],
        "coned/standardized/3/2021-11-08T13:00:00": [2],
        METER_3_AT_14: [3, 5, 7],
        "coned/standardized/3/2021-11-08T15:00:00": [6],
    }
    assert {(document["meter_id"], document["hour"]) for document in documents.values()} == {
        ("1", "2021-11-08T14:00:00Z"),
        ("3", "2021-11-08T13:00:00Z"),
        ("3", "2021-11-08T14:00:00Z"),
        ("3", "2021-11-08T15:00:00Z"),
    }


def documented_example() -> dict:
    """The first JSON block of docs/downloading.md: the contract's example object."""
    block = re.search(r"```json\n(.*?)```", DOWNLOADING_MD.read_text(), re.DOTALL)
    assert block is not None, f"no json example in {DOWNLOADING_MD}"
    return json.loads(block.group(1))


def test_the_object_is_the_documented_json() -> None:
    rows = pl.concat(
        [
            standardized(
                reading("3", quarter(HOUR, 0), 1.25, line=2),
                reading("3", quarter(HOUR, 1), 1.5, line=3),
                reading("3", quarter(HOUR, 2), 1750.0, "Wh", line=4),
                uploaded_at=utc(2021, 11, 8, 14, 52, 7, 318000),
                source_file="coned_2021-11-08.csv",
            ),
            standardized(
                reading("3", quarter(HOUR, 1), 1.55, line=2, quality="E"),
                uploaded_at=utc(2021, 11, 9, 3, 10, 44, 21000),
                source_file="corrections/2021-11-08.csv",
            ),
        ]
    )
    content = merge_meter_hour(None, rows)
    assert json.loads(content) == documented_example()
    assert content.startswith(b'{"format":1,"connector":"coned",')  # the format comes first
    assert CONTENT_TYPE == "application/json"
    assert meter_hour_metadata(content) == {
        "b8760-connector": "coned",
        "b8760-meter": "3",
        "b8760-hour": "2021-11-08T14:00:00Z",
        "b8760-intervals": "3",
    }


def test_merging_rows_again_changes_nothing() -> None:
    rows = meter_3_hour(1.0, 2.0, 3.0)
    once = merge_meter_hour(None, rows)
    assert merge_meter_hour(once, rows) == once
    assert merge_meter_hour(once, rows.tail(1)) == once


def test_an_older_version_does_not_replace_a_newer_one() -> None:
    newer = merge_meter_hour(None, meter_3_hour(2.0, uploaded_at=utc(2021, 11, 9, 0)))
    merged = merge_meter_hour(newer, meter_3_hour(1.0, 5.0))
    assert [interval["value"] for interval in json.loads(merged)["intervals"]] == [80.0, 200.0]


def test_a_replay_after_a_meter_xml_correction_rewrites_its_readings() -> None:
    """Same versions, new values (the multiplier was corrected): the replayed rows win."""
    rows = meter_3_hour(1.0, 2.0)
    corrected = rows.with_columns(value=pl.col("value") / 40)
    merged = merge_meter_hour(merge_meter_hour(None, rows), corrected)
    assert merged == merge_meter_hour(None, corrected)


def test_decoding_gives_back_the_newest_rows() -> None:
    rows = pl.concat([meter_3_hour(1.0, 2.0), meter_3_hour(3.0, uploaded_at=utc(2021, 11, 8, 16))])
    decoded = decode_meter_hour(merge_meter_hour(None, rows))
    assert (decoded.connector, decoded.participant, decoded.meter_id, decoded.hour) == (
        "coned",
        "participant_1",
        "3",
        HOUR,
    )
    assert (decoded.unit, decoded.meter_known) == ("kWh", True)
    assert_frame_equal(decoded.rows, newest_per_interval(rows))


@pytest.mark.parametrize(
    "value", [0.1 + 0.2, 1e-300, 5e-324, -0.0, 123456789.12345679, 1.7976931348623157e308]
)
def test_values_round_trip_exactly(value: float) -> None:
    rows = standardized(reading("99", HOUR, value, line=2), uploaded_at=ARRIVAL)
    content = merge_meter_hour(None, rows)
    assert decode_meter_hour(content).rows["value"].to_list() == [value]
    assert str(json.loads(content)["intervals"][0]["value"]) == repr(value)
    assert merge_meter_hour(content, rows) == content


def test_an_object_of_an_unknown_meter_in_mixed_units_has_no_single_unit() -> None:
    rows = standardized(
        reading("99", HOUR, 1.0, "kWh", line=2),
        reading("99", quarter(HOUR, 1), 1000.0, "Wh", line=3),
        uploaded_at=ARRIVAL,
    )
    document = json.loads(merge_meter_hour(None, rows))
    assert (document["unit"], document["meter_known"]) == (None, False)
    assert [interval["unit"] for interval in document["intervals"]] == ["kWh", "Wh"]


def test_an_object_with_an_interval_of_an_unknown_meter_is_not_known() -> None:
    """Its first quarter was standardized before meter 3's XML existed, its second after:
    the object's meter_known holds only when every interval's does."""
    rows = pl.concat(
        [
            standardized(reading("3", HOUR, 1.0, line=2), uploaded_at=ARRIVAL, meters={}),
            standardized(reading("3", quarter(HOUR, 1), 1.0, line=3), uploaded_at=ARRIVAL),
        ]
    )
    document = json.loads(merge_meter_hour(None, rows))
    assert [interval["meter_known"] for interval in document["intervals"]] == [False, True]
    assert document["meter_known"] is False


def test_rows_of_another_meter_hour_are_refused() -> None:
    """An object's rows share its identity: rows of another participant under the same name,
    or another meter's document, never reach it."""
    other_participant = meter_3_hour(1.0, 2.0).with_columns(
        participant=pl.Series(["participant_1", "participant_2"])
    )
    with pytest.raises(ValueError, match="exactly one meter and hour"):
        hour_documents(other_participant)
    meter_1 = standardized(reading("1", HOUR, 1.0, line=2), uploaded_at=ARRIVAL)
    with pytest.raises(ValueError, match="cannot merge into the object of"):
        merge_meter_hour(merge_meter_hour(None, meter_3_hour(1.0)), meter_1)


# Property: hours of random readings, replayed in random orders with random repeats, leave
# every object with the same bytes, holding the newest reading of each interval.

FILE = st.tuples(
    st.sampled_from(["a.csv", "a.csv.1", "b.csv"]),
    st.lists(
        st.tuples(
            st.sampled_from(["3", "99"]),
            st.integers(min_value=0, max_value=7),  # quarter from 14:00: two UTC hours
            st.floats(min_value=-1e300, max_value=1e300, allow_nan=False),
            st.sampled_from(["kWh", "Wh"]),
        ),
        min_size=1,
        max_size=5,
    ),
)
ARRIVAL_HOURS = st.lists(
    st.lists(FILE, min_size=1, max_size=2, unique_by=lambda file: file[0]),
    min_size=1,
    max_size=4,
)


def hour_rows(index: int, files: list) -> pl.DataFrame:
    """The standardized rows of the files that arrived in the index-th hour."""
    return pl.concat(
        standardized(
            *(
                reading(meter_id, quarter(HOUR, number), value, unit, line=line)
                for line, (meter_id, number, value, unit) in enumerate(readings, start=2)
            ),
            uploaded_at=ARRIVAL + timedelta(hours=index),
            source_file=name,
        )
        for name, readings in files
    )


def replay(hours: list[dict[str, dict]], order: list[int]) -> dict[str, bytes]:
    objects: dict[str, bytes] = {}
    for index in order:
        for name, document in hours[index].items():
            objects[name] = merge_meter_hour_document(objects.get(name), document)
    return objects


@settings(max_examples=50, deadline=None)
@given(arrivals=ARRIVAL_HOURS, data=st.data())
def test_replays_in_any_order_end_in_the_same_objects(arrivals: list, data: st.DataObject) -> None:
    all_rows = [hour_rows(index, files) for index, files in enumerate(arrivals)]
    hours = [hour_documents(rows) for rows in all_rows]
    indexes = list(range(len(hours)))
    orders = [
        data.draw(st.permutations(indexes + data.draw(st.lists(st.sampled_from(indexes)))))
        for _ in range(2)
    ]
    first, second = (replay(hours, order) for order in orders)
    assert first == second
    at_once = hour_documents(pl.concat(all_rows))
    assert first == {
        name: merge_meter_hour_document(None, document) for name, document in at_once.items()
    }


@settings(max_examples=50, deadline=None)
@given(arrivals=ARRIVAL_HOURS)
def test_the_newest_reading_of_an_interval_is_the_greatest_origin(arrivals: list) -> None:
    """Independent of version strings: the greatest (upload time, file, line) wins."""
    greatest: dict[tuple[str, int], tuple] = {}
    for index, files in enumerate(arrivals):
        for name, readings in files:
            for line, (meter_id, number, _, _) in enumerate(readings, start=2):
                origin = (ARRIVAL + timedelta(hours=index), name, line)
                key = (meter_id, number)
                greatest[key] = max(greatest.get(key, origin), origin)
    objects = replay(
        [hour_documents(hour_rows(index, files)) for index, files in enumerate(arrivals)],
        list(range(len(arrivals)))[::-1],
    )
    kept = {}
    for content in objects.values():
        rows = decode_meter_hour(content).rows.select(
            "meter_id", "interval_start", "uploaded_at", "source_file", "source_line"
        )
        for meter_id, start, hour, file, line in rows.iter_rows():
            kept[(meter_id, (start - HOUR) // timedelta(minutes=15))] = (hour, file, line)
    assert kept == greatest
