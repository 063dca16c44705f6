"""`b8760 download` and `b8760 warehouse query` against the session's local stack."""

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.cli.warehouse import table
from b8760_assets.layout import meter_hour_name
from b8760_assets.readings_schema import INTERVAL_KEY
from b8760_assets.standardized.assets import merge_meter_hours
from b8760_assets.storage import StorageResource
from b8760_assets_tests.reference import decode_meter_hour
from b8760_assets_tests.standardized_rows import reading, standardized, utc, validated


def b8760(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="b8760")


def test_download_prints_the_meter_hour_and_its_url(storage: StorageResource, bucket: str) -> None:
    name = meter_hour_name("coned", "3", datetime(2021, 11, 8, 14, tzinfo=UTC))
    assert name == "coned/standardized/3/2021-11-08T14:00:00"
    storage.write(bucket, name, b'{"meter_id": "3"}')

    printed = b8760("download", bucket, "coned", "3", "2021-11-08T14:00:00")
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == {"meter_id": "3"}

    url = b8760("download", bucket, "coned", "3", "2021-11-08T14:00:00", "--url").stdout.strip()
    assert url == (
        f"{storage.api_endpoint}/storage/v1/b/{bucket}/o/"
        "coned%2Fstandardized%2F3%2F2021-11-08T14:00:00?alt=media"
    )


def test_download_of_a_missing_hour_or_a_bad_hour(storage: StorageResource, bucket: str) -> None:
    missing = b8760("download", bucket, "coned", "3", "2021-11-08T13:00:00")
    assert missing.exit_code == 1
    assert "no readings of meter 3 in that hour" in missing.stderr
    bad = b8760("download", bucket, "coned", "3", "2021-11-08 13:00")
    assert bad.exit_code == 2
    assert "is not an hour like 2021-11-08T14:00:00" in bad.stderr


@pytest.fixture
def meter_hours(storage: StorageResource, bucket: str) -> list[str]:
    """Meter-hour objects of meters 1 and 3 in hours 14:00..17:00 of 2021-11-08 (none of
    meter 1 at 16:00), validated and written by the platform's merge; their names."""
    day = (2021, 11, 8)
    found = standardized(
        *(reading("3", utc(*day, hour, minute), 1.0 + hour, line=hour)
          for hour in (14, 15, 16, 17) for minute in (0, 30)),
        *(reading("1", utc(*day, hour), 2.0, line=20 + hour) for hour in (14, 15, 17)),
        uploaded_at=utc(2021, 11, 9, 3, 10),
    )  # fmt: skip
    rows = validated(found).rows
    assert set(rows["validation"]) == {"validated"}  # what a download must carry
    merge_meter_hours(storage, bucket, rows)
    return sorted(o.name for o in storage.list(bucket, "coned/standardized/"))


def downloaded_rows(storage: StorageResource, bucket: str, names: list[str]) -> pl.DataFrame:
    """What the objects hold, decoded by the reference decoder, in the readings' columns."""
    decoded = [decode_meter_hour(storage.read(bucket, name).data).rows for name in names]
    return pl.concat(decoded).sort(INTERVAL_KEY)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_download_of_a_range_writes_every_meter_hour_in_it(
    storage: StorageResource, bucket: str, meter_hours: list[str], tmp_path: Path, suffix: str
) -> None:
    output = tmp_path / f"readings{suffix}"
    done = b8760(
        "download", bucket, "coned", "3", "2021-11-08T15:00:00", "--to", "2021-11-08T16:00:00",
        "-o", str(output),
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert done.stdout == f"4 readings of 2 meter-hours (1 meters) written to {output}\n"
    assert done.stderr == ""  # no bar drawn where stderr is not a terminal
    written = pl.read_csv(output) if suffix == ".csv" else pl.read_parquet(output)
    expected = downloaded_rows(
        storage, bucket, [n for n in meter_hours if n.startswith("coned/standardized/3/")][1:3]
    )
    if suffix == ".csv":
        assert written["interval_start"].to_list()[:2] == [
            "2021-11-08T15:00:00Z", "2021-11-08T15:30:00Z"
        ]  # fmt: skip
        assert written["uploaded_at"][0] == "2021-11-09T03:10:00Z"
        expected = pl.read_csv(expected.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S%.fZ").encode())
    assert written.sort(INTERVAL_KEY).equals(expected)


def test_download_of_every_meter_of_a_connector(
    storage: StorageResource, bucket: str, meter_hours: list[str], tmp_path: Path
) -> None:
    output = tmp_path / "all.parquet"
    done = b8760(
        "download", bucket, "coned", "*", "2021-11-08T14:00:00", "--to", "2021-11-08T17:00:00",
        "-o", str(output),
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("11 readings of 7 meter-hours (2 meters) written to ")
    expected = downloaded_rows(storage, bucket, meter_hours)
    assert pl.read_parquet(output).sort(INTERVAL_KEY).equals(expected)


def test_download_of_a_range_refuses_what_it_cannot_write(bucket: str, tmp_path: Path) -> None:
    no_file = b8760(
        "download", bucket, "coned", "3", "2021-11-08T14:00:00", "--to", "2021-11-08T15:00:00"
    )
    assert no_file.exit_code == 2
    assert "a range is written to a file ending in .csv or .parquet" in no_file.stderr
    backwards = b8760(
        "download", bucket, "coned", "3", "2021-11-08T14:00:00", "--to", "2021-11-08T13:00:00",
        "-o", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert backwards.exit_code == 2
    assert "2021-11-08T13:00:00 is before HOUR 2021-11-08T14:00:00" in backwards.stderr
    every = b8760("download", bucket, "coned", "*", "2021-11-08T14:00:00")
    assert every.exit_code == 2
    assert "every meter ('*') needs a file" in every.stderr


def test_warehouse_query_prints_a_table_or_json(stack_env: dict) -> None:
    rows = b8760("warehouse", "query", "SELECT 'coned' AS connector, 6 AS readings")
    assert rows.exit_code == 0, rows.output
    assert rows.stdout.splitlines() == [
        "connector  readings",
        "---------  --------",
        "coned      6       ",
        "(1 row)",
    ]
    as_json = b8760("warehouse", "query", "SELECT 'coned' AS connector, 6 AS readings", "--json")
    assert json.loads(as_json.stdout) == {"connector": "coned", "readings": 6}


def test_a_query_the_warehouse_refuses_is_one_line(stack_env: dict) -> None:
    refused = b8760("warehouse", "query", "SELEC 1")
    assert refused.exit_code == 1
    assert refused.stderr == 'Error: 400 Syntax error: Unexpected identifier "SELEC" at [1:7]\n'


def test_help_and_version_as_a_user_types_them() -> None:
    assert b8760("-h").stdout == b8760("--help").stdout
    assert "Operate the Benchmark 8760 data platform." in b8760("-h").stdout
    assert b8760("warehouse", "query", "-h").stdout.startswith("Usage: b8760 warehouse query")
    version = b8760("--version")
    assert version.exit_code == 0 and version.stdout == "b8760, version 0.1.0\n"


def test_table_of_no_rows() -> None:
    assert table([]) == "(no rows)"
