"""The landing check reads a file a batch of rows (and a chunk of bytes) at a time: the verdict
must be the one a read of the whole file gives, wherever the batches and chunks end."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing import reading_keys
from b8760_assets.landing.csv_format import blocks, source
from b8760_assets.landing.file_checks import CheckedFile, check_file, check_local_file
from b8760_assets_tests.test_landing_checks import (
    EXT_CONN1,
    HEADER,
    LINE_3,
    ROW_A,
    ROW_B,
    UPLOADS,
    csv_bytes,
)


@contextmanager
def batches_of(rows: int, chunk_bytes: int, keys_in_memory: int = 2) -> Iterator[None]:
    """Batches of `rows` rows (or `chunk_bytes` bytes), and reading keys on disk beyond
    `keys_in_memory`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks, "BATCH_ROWS", rows)
        patch.setattr(source, "CHUNK_BYTES", chunk_bytes)
        patch.setattr(reading_keys, "KEYS_IN_MEMORY", keys_in_memory)
        yield


def verdict(checked: CheckedFile) -> tuple:
    rows = None if checked.readings is None else checked.readings.rows()
    return checked.format, checked.rejection, rows


@contextmanager
def values_as_text() -> Iterator[None]:
    """Blocks read as text only, as a file with quotes is: no values read as numbers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks, "_typed_schema", lambda header, separator: None)
        yield


def assert_same_verdicts(
    data: bytes,
    folder: Path,
    timezone: str = "America/New_York",
    connector: ConnectorProperties = EXT_CONN1,
) -> None:
    connector = replace(connector, timezone=timezone)
    whole = check_file("readings.csv", data, connector)
    with values_as_text():
        assert verdict(check_file("readings.csv", data, connector)) == verdict(whole)
    path = folder / "readings.csv"
    path.write_bytes(data)
    for rows, chunk_bytes, keys_in_memory in [(1, 1, 1), (2, 3, 10**6), (3, 64, 3)]:
        with batches_of(rows, chunk_bytes, keys_in_memory):
            assert verdict(check_file("readings.csv", data, connector)) == verdict(whole)
            batches = []
            local = check_local_file("readings.csv", path, connector, on_readings=batches.append)
        assert (local.format, local.rejection) == (whole.format, whole.rejection)
        if whole.accepted:
            assert local.count == whole.readings.height == whole.count
            assert [row for batch in batches for row in batch.rows()] == whole.readings.rows()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=UPLOADS, timezone=st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC"]))
def test_any_upload_gets_the_verdict_of_a_whole_read(
    data: bytes, timezone: str, tmp_path: Path
) -> None:
    assert_same_verdicts(data, tmp_path, timezone)


# Values polars may read as numbers, or not, or differently from text: whitespace, signs,
# exponents, infinities, separators.
VALUES = st.text(alphabet=" \t+-.0123456789eEinfINFaA_x,", max_size=8)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(VALUES, min_size=1, max_size=3))
def test_values_read_as_numbers_get_the_verdict_of_values_read_as_text(
    values: list[str], tmp_path: Path
) -> None:
    rows = [
        f"3,2021-11-09T{10 + n}:00:00Z,2021-11-09T{11 + n}:00:00Z,{value},kWh,A"
        for n, value in enumerate(values)
    ]
    assert_same_verdicts(csv_bytes(HEADER, ROW_A, *rows), tmp_path)


LINE = ",".join(LINE_3.values())


def hour(h: int) -> str:
    return f"3,2021-11-09T{h:02d}:00:00Z,2021-11-09T{h + 1:02d}:00:00Z,1,kWh,A"


@pytest.mark.parametrize(
    "lines, rule, line",
    [
        # The repeat of line 2 is six lines later, batches apart.
        ([ROW_A, ROW_B, *map(hour, (10, 11, 12, 13)), ROW_A],
         "csv.duplicate_reading", 8),
        # A repeat before a broken value wins; after it, the broken value does.
        ([ROW_A, ROW_B, ROW_A, LINE.replace(",1,", ",x,")], "csv.duplicate_reading", 4),
        ([ROW_A, ROW_B, LINE.replace(",1,", ",x,"), ROW_A], "csv.bad_value", 4),
        # A line break in a value refuses the file even after an earlier broken value.
        ([ROW_A, LINE.replace(",1,", ",x,"), ROW_B, '"3\n4",' + LINE.split(",", 1)[1]],
         "csv.line_break_in_value", 5),
        # So do too many fields, wherever they are.
        ([ROW_A, LINE.replace(",1,", ",x,"), ROW_B, ROW_B + ",extra"], "csv.too_many_fields", 5),
        # A line short of a column is found in its chunk, however the file is cut.
        ([ROW_A, ROW_B, hour(10), "3,2021-11-09T12:00:00Z"], "csv.too_few_fields", 5),
        # A file whose only readings are blank once trimmed has none.
        (["   ,  ,", " , , , , , "], "csv.no_readings", None),
    ],
)  # fmt: skip
def test_rules_across_batches(lines: list[str], rule: str, line: int | None, tmp_path) -> None:
    data = csv_bytes(HEADER, *lines)
    with batches_of(1, 5):
        refused = check_file("readings.csv", data, EXT_CONN1).rejection
    assert (refused.rule, refused.line) == (rule, line)
    assert_same_verdicts(data, tmp_path)


@pytest.mark.parametrize("at", range(0, 12))
def test_a_lone_cr_or_bad_byte_at_a_chunk_boundary(at: int, tmp_path: Path) -> None:
    for odd in (b"\r", b"\xe9"):
        lines = csv_bytes(HEADER, ROW_A, ROW_B, ROW_A.replace("3,", "4,", 1))
        position = len(HEADER) + 1 + len(ROW_A) + 1 + at
        data = lines[:position] + odd + lines[position:]
        with batches_of(1, 8):
            refused = check_file("readings.csv", data, EXT_CONN1).rejection
        assert refused.line == 3
        assert_same_verdicts(data, tmp_path)
