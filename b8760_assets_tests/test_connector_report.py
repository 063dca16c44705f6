"""Completeness pictures on the local stack: a real upload with a known gap and a rejected
file, ext_conn1's chain run with `materialize()` on a real instance, then the picture in the
standardized_readings materialization's metadata and in `b8760 report`'s page."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.landing.assets import REJECTED_FILES_CHECK
from b8760_assets.layout import ConnectorLayout, meter_hour_name
from b8760_assets.meter_links import UNKNOWN_METERS_CHECK
from b8760_assets.partitions import HOUR
from b8760_assets.standardized.assets import COMPLETENESS, merge_meter_hours
from b8760_assets.standardized.meter_hours import (
    METADATA_PREFIX,
    MergedSpans,
    meter_hour_metadata,
    stored_intervals,
)
from b8760_assets.standardized.meter_hours import spans as object_spans
from b8760_assets.standardized.validation_checks import CHECKS
from b8760_assets.storage import StorageResource
from b8760_assets.validation.rules import GAPS
from b8760_assets_tests.config_files import copy_sample_platform, replace_in
from b8760_assets_tests.landing_files import BAD_VALUE_CSV, upload
from b8760_assets_tests.own_platform import OwnPlatform, own_platform
from b8760_assets_tests.standardized_rows import CONED, reading, standardized, utc

ARRIVAL = datetime(2022, 3, 2, 10, tzinfo=UTC)
DAY_START = datetime(2022, 3, 1, 6, tzinfo=UTC)  # ext_conn1's local midnight (CST, UTC-6)
GAP_HOURS = (2, 3)  # CHI-0001 misses its 02:00 and 03:00 readings
UTC_TEXT = "%Y-%m-%dT%H:%M:%SZ"
UNKNOWN = "UNREGISTERED-7"


def day_of_readings() -> bytes:
    """The local day 2022-03-01: CHI-0001 hourly less GAP_HOURS, CHI-0002 every quarter hour,
    and one hour of a meter no meter XML names."""

    def line(meter_id: str, start: datetime, length: timedelta) -> str:
        return f"{meter_id},{start:{UTC_TEXT}},{start + length:{UTC_TEXT}},1,Wh"

    hour, quarter = timedelta(hours=1), timedelta(minutes=15)
    lines = ["meter_id,start,end,value,unit"]
    lines += [line("CHI-0001", DAY_START + n * hour, hour) for n in range(24) if n not in GAP_HOURS]
    lines += [line("CHI-0002", DAY_START + n * quarter, quarter) for n in range(96)]
    lines += [line(UNKNOWN, DAY_START + 5 * hour, hour)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def ran(storage: StorageResource, dagster_home: Path) -> Iterator[OwnPlatform]:
    """ext_conn1's day and a file the landing check rejects, taken in by one arrival hour's
    run recorded in the DAGSTER_HOME instance."""
    platform = own_platform(storage)
    layout = platform.layouts["ext_conn1"]
    upload(storage, layout, "day.csv", day_of_readings(), at=ARRIVAL + timedelta(minutes=10))
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV, at=ARRIVAL + timedelta(minutes=20))
    platform.register_meters()
    with dg.DagsterInstance.get() as instance:
        assert platform.run("ext_conn1", ARRIVAL, instance=instance).success
    yield platform


def test_the_materialization_carries_the_picture(ran: OwnPlatform) -> None:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["ext_conn1", "standardized_readings"])
        )
    assert event is not None and event.asset_materialization is not None
    picture = event.asset_materialization.metadata[COMPLETENESS]
    assert isinstance(picture, dg.MarkdownMetadataValue)
    lines = picture.value.splitlines()
    assert "| meter | all | 2022-03-01 |" in lines
    # The least complete first: 22 of 24 hours is 91 %.
    rows = lines[lines.index("| meter | all | 2022-03-01 |") + 2 :][:3]
    assert rows == [
        f"| {UNKNOWN} | 4 % | 🟧 4 % |",
        "| CHI-0001 | 91 % | 🟨 91 % |",
        "| CHI-0002 | 100 % | 🟩 100 % |",
    ]
    assert f"✖ {REJECTED_FILES_CHECK}: failed in 1 arrival hour(s): 2022-03-02 10:00 UTC" in lines


def test_report_writes_a_page_that_shows_the_gap_and_the_failed_check(
    ran: OwnPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = ran.layouts["ext_conn1"]
    root = copy_sample_platform(tmp_path)
    replace_in(
        root / "connectors" / "ext_conn1" / "properties.xml",
        '"participant.bucket">participant_2<',
        f'"participant.bucket">{layout.bucket}<',
    )
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(root))
    page = tmp_path / "ext_conn1.html"

    args = ["--from", "2022-03-01T06:00:00", "--to", "2022-03-03T05:00:00", "--output", str(page)]
    printed = CliRunner().invoke(main, ["report", "ext_conn1", *args])

    assert printed.exit_code == 0, printed.output
    assert printed.stdout == (
        f"{page}: 4 meter(s), 2 day(s), 119 of 336 expected intervals present (35 %), "
        "3 check(s) failed\n"
    )
    text = page.read_text()
    assert 'title="CHI-0001 2022-03-01: 22 of 24 intervals (91 %)"' in text
    assert 'title="CHI-0002 2022-03-01: 96 of 96 intervals (100 %)"' in text
    assert 'title="CHI-0002 2022-03-02: 0 of 96 intervals (0 %)"' in text
    assert 'title="CHI-W.01 2022-03-01: 0 of 24 intervals (0 %)"' in text  # no readings
    assert f'title="{UNKNOWN} 2022-03-01: 1 of 24 intervals (4 %)"' in text  # no meter XML
    # The rejected file, the unknown meter's readings and CHI-0001's gap (22 of 24 hours)
    # arrived on the 2nd: that day is marked with the three checks.
    failed = f"{CHECKS[GAPS]}, {REJECTED_FILES_CHECK}, {UNKNOWN_METERS_CHECK}"
    assert f'<td class="failed" title="{failed}">✖</td></tr>' in text
    assert "<li>✖ no_rejected_files: failed in 1 arrival hour(s): 2022-03-02 10:00 UTC</li>" in text


def test_report_refuses_an_unknown_connector_and_a_backward_range(dagster_home: Path) -> None:
    unknown = CliRunner().invoke(
        main, ["report", "nope", "--from", "2022-03-01T06:00:00", "--to", "2022-03-01T06:00:00"]
    )
    assert unknown.exit_code == 1
    assert "no connector 'nope' in" in unknown.stderr
    backward = CliRunner().invoke(
        main, ["report", "coned", "--from", "2022-03-01T06:00:00", "--to", "2022-03-01T05:00:00"]
    )
    assert backward.exit_code == 2
    assert "'2022-03-01T05:00:00' is before '2022-03-01T06:00:00'" in backward.stderr


def test_objects_a_merge_recorded_are_not_read_again(storage: StorageResource, bucket: str) -> None:
    layout = ConnectorLayout(replace(CONED, bucket=bucket), "unused")
    hour = utc(2021, 11, 8, 14)
    rows = [reading("3", hour + n * HOUR, 1.0, line=n, minutes=60) for n in range(3)]
    spans = MergedSpans()
    merge_meter_hours(storage, bucket, standardized(*rows, uploaded_at=hour + 3 * HOUR), spans)
    names = [meter_hour_name("coned", "3", hour + n * HOUR) for n in range(3)]
    assert sorted(spans.by_name) == names

    def intervals(merged: MergedSpans | None) -> pl.DataFrame:
        return stored_intervals(storage, layout, ["3"], hour, hour + 3 * HOUR, merged)

    assert intervals(None).height == 3
    assert intervals(spans).equals(intervals(None))
    # What the merge recorded stands in for the object: a changed record shows it is not read.
    spans.by_name[names[1]] = []
    assert intervals(spans).height == 2
    spans.forget_before(hour + 2 * HOUR)
    assert list(spans.by_name) == names[2:]
    # Nor is an object of a forgotten hour recorded again by a later merge.
    merge_meter_hours(storage, bucket, standardized(*rows, uploaded_at=hour + 4 * HOUR), spans)
    assert list(spans.by_name) == names[2:]


def test_a_merge_writes_and_records_what_each_object_holds(
    storage: StorageResource, bucket: str
) -> None:
    """The metadata written with each object and the intervals the merge recorded are those
    of the object's bytes, for new objects and for objects merged into (read and swapped)."""
    hour = utc(2021, 11, 8, 14)
    first = [reading("3", hour + timedelta(minutes=15 * n), 1.0, line=n) for n in range(6)]
    merge_meter_hours(storage, bucket, standardized(*first, uploaded_at=hour + 3 * HOUR))
    spans = MergedSpans()
    later = [reading("3", hour + timedelta(minutes=15 * n), 2.0, line=n) for n in range(3, 9)]
    merged = merge_meter_hours(
        storage, bucket, standardized(*later, uploaded_at=hour + 4 * HOUR), spans
    )
    names = [meter_hour_name("coned", "3", hour + n * HOUR) for n in range(3)]
    assert merged.written == 3 and sorted(spans.by_name) == names
    for name in names:
        blob = storage.get_client().bucket(bucket).get_blob(name)
        assert blob is not None
        content = blob.download_as_bytes()
        assert blob.metadata == meter_hour_metadata(content)
        assert spans.by_name[name] == object_spans(content)
    assert blob.metadata[f"{METADATA_PREFIX}intervals"] == "1"  # 16:00, the last hour's one
