"""The hour's manifest: which landing files an arrival hour took in, and what became of each.

Written create-only when the hour freezes its set of files, so that a retry or a backfill of
the hour sees the same set; rewritten (compare-and-swap on its generation) as outcomes come.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from b8760_assets.landing.formats import Rejection
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

    @property
    def done(self) -> bool:
        return self.outcome is not None


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
        document["arrival_hour"] = self.arrival_hour.isoformat()
        document["frozen_at"] = self.frozen_at.isoformat()
        document["complete"] = self.complete
        return json.dumps(document, indent=2).encode()

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
                        "landing_object": StoredObject(**entry["landing_object"]),
                        "rejection": entry["rejection"] and Rejection(**entry["rejection"]),
                    }
                )
                for entry in document["files"]
            ),
        )
