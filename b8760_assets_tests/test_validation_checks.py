"""The validation rules as standardized_readings' checks, materialized on the real
fake-gcs-server: each rule's named check with its severity and a table of the meters and
days it found, and every reading's verdict in its meter-hour object, its hour's batch and the
warehouse."""

import io
import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from b8760_assets.landing.intake import take_in_hour
from b8760_assets.partitions import partition_of_hour
from b8760_assets.standardized.assets import UNIT_CHECK, build_standardized_readings
from b8760_assets.standardized.validation_checks import CHECKS
from b8760_assets.storage import StorageResource
from b8760_assets_tests.landing_files import upload
from b8760_assets_tests.own_platform import own_platform
from b8760_assets_tests.test_standardized_assets import arrived, meters

H = datetime(2022, 3, 5, 9, tzinfo=UTC)
# Midnight of 2022-03-04 in Chicago (UTC-6), CHI-0001's zone.
MIDNIGHT = datetime(2022, 3, 4, 6, tzinfo=UTC)
HEADER = b"meter_id,start,end,value,unit\n"


def line(hour: int, value: float) -> bytes:
    start = MIDNIGHT + timedelta(hours=hour)
    end = start + timedelta(hours=1)
    return f"CHI-0001,{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ},{value},Wh\n".encode()


def test_each_rule_is_a_named_check_and_every_reading_carries_its_verdict(
    storage: StorageResource,
) -> None:
    layout = arrived(storage)
    # A day of CHI-0001 with a spike at 13:00 and 03:00-04:59 missing; a second file of the
    # hour gives 20:00 another value.
    day = b"".join(line(hour, 500.0 if hour == 13 else 40.0 + hour % 3) for hour in range(24)
                   if hour not in (3, 4))  # fmt: skip
    upload(storage, layout, "day.csv", HEADER + day, at=H + timedelta(minutes=5))
    upload(storage, layout, "again.csv", HEADER + line(20, 41.5), at=H + timedelta(minutes=6))
    take_in_hour(storage, layout, H)

    result = dg.materialize(
        [build_standardized_readings(layout, meters(layout))],
        partition_key=partition_of_hour(H),
        resources={"storage": storage},
    )

    assert result.success
    checks = {each.check_name: each for each in result.get_asset_check_evaluations()}
    assert set(checks) == {UNIT_CHECK, *CHECKS.values()}
    failed = {name for name, each in checks.items() if not each.passed}
    assert failed == {"no_spikes", "no_gaps_in_local_days", "no_conflicting_duplicates"}
    spikes = checks["no_spikes"]
    assert spikes.severity == dg.AssetCheckSeverity.WARN
    assert spikes.metadata["intervals"].value == 1 and spikes.metadata["meters"].value == 1
    assert spikes.metadata["first_cases"].value.splitlines()[2] == (
        "| CHI-0001 | 2022-03-04 | 1 | 500.0 at 13:00-06:00, the third-highest 42.0 |"
    )
    assert checks["no_gaps_in_local_days"].metadata["intervals"].value == 2
    duplicates = checks["no_conflicting_duplicates"]
    assert duplicates.severity == dg.AssetCheckSeverity.ERROR
    assert duplicates.metadata["intervals"].value == 2

    spike_hour = (MIDNIGHT + timedelta(hours=13)).strftime("%Y-%m-%dT%H:00:00")
    document = json.loads(
        storage.read(layout.bucket, f"ext_conn1/standardized/CHI-0001/{spike_hour}").data
    )
    [interval] = document["intervals"]
    assert (interval["value"], interval["validation"], interval["failed_rules"]) == (
        500.0,
        "questionable",
        "spikes",
    )
    batch = pl.read_parquet(io.BytesIO(storage.read(layout.bucket, layout.batch(H)).data))
    verdicts = batch.group_by("validation", "failed_rules").len().sort("len").rows()
    assert verdicts == [("questionable", "spikes", 1), ("questionable", "duplicates", 2),
                        ("validated", None, 20)]  # fmt: skip


def test_the_verdicts_reach_the_warehouse(storage: StorageResource) -> None:
    platform = own_platform(storage)
    platform.register_meters()
    layout = platform.layouts["ext_conn1"]
    day = b"".join(line(hour, 9000.0 if hour == 2 else 40.0 + hour % 3) for hour in range(24))
    upload(storage, layout, "day.csv", HEADER + day, at=H + timedelta(minutes=5))

    assert platform.run("ext_conn1", H).success

    rows = platform.warehouse.query(
        "SELECT validation, failed_rules, COUNT(*) AS n FROM readings "
        "GROUP BY validation, failed_rules ORDER BY n"
    )
    assert [(row["validation"], row["failed_rules"], row["n"]) for row in rows] == [
        ("questionable", "spikes", 1),
        ("validated", None, 23),
    ]
