"""The hour's manifest: which landing files an arrival hour took in, and what became of each.

Written create-only when the hour freezes its set of files, so that a retry or a backfill of
the hour sees the same set; rewritten (compare-and-swap on its generation) as outcomes come.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from b8760_assets.landing.formats import Notice, Rejection
from b8760_assets.storage import StoredObject

ACCEPTED = "accepted"
REJECTED = "rejected"


@dataclass(frozen=True)
class ManifestEntry:
    """One landing file as the hour froze it (exact generation and checksums), and its outcome."""

    name: str  # relative to the connector's landing prefix
    landing_object: StoredObject
    outcome: str | None = None  # ACCEPTED or REJECTED once moved
    archived_as: str | None = None  # gs:// URI of the verified copy
    readings: int | None = None
    rejection: Rejection | None = None
    # The object, in the participant's bucket, of the accepted file's readings as the landing
    # check read them (Parquet): what standardization reads.
    checked_readings: str | None = None
    # The object of its register reads (Parquet), if the file carries any.
    checked_registers: str | None = None
    # Readings an accepted file holds that the platform did not take in, and why.
    notices: tuple[Notice, ...] = ()

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def uploaded_at(self) -> datetime:
        """When the connector uploaded the file (its timeCreated): the reading's version."""
        if self.landing_object.created is None:
            raise ValueError(f"{self.landing_object.uri} has no creation time in the manifest")
        return self.landing_object.created


@dataclass(frozen=True)
class Manifest:
    connector: str
    arrival_hour: datetime
    frozen_at: datetime
    files: tuple[ManifestEntry, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        return all(entry.done for entry in self.files)

    def with_entry(self, done: ManifestEntry) -> Manifest:
        return replace(
            self, files=tuple(done if entry.name == done.name else entry for entry in self.files)
        )

    def to_json(self) -> bytes:
        document = asdict(self)
        document["complete"] = self.complete
        return json.dumps(document, indent=2, default=datetime.isoformat).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        document = json.loads(data)
        return cls(
            connector=document["connector"],
            arrival_hour=datetime.fromisoformat(document["arrival_hour"]),
            frozen_at=datetime.fromisoformat(document["frozen_at"]),
            files=tuple(
                ManifestEntry(
                    **{
                        **entry,
                        "landing_object": _stored_object(entry["landing_object"]),
                        "rejection": entry["rejection"] and Rejection(**entry["rejection"]),
                        "notices": tuple(Notice(**n) for n in entry.get("notices", ())),
                    }
                )
                for entry in document["files"]
            ),
        )


@dataclass(frozen=True)
class EmptyHours:
    """Consecutive hours first..last (inclusive) that one run froze with nothing to take in,
    kept as one record: each stands for the empty manifest of every hour in it. An hour's
    own manifest, where one exists, is its record (it wins)."""

    connector: str
    first_hour: datetime
    last_hour: datetime
    frozen_at: datetime

    def manifest(self, hour: datetime) -> Manifest:
        return Manifest(self.connector, hour, self.frozen_at, ())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, default=datetime.isoformat).encode()

    @classmethod
    def from_json(cls, data: bytes) -> EmptyHours:
        document = json.loads(data)
        return cls(
            connector=document["connector"],
            **{
                key: datetime.fromisoformat(document[key])
                for key in ("first_hour", "last_hour", "frozen_at")
            },
        )


def _stored_object(document: dict) -> StoredObject:
    created = document.get("created")
    return StoredObject(**{**document, "created": created and datetime.fromisoformat(created)})
