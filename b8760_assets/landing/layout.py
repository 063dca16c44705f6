"""Where the landing-zone connector's objects live: the names, in one place.

gs://<landing bucket>/<connector>/<file>                       uploaded by the connector
gs://<participant>/<connector>/claims/<generation>/<file>       a file taken by an hour, until moved
gs://<participant>/<connector>/raw/<arrival hour>/_manifest.json   the hour's files and outcomes
gs://<participant>/<connector>/raw/<arrival hour>/<file>       accepted files
gs://<participant>/<connector>/checked/<arrival hour>/<digest>.parquet   and their readings
gs://<participant>/<connector>/rejected/<arrival hour>/<file>  rejected files
gs://<participant>/<connector>/reasons/<arrival hour>/<digest>.json      and why

An upload's name is the only part of these that an uploader chooses, so what the platform
derives from a file (its checked readings, the reason it was refused) lives in folders of its
own, named by a digest of the file's name: fixed in length whatever the name's, and out of
reach of any upload (the manifest and the digests map them back to the file).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.file_checks import MANIFEST_NAME
from b8760_assets.partitions import hour_segment


def name_digest(file_name: str) -> str:
    """A fixed-length stand-in for an upload's name in the objects derived from it."""
    return hashlib.sha256(file_name.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ConnectorLayout:
    """Names of a connector's landing objects, in the landing bucket and its participant's."""

    connector: ConnectorProperties
    landing_bucket: str

    @property
    def bucket(self) -> str:
        """The participant's bucket: archive, quarantine, claims and manifests."""
        return self.connector.bucket

    @property
    def landing_prefix(self) -> str:
        """The connector's folder in the landing zone; the trailing slash keeps ext_conn1 out
        of ext_conn10/."""
        return f"{self.connector.name}/"

    def file_name(self, landing_object: str) -> str:
        """The name an upload goes by: its object name less the connector's prefix."""
        return landing_object.removeprefix(self.landing_prefix)

    @property
    def claims_prefix(self) -> str:
        return f"{self.connector.name}/claims/"

    def claim(self, generation: int, file_name: str) -> str:
        return f"{self.claims_prefix}{generation}/{file_name}"

    @property
    def raw_prefix(self) -> str:
        """Where the arrival hours' archive folders (and their manifests) are."""
        return f"{self.connector.name}/raw/"

    def _hour_folder(self, kind: str, hour: datetime) -> str:
        return f"{self.connector.name}/{kind}/{hour_segment(hour)}/"

    def manifest(self, hour: datetime) -> str:
        return self._hour_folder("raw", hour) + MANIFEST_NAME

    def accepted(self, hour: datetime, file_name: str) -> str:
        return self._hour_folder("raw", hour) + file_name

    def rejected(self, hour: datetime, file_name: str) -> str:
        return self._hour_folder("rejected", hour) + file_name

    def checked_readings(self, hour: datetime, file_name: str) -> str:
        """An accepted file's readings as the landing check read them (Parquet): the only
        input of standardization, so that a file is parsed and checked once."""
        return self._hour_folder("checked", hour) + name_digest(file_name) + ".parquet"

    def rejection_reason(self, hour: datetime, file_name: str) -> str:
        """Why a file was refused (JSON naming the file, its rule, line and message)."""
        return self._hour_folder("reasons", hour) + name_digest(file_name) + ".json"

    @property
    def batches_prefix(self) -> str:
        return f"{self.connector.name}/batches/"

    def batch(self, hour: datetime) -> str:
        """The hour's standardized rows as one Parquet object, for the warehouse to load."""
        return f"{self.batches_prefix}{hour_segment(hour)}.parquet"
