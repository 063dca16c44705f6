"""StorageResource against the session's real fake-gcs-server, through google-cloud-storage."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from b8760_assets.local_stack import LocalStackError
from b8760_assets.storage import (
    ChecksumMismatch,
    GenerationConflict,
    ObjectMissing,
    StorageResource,
    StoredObject,
    verify_same_content,
)
from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.stored_objects import write_all


def test_create_only_write_then_read(storage: StorageResource, bucket: str) -> None:
    written = storage.write(
        bucket,
        "ext_conn1/a.csv",
        b"meter_id,start\n",
        content_type="text/csv",
        metadata={"source": "test"},
    )
    content = storage.read(bucket, "ext_conn1/a.csv")
    assert content.data == b"meter_id,start\n"
    assert content.object.generation == written.generation
    assert written.size == 15 and written.md5_hash and written.crc32c
    blob = storage.get_client().bucket(bucket).get_blob("ext_conn1/a.csv")
    assert blob.content_type == "text/csv"
    assert blob.metadata == {"source": "test"}


def test_create_only_write_refuses_to_overwrite(storage: StorageResource, bucket: str) -> None:
    storage.write(bucket, "x", b"first")
    with pytest.raises(GenerationConflict, match=f"gs://{bucket}/x already exists"):
        storage.write(bucket, "x", b"second")
    assert storage.read(bucket, "x").data == b"first"


def test_racing_create_only_writes_have_one_winner(storage: StorageResource, bucket: str) -> None:
    start = threading.Barrier(8)

    def race(i: int) -> str:
        start.wait()
        try:
            storage.write(bucket, "contested", f"writer {i}".encode())
            return "won"
        except GenerationConflict:
            return "412"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(race, range(8)))
    assert sorted(outcomes) == ["412"] * 7 + ["won"]
    winner = outcomes.index("won")
    assert storage.read(bucket, "contested").data == f"writer {winner}".encode()


def test_compare_and_swap_on_generation(storage: StorageResource, bucket: str) -> None:
    first = storage.write(bucket, "meter-hour", b"v1")
    second = storage.write(bucket, "meter-hour", b"v2", if_generation_match=first.generation)
    assert second.generation != first.generation
    with pytest.raises(GenerationConflict, match="no longer at generation"):
        storage.write(bucket, "meter-hour", b"stale", if_generation_match=first.generation)
    assert storage.read(bucket, "meter-hour").data == b"v2"


def test_read_and_stat_of_a_missing_object(storage: StorageResource, bucket: str) -> None:
    with pytest.raises(ObjectMissing, match=f"gs://{bucket}/nothing does not exist"):
        storage.read(bucket, "nothing")
    assert storage.stat(bucket, "nothing") is None


def test_list_by_prefix_pages_and_resumes(storage: StorageResource, bucket: str) -> None:
    names = [f"ext_conn1/{i:03d}.csv" for i in range(25)]
    write_all(storage, bucket, ((name, b"x") for name in names))
    storage.write(bucket, "ext_conn10/000.csv", b"other connector")

    listed = [o.name for o in storage.list(bucket, "ext_conn1/", page_size=4)]
    assert listed == names
    after = [o.name for o in storage.list(bucket, "ext_conn1/", start_offset="ext_conn1/020.csv")]
    assert after == names[20:]


def test_folders_are_the_names_directly_under_a_prefix(
    storage: StorageResource, bucket: str
) -> None:
    names = ["c/standardized/3/h1", "c/standardized/3/h2", "c/standardized/CHI-W.01/h1", "c/x"]
    write_all(storage, bucket, ((name, b"x") for name in names))
    assert storage.folders(bucket, "c/standardized/") == [
        "c/standardized/3/",
        "c/standardized/CHI-W.01/",
    ]
    assert storage.folders(bucket, "c/") == ["c/standardized/"]
    assert storage.folders(bucket, "d/") == []


def test_copy_verifies_and_delete_removes_the_source(storage: StorageResource, bucket: str) -> None:
    source = storage.write(bucket, "landing/a.csv", b"readings")
    copy = storage.copy(source, bucket, "raw/a.csv")
    assert (copy.crc32c, copy.md5_hash) == (source.crc32c, source.md5_hash)
    # A retried move finds its earlier copy and goes on.
    again = storage.copy(source, bucket, "raw/a.csv")
    assert again.crc32c == source.crc32c
    storage.delete(source)
    assert storage.stat(bucket, "landing/a.csv") is None
    assert storage.read(bucket, "raw/a.csv").data == b"readings"


def test_copy_of_a_vanished_source_is_a_clear_error(storage: StorageResource, bucket: str) -> None:
    source = storage.write(bucket, "gone.csv", b"x")
    storage.delete(source)
    with pytest.raises(ObjectMissing, match="gone.csv"):
        storage.copy(source, bucket, "raw/gone.csv")


def test_checksum_mismatch_is_refused() -> None:
    source = StoredObject("b", "a", 1, 3, "md5-a", "crc-a")
    assert verify_same_content(source, StoredObject("b", "c", 2, 3, "md5-a", "crc-a")) is None
    with pytest.raises(ChecksumMismatch, match="gs://b/c does not match gs://b/a"):
        verify_same_content(source, StoredObject("b", "c", 2, 3, "md5-a", "crc-other"))
    with pytest.raises(ChecksumMismatch):
        verify_same_content(source, StoredObject("b", "c", 2, 3, None, None))


def test_parallel_writes_write_every_object(storage: StorageResource, bucket: str) -> None:
    objects = [(f"standardized/{m}/2021-11-08T14:00:00", f"meter {m}".encode()) for m in range(200)]
    written = write_all(storage, bucket, objects, content_type="application/json")
    assert [o.name for o in written] == [name for name, _ in objects]
    assert storage.read(bucket, "standardized/137/2021-11-08T14:00:00").data == b"meter 137"
    with pytest.raises(GenerationConflict):
        write_all(storage, bucket, objects[:3])


def test_local_mode_uses_the_local_stack(storage: StorageResource, stack_env: dict) -> None:
    assert storage.api_endpoint == f"http://127.0.0.1:{stack_env['B8760_STORAGE_PORT']}"


def test_a_resource_with_no_project_and_no_emulator_says_how_to_build_one() -> None:
    with pytest.raises(LocalStackError, match=r"resources\.storage_resource\(\)"):
        StorageResource().ensure_bucket("anything")
    with pytest.raises(LocalStackError, match=r"resources\.warehouse_resource\(\)"):
        WarehouseResource().list_tables()
