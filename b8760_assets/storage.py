"""Object storage: every GCS access the platform makes goes through `StorageResource`.

Production is real GCS with the project's credentials; with no GCP project configured the
same google-cloud-storage client talks to the local stack's fake-gcs-server. Writes carry
generation preconditions so that concurrent runs and retries cannot overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import google.auth
import requests
from dagster_gcp import GCSResource
from google.api_core.exceptions import NotFound, PreconditionFailed, RetryError
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account
from pydantic import Field, PrivateAttr
from requests.adapters import HTTPAdapter

from b8760_assets.local_stack import LOCAL_PROJECT, emulator_endpoint

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Each request, its retries included (the client's own default is 60 s a request, retried
# for 120 s, and then an error that names no object).
STORAGE_REQUEST_TIMEOUT_S = 60.0
T = TypeVar("T")
R = TypeVar("R")
STORAGE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
# The Cloud console's page of one object, followed by <bucket>/<name>.
CONSOLE_OBJECT_URL = "https://console.cloud.google.com/storage/browser/_details"


class StorageError(Exception):
    """A storage operation that cannot go on; the message names the object."""


class GenerationConflict(StorageError):
    """The object's generation was not the one the write expected (412 Precondition Failed).

    With `if_generation_match=0` this means the object already exists.
    """


class StorageUnavailable(StorageError):
    """A request that got no answer in time, or no connection; the message names the object."""


class ObjectMissing(StorageError):
    """The object does not exist (404)."""


class ChecksumMismatch(StorageError):
    """A copy whose checksum differs from its source: the source must not be deleted."""


@dataclass(frozen=True)
class StoredObject:
    """What the platform needs to know of an object: where it is, which version, its checksums."""

    bucket: str
    name: str
    generation: int
    size: int | None
    md5_hash: str | None
    crc32c: str | None
    # When GCS created this generation (timeCreated): set by the service, never by a writer.
    created: datetime | None = None

    @property
    def uri(self) -> str:
        return uri(self.bucket, self.name)

    @classmethod
    def of(cls, blob: storage.Blob) -> StoredObject:
        return cls(
            bucket=blob.bucket.name,
            name=blob.name,
            generation=int(blob.generation),
            size=blob.size,
            md5_hash=blob.md5_hash,
            crc32c=blob.crc32c,
            created=blob.time_created,
        )


@dataclass(frozen=True)
class ObjectContent:
    """An object's bytes with the generation they were read at (for compare-and-swap)."""

    object: StoredObject
    data: bytes


class StorageResource(GCSResource):
    """GCS for the platform's assets, sensors and CLI.

    `project` unset means an emulator, at `emulator_url`; `resources.storage_resource`
    chooses between the two, as the code location's root does.
    """

    emulator_url: str | None = Field(
        default=None,
        description="Storage emulator endpoint, used when no project is set.",
    )
    credentials_file: str | None = Field(
        default=None,
        description="Service-account key file (an external connector's); else default credentials.",
    )
    max_parallel_writes: int = Field(
        default=16, description="Threads (and HTTP connections) for parallel reads and writes."
    )
    request_timeout_s: float = Field(
        default=STORAGE_REQUEST_TIMEOUT_S,
        description="Seconds one request may take, its retries included.",
    )

    _client: storage.Client | None = PrivateAttr(default=None)

    def get_client(self) -> storage.Client:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> storage.Client:
        if self.project is None:
            credentials = AnonymousCredentials()
            project = LOCAL_PROJECT
            client_options = {"api_endpoint": emulator_endpoint(self.emulator_url, "storage")}
        elif self.credentials_file:
            credentials = service_account.Credentials.from_service_account_file(
                self.credentials_file, scopes=[STORAGE_SCOPE]
            )
            project, client_options = self.project, None
        else:
            credentials, _ = google.auth.default(scopes=[STORAGE_SCOPE])
            project, client_options = self.project, None
        # One pooled connection per writer thread, instead of requests' default ten.
        session = AuthorizedSession(credentials)
        adapter = HTTPAdapter(pool_maxsize=self.max_parallel_writes)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return storage.Client(
            project=project,
            credentials=credentials,
            client_options=client_options,
            _http=session,
        )

    @property
    def api_endpoint(self) -> str:
        """Base URL of the JSON API, for the download links participants use."""
        return self.get_client().api_endpoint

    def download_url(self, bucket: str, name: str) -> str:
        """The JSON API URL that returns the object's bytes (GET, with a bearer token in GCP)."""
        return f"{self.api_endpoint}/storage/v1/b/{bucket}/o/{quote(name, safe=':')}?alt=media"

    def page_url(self, bucket: str, name: str) -> str:
        """Where a person opens the object in a browser: the Cloud console's page of it in GCP
        (the download URL wants a bearer token a browser does not send), the download itself
        from an emulator."""
        if self.project is None:
            return self.download_url(bucket, name)
        return f"{CONSOLE_OBJECT_URL}/{bucket}/{quote(name, safe='/:')}?project={self.project}"

    def _blob(self, bucket: str, name: str) -> storage.Blob:
        return self.get_client().bucket(bucket).blob(name)

    def ensure_bucket(self, bucket: str) -> None:
        """Make sure the bucket exists: created on the local stack, an error in production,
        where buckets are provisioned with their IAM policies and a typo must not make one."""
        client = self.get_client()
        with self._answering(f"looking up bucket gs://{bucket}"):
            if client.lookup_bucket(bucket, **self._limits()) is not None:
                return
            if self.project is not None:
                raise StorageError(f"bucket gs://{bucket} does not exist in project {self.project}")
            client.create_bucket(bucket, **self._limits())

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        if_generation_match: int | None = 0,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Write an object only if its generation is still `if_generation_match`.

        0 (the default) means create-only: the write fails if the object exists. None
        replaces whatever is there, for derived objects that every replay rewrites the same.
        """
        blob = self._blob(bucket, name)
        blob.metadata = metadata
        with self._answering(f"writing {uri(bucket, name)}"):
            with _refused_as_conflict(blob, if_generation_match):
                blob.upload_from_string(
                    data,
                    content_type=content_type,
                    if_generation_match=if_generation_match,
                    **self._limits(),
                )
        return StoredObject.of(blob)

    def upload_file(
        self,
        bucket: str,
        name: str,
        path: Path,
        *,
        if_generation_match: int | None = 0,
        content_type: str | None = None,
    ) -> StoredObject:
        """Upload a local file, create-only by default, as an external connector does.

        Create-only looks the object up first, so that an existing one is refused before any
        byte is sent (large files go by resumable upload, where the emulator ignores
        preconditions). None replaces whatever is there, as `write` does.
        """
        blob = self._blob(bucket, name)
        with self._answering(f"uploading {path} to {uri(bucket, name)}"):
            with _refused_as_conflict(blob, if_generation_match):
                if if_generation_match == 0 and blob.exists(**self._limits()):
                    raise PreconditionFailed("exists")
                blob.upload_from_filename(
                    str(path),
                    content_type=content_type,
                    if_generation_match=if_generation_match,
                    **self._limits(),
                )
        return StoredObject.of(blob)

    def folders(self, bucket: str, prefix: str) -> list[str]:
        """The folders directly under `prefix` (their full names, ending in /), from a
        listing by delimiter: a connector's meters under standardized/, say, without
        listing each meter's objects."""
        blobs = self.get_client().list_blobs(bucket, prefix=prefix, delimiter="/", **self._limits())
        with self._answering(f"listing the folders of {uri(bucket, prefix)}"):
            for _ in blobs.pages:
                pass
        return sorted(blobs.prefixes)

    def in_parallel(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """function(item) for every item, from max_parallel_writes threads (one HTTP
        connection each), in the items' order; raises the first failure after all finish."""
        with ThreadPoolExecutor(max_workers=self.max_parallel_writes) as pool:
            return list(pool.map(function, items))

    def read(self, bucket: str, name: str, *, generation: int | None = None) -> ObjectContent:
        """The object's bytes: its live version, or exactly `generation` if given."""
        blob = self.get_client().bucket(bucket).blob(name, generation=generation)
        try:
            with self._answering(f"reading {uri(bucket, name)}"):
                data = blob.download_as_bytes(**self._limits())
        except NotFound as error:
            version = "" if generation is None else f" (generation {generation})"
            raise ObjectMissing(f"gs://{bucket}/{name}{version} does not exist") from error
        return ObjectContent(StoredObject.of(blob), data)

    def download(
        self, bucket: str, name: str, path: Path, *, generation: int | None = None
    ) -> StoredObject:
        """Stream the object's bytes (its live version, or exactly `generation`) into a local
        file, checksum verified by the client: a large file never has to fit in memory."""
        blob = self.get_client().bucket(bucket).blob(name, generation=generation)
        try:
            with self._answering(f"downloading {uri(bucket, name)}"):
                blob.download_to_filename(str(path), **self._limits())
        except NotFound as error:
            path.unlink(missing_ok=True)
            version = "" if generation is None else f" (generation {generation})"
            raise ObjectMissing(f"gs://{bucket}/{name}{version} does not exist") from error
        return StoredObject.of(blob)

    def stat(self, bucket: str, name: str) -> StoredObject | None:
        """The object's current version, or None if it does not exist."""
        with self._answering(f"looking up {uri(bucket, name)}"):
            blob = self.get_client().bucket(bucket).get_blob(name, **self._limits())
        return None if blob is None else StoredObject.of(blob)

    def list(
        self,
        bucket: str,
        prefix: str,
        *,
        start_offset: str | None = None,
        end_offset: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[StoredObject]:
        """Objects under `prefix` in name order, fetched a page at a time.

        `start_offset` skips names before it, so a caller that remembers the last name it
        saw lists only what came after; `end_offset` stops before it, so that a range of
        hours lists what those hours hold, not the connector's whole history.
        """
        blobs = self.get_client().list_blobs(
            bucket,
            prefix=prefix,
            start_offset=start_offset,
            end_offset=end_offset,
            page_size=page_size,
            **self._limits(),
        )
        with self._answering(f"listing {uri(bucket, prefix)}"):
            for blob in blobs:
                yield StoredObject.of(blob)

    def copy(  # type: ignore[override]  # pydantic's BaseModel.copy (deprecated), not GCS's
        self, source: StoredObject, bucket: str, name: str, *, if_generation_match: int = 0
    ) -> StoredObject:
        """Copy exactly `source`'s generation, create-only by default, and verify the checksums.

        A copy that already exists from an earlier attempt is accepted if its checksums match,
        so a retried move finishes instead of failing.
        """
        client = self.get_client()
        source_blob = client.bucket(source.bucket).blob(source.name, generation=source.generation)
        try:
            with self._answering(f"copying {source.uri} to {uri(bucket, name)}"):
                copied = client.bucket(source.bucket).copy_blob(
                    source_blob,
                    client.bucket(bucket),
                    name,
                    source_generation=source.generation,
                    if_generation_match=if_generation_match,
                    **self._limits(),
                )
            result = StoredObject.of(copied)
        except PreconditionFailed:
            existing = self.stat(bucket, name)
            if existing is None or if_generation_match != 0:
                raise GenerationConflict(
                    f"gs://{bucket}/{name} changed while copying {source.uri}"
                ) from None
            result = existing
        except NotFound as error:
            raise ObjectMissing(
                f"{source.uri} (generation {source.generation}) does not exist"
            ) from error
        verify_same_content(source, result)
        return result

    def delete(self, obj: StoredObject) -> None:
        """Delete exactly this generation; a newer upload under the same name is kept."""
        try:
            with self._answering(f"deleting {obj.uri}"):
                blob = self._blob(obj.bucket, obj.name)
                blob.delete(if_generation_match=obj.generation, **self._limits())
        except NotFound:
            pass
        except PreconditionFailed as error:
            raise GenerationConflict(
                f"{obj.uri} was replaced after generation {obj.generation}; not deleted"
            ) from error

    def _limits(self) -> dict[str, Any]:
        """The timeout and bounded retry of one request, as the client's calls take them."""
        return {
            "timeout": self.request_timeout_s,
            "retry": DEFAULT_RETRY.with_timeout(self.request_timeout_s),
        }

    @contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        """A request with no answer in time, or no connection, as a StorageUnavailable that
        says which object, after how long, and what to do; answers (404, 412) pass unchanged."""
        try:
            yield
        except (RetryError, requests.RequestException) as error:
            where = (
                f"GCS in project {self.project}"
                if self.project is not None
                else "the local stack (`b8760 local status` says whether fake-gcs-server runs"
                " and where its log is; the run's retry starts it again)"
            )
            raise StorageUnavailable(
                f"storage: {what} got no answer within {self.request_timeout_s:.0f} s "
                f"({type(error).__name__}: {error}). Is the storage up? Look at {where}."
            ) from error


def uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


@contextmanager
def _refused_as_conflict(blob: storage.Blob, if_generation_match: int | None) -> Iterator[None]:
    """412 Precondition Failed as a GenerationConflict that says which object and why."""
    try:
        yield
    except PreconditionFailed as error:
        reason = (
            "already exists (create-only write refused)"
            if if_generation_match == 0
            else f"is no longer at generation {if_generation_match}"
        )
        raise GenerationConflict(f"gs://{blob.bucket.name}/{blob.name} {reason}") from error


def verify_same_content(source: StoredObject, copy: StoredObject) -> None:
    """Raise ChecksumMismatch unless both objects carry the same crc32c or md5."""
    pairs = [(source.crc32c, copy.crc32c), (source.md5_hash, copy.md5_hash)]
    compared = [(a, b) for a, b in pairs if a and b]
    if not compared or any(a != b for a, b in compared):
        raise ChecksumMismatch(
            f"{copy.uri} does not match {source.uri} "
            f"(crc32c {source.crc32c} vs {copy.crc32c}, md5 {source.md5_hash} vs {copy.md5_hash})"
        )
