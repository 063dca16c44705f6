"""Many objects written at once, as a test's setting-up needs them (the platform itself never
writes a batch of whole objects: it merges them, see object_updates)."""

from collections.abc import Iterable

from b8760_assets.storage import DEFAULT_CONTENT_TYPE, StorageResource, StoredObject


def write_all(
    storage: StorageResource,
    bucket: str,
    objects: Iterable[tuple[str, bytes]],
    *,
    content_type: str = DEFAULT_CONTENT_TYPE,
) -> list[StoredObject]:
    """Write (name, bytes) objects create-only in parallel; the first failure is raised."""
    return storage.in_parallel(
        lambda item: storage.write(bucket, item[0], item[1], content_type=content_type), objects
    )
