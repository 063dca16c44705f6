"""Taking an hour's files in, against the session's real fake-gcs-server: nothing lost,
nothing twice."""

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from b8760_assets.landing.intake import take_in_hour, take_in_hours
from b8760_assets.landing.manifest import ACCEPTED, REJECTED, EmptyHours, Manifest
from b8760_assets.layout import ConnectorLayout
from b8760_assets.partitions import HOUR
from b8760_assets.storage import ChecksumMismatch, StorageResource
from b8760_assets_tests.landing_files import BAD_VALUE_CSV, GOOD_CSV, upload

H = datetime(2022, 3, 1, 14, tzinfo=UTC)


def names_under(storage: StorageResource, bucket: str, prefix: str) -> list[str]:
    return [o.name.removeprefix(prefix) for o in storage.list(bucket, prefix)]


def test_an_hour_archives_accepted_and_quarantines_rejected_files(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    good = upload(storage, layout, "2022/03/good.csv", GOOD_CSV)
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV)
    upload(storage, layout, "readme.txt", b"onboarding guide, never taken in")

    manifest = take_in_hour(storage, layout, H)

    outcomes = {entry.name: entry.outcome for entry in manifest.files}
    assert outcomes == {"2022/03/good.csv": ACCEPTED, "bad.csv": REJECTED}
    assert manifest.complete
    bucket = layout.bucket
    assert (
        storage.read(bucket, "ext_conn1/raw/2022-03-01T14:00:00/2022/03/good.csv").data == GOOD_CSV
    )
    assert (
        storage.read(bucket, "ext_conn1/rejected/2022-03-01T14:00:00/bad.csv").data == BAD_VALUE_CSV
    )
    reason = json.loads(storage.read(bucket, layout.rejection_reason(H, "bad.csv")).data)
    assert (reason["rule"], reason["line"]) == ("csv.bad_value", 3)
    assert "twelve" in reason["message"]
    assert reason["rejected_as"] == f"gs://{bucket}/ext_conn1/rejected/2022-03-01T14:00:00/bad.csv"
    # Only the accepted file's readings are kept for standardization, as the check read them.
    assert names_under(storage, bucket, "ext_conn1/checked/") == [
        layout.checked_readings(H, "2022/03/good.csv").removeprefix("ext_conn1/checked/")
    ]
    # The landing zone keeps only the platform's readme; no claim is left behind.
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == ["readme.txt"]
    assert names_under(storage, bucket, layout.claims_prefix) == []
    # Every byte is in raw/ or rejected/, verified against the frozen upload's checksum.
    for entry in manifest.files:
        archived = storage.stat(bucket, entry.archived_as.removeprefix(f"gs://{bucket}/"))
        assert archived.crc32c == entry.landing_object.crc32c
    assert manifest.files[[e.name for e in manifest.files].index("2022/03/good.csv")].readings == 3
    assert Manifest.from_json(storage.read(bucket, layout.manifest(H)).data) == manifest
    frozen = {entry.name: entry.landing_object for entry in manifest.files}
    assert frozen["2022/03/good.csv"] == good


def test_a_crash_between_copy_and_delete_is_finished_by_the_rerun(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(storage, layout, "a.csv", GOOD_CSV)
    real_delete = StorageResource.delete

    def crash(self: StorageResource, obj) -> None:
        raise RuntimeError("injected crash after the copy, before the delete")

    monkeypatch.setattr(StorageResource, "delete", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        take_in_hour(storage, layout, H)
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == ["a.csv"]
    assert names_under(storage, layout.bucket, "ext_conn1/raw/2022-03-01T14:00:00/") == [
        "_manifest.json",
        "a.csv",
    ]
    # The next hour must not take the file the crashed hour froze.
    monkeypatch.setattr(StorageResource, "delete", real_delete)
    assert take_in_hour(storage, layout, H + HOUR).files == ()

    rerun = take_in_hour(storage, layout, H)

    assert [(e.name, e.outcome) for e in rerun.files] == [("a.csv", ACCEPTED)]
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == []
    assert names_under(storage, layout.bucket, "ext_conn1/raw/2022-03-01T14:00:00/") == [
        "_manifest.json",
        "a.csv",
    ]
    assert names_under(storage, layout.bucket, layout.claims_prefix) == []


def crash_after_the_delete(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upload a.csv and take hour H in up to the upload's delete, then crash."""
    upload(storage, layout, "a.csv", GOOD_CSV)
    monkeypatch.setattr(
        "b8760_assets.landing.intake.release_claims",
        lambda *args: (_ for _ in ()).throw(RuntimeError("injected crash after the delete")),
    )
    with pytest.raises(RuntimeError, match="after the delete"):
        take_in_hour(storage, layout, H)
    monkeypatch.undo()


def test_a_crash_after_the_delete_is_finished_from_the_archive(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_the_delete(storage, layout, monkeypatch)

    rerun = take_in_hour(storage, layout, H)

    assert [(e.name, e.outcome, e.readings) for e in rerun.files] == [("a.csv", ACCEPTED, 3)]
    assert names_under(storage, layout.bucket, layout.claims_prefix) == []


def test_a_rerun_refuses_an_archive_that_is_not_the_frozen_upload(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the upload gone, only the checksum tells the archive is the file that was frozen:
    a rerun must not record another file as its verified copy."""
    crash_after_the_delete(storage, layout, monkeypatch)
    archive = layout.accepted(H, "a.csv")
    storage.write(
        layout.bucket, archive, GOOD_CSV.replace(b"1200.5", b"9999.9"), if_generation_match=None
    )

    with pytest.raises(ChecksumMismatch, match="does not match"):
        take_in_hour(storage, layout, H)


def test_two_runs_of_one_hour_take_each_file_once(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    for i in range(6):
        upload(storage, layout, f"f{i}.csv", GOOD_CSV)
    start = threading.Barrier(2)
    manifests: list[Manifest] = []

    def run() -> None:
        start.wait()
        manifests.append(take_in_hour(storage, layout, H))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(manifests) == 2
    assert [e.name for e in manifests[0].files] == [e.name for e in manifests[1].files]
    assert sorted(e.name for e in manifests[0].files) == [f"f{i}.csv" for i in range(6)]
    assert names_under(storage, layout.bucket, "ext_conn1/raw/2022-03-01T14:00:00/") == [
        "_manifest.json",
        *(f"f{i}.csv" for i in range(6)),
    ]
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == []
    assert take_in_hour(storage, layout, H).complete


def test_a_file_uploaded_during_a_run_goes_to_exactly_one_later_hour(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    upload(storage, layout, "early.csv", GOOD_CSV)

    def upload_while_moving(message: str) -> None:
        if "early.csv" in message or "file(s) to take in" in message:
            if storage.stat(layout.landing_bucket, "ext_conn1/late.csv") is None:
                upload(storage, layout, "late.csv", GOOD_CSV)

    first = take_in_hour(storage, layout, H, log=upload_while_moving)
    assert [e.name for e in first.files] == ["early.csv"]
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == ["late.csv"]

    second = take_in_hour(storage, layout, H + HOUR)
    third = take_in_hour(storage, layout, H + 2 * HOUR)
    assert [e.name for e in second.files] == ["late.csv"]
    assert third.files == ()
    # A replay of the first hour still sees only its own file.
    assert [e.name for e in take_in_hour(storage, layout, H).files] == ["early.csv"]


def test_an_oversized_file_is_rejected_by_its_listed_size(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(storage, layout, "huge.csv", GOOD_CSV * 50)
    small = replace(layout, connector=replace(layout.connector, max_file_bytes=100))
    monkeypatch.setattr(
        StorageResource,
        "download",
        lambda *args, **kwargs: pytest.fail("an oversized file was downloaded"),
    )
    monkeypatch.setattr(
        "b8760_assets.landing.intake.check_local_file",
        lambda *args: pytest.fail("an oversized file was parsed"),
    )
    [entry] = take_in_hour(storage, small, H).files
    assert (entry.outcome, entry.rejection.rule) == (REJECTED, "file.too_large")


def test_a_range_of_hours_lists_once_and_freezes_the_hours_with_nothing_to_take(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(storage, layout, "early.csv", GOOD_CSV)
    real_delete = StorageResource.delete
    monkeypatch.setattr(StorageResource, "delete", lambda self, obj: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # H + 1 froze early.csv, then crashed
        take_in_hour(storage, layout, H + HOUR)
    monkeypatch.setattr(StorageResource, "delete", real_delete)
    upload(storage, layout, "a.csv", GOOD_CSV)
    upload(storage, layout, "b.csv", BAD_VALUE_CSV)
    listings = []
    real_list = StorageResource.list

    def counted_list(self, bucket, prefix, **kwargs):
        listings.append(prefix)
        return real_list(self, bucket, prefix, **kwargs)

    monkeypatch.setattr(StorageResource, "list", counted_list)
    hours = [H + offset * HOUR for offset in range(4)]

    manifests = take_in_hours(storage, layout, hours)

    assert [manifest.arrival_hour for manifest in manifests] == hours
    assert [[(e.name, e.outcome) for e in m.files] for m in manifests] == [
        [("a.csv", ACCEPTED), ("b.csv", REJECTED)],
        [("early.csv", ACCEPTED)],  # the crashed hour, finished
        [],
        [],
    ]
    # The landing zone, the claims, the archive's hour folders and the empty-hours records
    # once each; the hour folders again after the empty hours were recorded, for any hour
    # another run froze meanwhile.
    assert sorted(listings) == [
        "ext_conn1/", "ext_conn1/claims/", "ext_conn1/raw/", "ext_conn1/raw/",
        "ext_conn1/raw/_empty_hours/",
    ]  # fmt: skip
    monkeypatch.undo()
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == []
    assert names_under(storage, layout.bucket, layout.claims_prefix) == []
    # The hours that took nothing are one record, not a manifest folder each; a replay of
    # them reads it and takes nothing new.
    archive = [f"{layout.archive_folder(hour)}{name}" for hour, name in [
        (hours[0], "_manifest.json"), (hours[0], "a.csv"),
        (hours[1], "_manifest.json"), (hours[1], "early.csv"),
    ]] + [layout.empty_hours(hours[2], hours[3])]  # fmt: skip
    assert [o.name for o in storage.list(layout.bucket, layout.raw_prefix)] == archive
    upload(storage, layout, "late.csv", GOOD_CSV)
    assert take_in_hours(storage, layout, hours[2:]) == manifests[2:]
    assert [e.name for e in take_in_hour(storage, layout, H + 4 * HOUR).files] == ["late.csv"]


def test_an_hour_another_run_froze_while_a_range_recorded_it_empty_keeps_its_files(
    storage: StorageResource, layout: ConnectorLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the range's listings and its empty-hours record, another run froze one of the
    hours with a file: that hour's own manifest is what both runs then say."""
    hours = [H + offset * HOUR for offset in range(4)]
    real_to_json = EmptyHours.to_json

    def another_run_first(record: EmptyHours) -> bytes:
        monkeypatch.setattr(EmptyHours, "to_json", real_to_json)
        upload(storage, layout, "late.csv", GOOD_CSV, at=H + 2 * HOUR + timedelta(minutes=1))
        take_in_hour(storage, layout, H + 2 * HOUR)
        return real_to_json(record)

    monkeypatch.setattr(EmptyHours, "to_json", another_run_first)

    manifests = take_in_hours(storage, layout, hours)

    assert [[e.name for e in m.files] for m in manifests] == [[], [], ["late.csv"], []]
    assert take_in_hours(storage, layout, hours) == manifests


def test_two_runs_of_one_range_take_each_file_once(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    for i in range(4):
        upload(storage, layout, f"f{i}.csv", GOOD_CSV)
    hours = [H + offset * HOUR for offset in range(6)]
    start = threading.Barrier(2)
    results: list[list[Manifest]] = []

    def run() -> None:
        start.wait()
        results.append(take_in_hours(storage, layout, hours))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert [[e.name for e in m.files] for m in results[0]] == [
        [e.name for e in m.files] for m in results[1]
    ]
    taken = sorted(e.name for m in results[0] for e in m.files)
    assert taken == [f"f{i}.csv" for i in range(4)]
    assert names_under(storage, layout.landing_bucket, "ext_conn1/") == []
    assert names_under(storage, layout.bucket, layout.claims_prefix) == []
    assert all(m.complete for m in take_in_hours(storage, layout, hours))


def test_a_refused_file_with_a_long_name_keeps_its_reason(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    """The reason's name is fixed in length: the local emulator takes names of up to about
    235 bytes a segment, and <name>.error.json once went past it and failed every retry."""
    name = "a" * 226 + ".csv"
    upload(storage, layout, name, BAD_VALUE_CSV)

    [entry] = take_in_hour(storage, layout, H).files

    assert (entry.outcome, entry.rejection.rule) == (REJECTED, "csv.bad_value")
    reason = json.loads(storage.read(layout.bucket, layout.rejection_reason(H, name)).data)
    assert (reason["rule"], reason["line"]) == ("csv.bad_value", 3)
    assert reason["file"].endswith(name)


def test_an_upload_cannot_stand_in_for_the_reason_of_another(
    storage: StorageResource, layout: ConnectorLayout
) -> None:
    forged = b'{"rule": "none", "message": "all good"}'
    upload(storage, layout, "bad.csv", BAD_VALUE_CSV)
    upload(storage, layout, "bad.csv.error.json", forged)

    manifest = take_in_hour(storage, layout, H)

    outcomes = {e.name: (e.outcome, e.rejection.rule) for e in manifest.files}
    assert outcomes == {
        "bad.csv": (REJECTED, "csv.bad_value"),
        "bad.csv.error.json": (REJECTED, "format.unknown"),  # judged as an upload like any other
    }
    reason = json.loads(storage.read(layout.bucket, layout.rejection_reason(H, "bad.csv")).data)
    assert reason["rule"] == "csv.bad_value"
    rejected = "ext_conn1/rejected/2022-03-01T14:00:00/"
    assert storage.read(layout.bucket, rejected + "bad.csv.error.json").data == forged
    assert storage.read(layout.bucket, rejected + "bad.csv").data == BAD_VALUE_CSV
