"""Compare-and-swap updates against the session's real fake-gcs-server."""

from collections.abc import Iterable

from b8760_assets.object_updates import ObjectUpdate, UpdateOutcome, update_each
from b8760_assets.storage import StorageResource
from b8760_assets_tests.stored_objects import write_all


def updated(
    storage: StorageResource, bucket: str, updates: Iterable[ObjectUpdate]
) -> list[UpdateOutcome]:
    return list(update_each(storage, bucket, updates))


def test_no_concurrent_update_is_lost(storage: StorageResource, bucket: str) -> None:
    """Eight writers append to the same object at once; every append survives."""

    def append(token: str) -> ObjectUpdate:
        return ObjectUpdate("shared", lambda before: (before or b"") + token.encode() + b"\n")

    outcomes = updated(storage, bucket, [append(f"writer-{i}") for i in range(8)])

    lines = storage.read(bucket, "shared").data.decode().splitlines()
    assert sorted(lines) == sorted(f"writer-{i}" for i in range(8))
    assert all(outcome.written for outcome in outcomes)
    assert sum(outcome.retries for outcome in outcomes) > 0  # the race really happened


def test_updates_skip_changes_that_change_nothing(storage: StorageResource, bucket: str) -> None:
    storage.write(bucket, "same", b"content")
    generation = storage.stat(bucket, "same").generation
    [outcome] = updated(storage, bucket, [ObjectUpdate("same", lambda before: before)])
    assert not outcome.written
    assert storage.stat(bucket, "same").generation == generation
    [created] = updated(
        storage,
        bucket,
        [
            ObjectUpdate(
                "new", lambda before: b"made", "text/plain", lambda after: {"size": str(len(after))}
            )
        ],
    )
    assert created.written
    assert storage.get_client().bucket(bucket).get_blob("new").metadata == {"size": "4"}


def test_updates_merge_into_existing_objects_whatever_it_guesses(
    storage: StorageResource, bucket: str
) -> None:
    """New objects are written create-only without a read; one that turns out to exist is
    read and swapped, so its content is merged, never overwritten."""
    write_all(storage, bucket, [(f"old/{i}", b"old\n") for i in range(40)])
    updates = [
        ObjectUpdate(name, lambda before: (before or b"") + b"new\n")
        for i in range(40)
        for name in (f"new/{i}", f"old/{i}")
    ]

    outcomes = updated(storage, bucket, updates)

    assert all(outcome.written and outcome.retries == 0 for outcome in outcomes)
    for i in range(40):
        assert storage.read(bucket, f"new/{i}").data == b"new\n"
        assert storage.read(bucket, f"old/{i}").data == b"old\nnew\n"
