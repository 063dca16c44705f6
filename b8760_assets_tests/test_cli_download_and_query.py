"""`b8760 download` and `b8760 warehouse query` against the session's local stack."""

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.cli.warehouse import table
from b8760_assets.layout import meter_hour_name
from b8760_assets.storage import StorageResource


def b8760(*args: str):
    return CliRunner().invoke(main, list(args))


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


def test_table_of_no_rows() -> None:
    assert table([]) == "(no rows)"
