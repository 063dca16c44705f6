"""Participants' views of the warehouse: on the session's bqemulator, where views filter as
in BigQuery, and against bigquery_fake.FakeBigQuery for what the emulator does not keep (a
view's SQL) or enforce (dataset access), with the REST bodies asserted."""

import pyarrow as pa

from b8760_assets.access.policy import AccessScope
from b8760_assets.access.warehouse_views import (
    MISSING_ACCESS,
    MISSING_VIEW,
    SEES_EVERYONE,
    UNEXPECTED_ACCESS,
    VIEW_DRIFT,
    VIEWED_COLUMNS,
    Views,
    audit_views,
    grant_views,
    view_sql,
    write_views,
)
from b8760_assets.config import load_platform
from b8760_assets.meter_registry import METERS_SCHEMA, METERS_TABLE, meters_table
from b8760_assets.readings_table import READINGS_TABLE, ensure_readings_table
from b8760_assets.settings import SAMPLE_PLATFORM_DIR
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.bigquery_fake import PROJECT, RUNNER, FakeBigQuery, default_access
from b8760_assets_tests.warehouse_rows import readings_rows

PLATFORM = load_platform(SAMPLE_PLATFORM_DIR)
SCOPE = AccessScope("benchmark8760", "landing_zone", "example.org")
VIEWS = Views(list(PLATFORM.participants), ["participant_1"], SCOPE)
GROUP_1 = {"role": "READER", "groupByEmail": "b8760-participant-1@example.org"}
GROUP_2 = {"role": "READER", "groupByEmail": "b8760-participant-2@example.org"}
ACCOUNT_1 = {
    "role": "READER",
    "userByEmail": "b8760dl-participant-1@benchmark8760.iam.gserviceaccount.com",
}


def readings_of(*participants: str) -> pa.Table:
    rows = readings_rows(len(participants))
    index = rows.schema.get_field_index("participant")
    return rows.set_column(index, "participant", pa.array(participants, pa.string()))


def test_a_participant_s_views_hold_its_rows_only(warehouse: WarehouseResource) -> None:
    ensure_readings_table(warehouse)
    warehouse.ensure_table(METERS_TABLE, METERS_SCHEMA)
    warehouse.load_rows(READINGS_TABLE, readings_of("participant_1", "participant_2", "p3"))
    warehouse.load_rows(METERS_TABLE, meters_table(PLATFORM.meters))

    lines = write_views(warehouse, VIEWS)

    own = f"{warehouse.dataset}_participant_1"
    assert f"view {own}.readings: created" in lines
    readings = warehouse.query(f"SELECT * FROM {own}.readings")
    assert [row["participant"] for row in readings] == ["participant_1"]
    assert list(readings[0]) == VIEWED_COLUMNS[READINGS_TABLE]
    meters = warehouse.query(f"SELECT participant, connector FROM {own}.meters")
    assert meters and {row["participant"] for row in meters} == {"participant_1"}
    theirs = warehouse.query(f"SELECT participant FROM {warehouse.dataset}_participant_2.meters")
    assert theirs and {row["participant"] for row in theirs} == {"participant_2"}
    # The emulator gives no view's SQL back, so a view is written again each time.
    assert f"view {own}.readings: replaced" in write_views(warehouse, VIEWS)


def test_the_views_and_access_bigquery_is_sent(bigquery: FakeBigQuery) -> None:
    warehouse = bigquery.warehouse()

    write_views(warehouse, VIEWS)
    changes = grant_views(warehouse, VIEWS)

    inserted = [call.body for call in bigquery.calls("POST", "/tables")]
    assert inserted[0] == {
        "tableReference": {
            "projectId": PROJECT,
            "datasetId": "b8760_participant_1",
            "tableId": "readings",
        },
        "view": {"query": view_sql(warehouse, "readings", "participant_1"), "useLegacySql": False},
        "labels": {},
    }
    assert view_sql(warehouse, "meters", "participant_2").endswith(
        f"FROM `{PROJECT}.b8760.meters` WHERE participant = 'participant_2'"
    )
    assert [change.written for change in changes] == [True, True, True]
    source, first, second = (call.body for call in bigquery.calls("PATCH", ""))
    assert source == {
        "access": [
            *default_access(),
            *(
                {"view": {"projectId": PROJECT, "datasetId": f"b8760_{p}", "tableId": t}}
                for p in ("participant_1", "participant_2")
                for t in ("readings", "meters")
            ),
        ]
    }
    assert first == {"access": [*default_access(), GROUP_1, ACCOUNT_1]}
    assert second == {"access": [*default_access(), GROUP_2]}
    patches = [call.path for call in bigquery.calls("PATCH", "")]
    assert patches[1].startswith(f"/bigquery/v2/projects/{PROJECT}/datasets/b8760_participant_1")

    again = grant_views(warehouse, VIEWS)
    assert write_views(warehouse, VIEWS).count("view b8760_participant_1.readings: unchanged") == 1
    assert [change.written for change in again] == [False, False, False]
    assert len(bigquery.calls("PATCH", "")) == 3


def test_a_concurrent_change_of_access_is_kept(bigquery: FakeBigQuery) -> None:
    warehouse = bigquery.warehouse()
    theirs = {"role": "READER", "userByEmail": "ops@example.org"}

    def edit_while_someone_writes(entries: list[dict]) -> list[dict]:
        if not bigquery.calls("PATCH", ""):
            bigquery.add_dataset("b8760", [*default_access(), theirs])
        return [*entries, GROUP_1]

    change = warehouse.change_dataset_access("b8760", edit_while_someone_writes)

    assert change.written and len(bigquery.calls("PATCH", "")) == 2
    assert bigquery.datasets["b8760"]["access"] == [*default_access(), theirs, GROUP_1]


def kinds(findings) -> list[tuple[str, str, str]]:
    return [(finding.kind, finding.dataset, finding.what) for finding in findings]


def test_the_audit_finds_drift_from_the_platform_s_views(bigquery: FakeBigQuery) -> None:
    warehouse = bigquery.warehouse()
    missing = audit_views(warehouse, VIEWS)
    assert (MISSING_VIEW, "b8760_participant_1", "readings") in kinds(missing)
    assert (MISSING_ACCESS, "b8760", str(authorized("participant_2", "meters"))) in kinds(missing)

    write_views(warehouse, VIEWS)
    grant_views(warehouse, VIEWS)
    assert audit_views(warehouse, VIEWS) == []  # the runner, its dataset's owner, is no finding

    own = bigquery.datasets["b8760_participant_1"]["access"]
    own.append(GROUP_2)
    own.remove(ACCOUNT_1)
    bigquery.datasets["b8760"]["access"].append(GROUP_1)
    bigquery.tables["b8760_participant_2", "readings"]["view"]["query"] = "SELECT * FROM x"
    assert kinds(audit_views(warehouse, VIEWS)) == [
        (MISSING_ACCESS, "b8760_participant_1", str(ACCOUNT_1)),
        (UNEXPECTED_ACCESS, "b8760_participant_1", str(GROUP_2)),
        (VIEW_DRIFT, "b8760_participant_2", "readings"),
        (SEES_EVERYONE, "b8760", str(GROUP_1)),
    ]


def test_strangers_reading_a_participant_s_views_are_findings(bigquery: FakeBigQuery) -> None:
    warehouse = bigquery.warehouse()
    write_views(warehouse, VIEWS)
    grant_views(warehouse, VIEWS)
    stranger = {"role": "READER", "userByEmail": "someone@example.com"}
    bigquery.datasets["b8760_participant_2"]["access"] += [
        stranger,
        {"role": "OWNER", "userByEmail": RUNNER},
        {"role": "READER", "specialGroup": "allAuthenticatedUsers"},
    ]
    assert [(f.kind, f.what) for f in audit_views(warehouse, VIEWS)] == [
        (UNEXPECTED_ACCESS, str(stranger)),
        (UNEXPECTED_ACCESS, str({"role": "READER", "specialGroup": "allAuthenticatedUsers"})),
    ]


def authorized(participant: str, table: str) -> dict:
    return {"view": {"projectId": PROJECT, "datasetId": f"b8760_{participant}", "tableId": table}}
