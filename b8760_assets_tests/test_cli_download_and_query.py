"""`b8760 download` and `b8760 warehouse query` against the session's local stack."""

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.cli.warehouse import table
from b8760_assets.layout import meter_hour_name
from b8760_assets.storage import StorageResource


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
