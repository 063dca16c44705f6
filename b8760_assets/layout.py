"""Every object name of the platform and its parser, in one place: what IAM lets a connector
write, what intake lists and what participants download are built from the same names.

gs://<landing bucket>/<connector>/<file>                       uploaded by the connector
gs://<landing bucket>/<connector>/readme.txt                   the platform's (never taken in)
gs://<participant>/<connector>/claims/<generation>/<file>       a file taken by an hour, until moved
gs://<participant>/<connector>/raw/<arrival hour>/_manifest.json   the hour's files and outcomes
gs://<participant>/<connector>/raw/_empty_hours/<first>_<last>.json  hours a run found nothing in
gs://<participant>/<connector>/raw/<arrival hour>/<file>       accepted files
gs://<participant>/<connector>/checked/<arrival hour>/<digest>.parquet   and their readings
gs://<participant>/<connector>/checked/<arrival hour>/<digest>.registers.parquet   register reads
gs://<participant>/<connector>/rejected/<arrival hour>/<file>  rejected files
gs://<participant>/<connector>/reasons/<arrival hour>/<digest>.json      and why
gs://<participant>/<connector>/standardized/<meter>/<hour>     a meter-hour (the download contract)
gs://<participant>/<connector>/batches/<arrival hour>.parquet  the hour's rows, for the warehouse

An upload's name is the only part of these that an uploader chooses, so what the platform
derives from a file (its checked readings, the reason it was refused) lives in folders of its
own, named by a digest of the file's name: fixed in length whatever the name's, and out of
reach of any upload (the manifest and the digests map them back to the file).
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from b8760_assets.config import ConnectorProperties

# An hour in an object name, as the download contract writes it: `2021-11-08T14:00:00` (UTC).
HOUR_SEGMENT_FORMAT = "%Y-%m-%dT%H:00:00"
README_NAME = "readme.txt"
# Files the platform itself keeps at the root of a connector's landing prefix; never taken in.
RESERVED_NAMES = frozenset({README_NAME})
# Each arrival hour's archive folder holds the hour's manifest beside the accepted files: an
# upload of that name could overwrite it.
MANIFEST_NAME = "_manifest.json"
PLATFORM_NAMES = RESERVED_NAMES | {MANIFEST_NAME}
# GCS caps object names at 1024 bytes. A landing file is kept as
# <connector>/rejected/<arrival hour>/<name>, up to 93 bytes more.
MAX_NAME_BYTES = 896
STANDARDIZED = "standardized"


def hour_segment(hour: datetime) -> str:
    """The hour as object names carry it: `2021-11-08T14:00:00` (UTC)."""
    return hour.astimezone(UTC).strftime(HOUR_SEGMENT_FORMAT)


def hour_of_segment(segment: str) -> datetime:
    """The hour an object name's segment stands for; ValueError if it stands for none."""
    return datetime.strptime(segment, HOUR_SEGMENT_FORMAT).replace(tzinfo=UTC)


def landing_prefix(connector: str) -> str:
    """The connector's folder in the landing zone, and what its IAM condition allows; the
    trailing slash keeps ext_conn1 out of ext_conn10/."""
    return f"{connector}/"


def standardized_folder(connector: str) -> str:
    """`coned/standardized/`: the folder of the connector's meters' meter-hour objects."""
    return f"{connector}/{STANDARDIZED}/"


def meter_hours_folder(connector: str, meter_id: str) -> str:
    """`coned/standardized/3/`: the folder of one meter's meter-hour objects."""
    return f"{standardized_folder(connector)}{meter_id}/"


def meter_hour_name(connector: str, meter_id: str, hour: datetime) -> str:
    """`coned/standardized/3/2021-11-08T14:00:00`: the object of the UTC hour holding hour."""
    return f"{meter_hours_folder(connector, meter_id)}{hour_segment(hour)}"


def meter_hour_names(connector: pl.Expr, meter_id: pl.Expr, hour: pl.Expr) -> pl.Expr:
    """meter_hour_name for every row at once (hour: the UTC hour the interval starts in)."""
    return pl.concat_str(
        connector, pl.lit(f"/{STANDARDIZED}/"), meter_id, pl.lit("/"),
        hour.dt.strftime(HOUR_SEGMENT_FORMAT),
    )  # fmt: skip


def name_digest(file_name: str) -> str:
    """A fixed-length stand-in for an upload's name in the objects derived from it."""
    return hashlib.sha256(file_name.encode("utf-8", "surrogatepass")).hexdigest()


def _hour_under(prefix: str, name: str) -> datetime | None:
    """The hour of `<prefix><hour>/...`, if the name's segment after prefix is one."""
    try:
        return hour_of_segment(name.removeprefix(prefix).split("/", 1)[0])
    except ValueError:
        return None


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
        return landing_prefix(self.connector.name)

    def file_name(self, landing_object: str) -> str:
        """The name an upload goes by: its object name less the connector's prefix."""
        return landing_object.removeprefix(self.landing_prefix)

    @property
    def claims_prefix(self) -> str:
        return f"{self.connector.name}/claims/"

    def claim(self, generation: int, file_name: str) -> str:
        return f"{self.claims_prefix}{generation}/{file_name}"

    def claimed_file(self, claim: str) -> str:
        """The name of the file a claim object holds an hour's claim on."""
        return claim.removeprefix(self.claims_prefix).split("/", 1)[1]

    @property
    def raw_prefix(self) -> str:
        """Where the arrival hours' archive folders (and their manifests) are."""
        return f"{self.connector.name}/raw/"

    def _hour_folder(self, kind: str, hour: datetime) -> str:
        return f"{self.connector.name}/{kind}/{hour_segment(hour)}/"

    def archive_folder(self, hour: datetime) -> str:
        """raw/<hour>/: the hour's manifest and accepted files."""
        return self._hour_folder("raw", hour)

    def archived_hour(self, name: str) -> datetime | None:
        """The arrival hour of an object in the archive (raw/<hour>/...), if it names one."""
        return _hour_under(self.raw_prefix, name)

    @property
    def rejected_prefix(self) -> str:
        """Where the arrival hours' quarantine folders are."""
        return f"{self.connector.name}/rejected/"

    def quarantine_folder(self, hour: datetime) -> str:
        """rejected/<hour>/: the hour's rejected files."""
        return self._hour_folder("rejected", hour)

    def quarantined_hour(self, name: str) -> datetime | None:
        """The arrival hour of a rejected file (rejected/<hour>/...), if it names one."""
        return _hour_under(self.rejected_prefix, name)

    def manifest(self, hour: datetime) -> str:
        return self.archive_folder(hour) + MANIFEST_NAME

    @property
    def empty_hours_prefix(self) -> str:
        """Where the records of hours taken in with nothing to take are: one per run of
        consecutive empty hours, not an empty manifest folder per hour (168 for a week)."""
        return f"{self.raw_prefix}_empty_hours/"

    def empty_hours(self, first: datetime, last: datetime) -> str:
        return f"{self.empty_hours_prefix}{hour_segment(first)}_{hour_segment(last)}.json"

    def empty_hours_span(self, name: str) -> tuple[datetime, datetime] | None:
        """The first and last hour an empty-hours record names, if `name` is one."""
        stem = name.removeprefix(self.empty_hours_prefix).removesuffix(".json")
        try:
            first, last = (hour_of_segment(segment) for segment in stem.split("_"))
        except ValueError:
            return None
        return first, last

    def accepted(self, hour: datetime, file_name: str) -> str:
        return self.archive_folder(hour) + file_name

    def rejected(self, hour: datetime, file_name: str) -> str:
        return self.quarantine_folder(hour) + file_name

    def checked_readings(self, hour: datetime, file_name: str) -> str:
        """An accepted file's readings as the landing check read them (Parquet): the only
        input of standardization, so that a file is parsed and checked once."""
        return self._hour_folder("checked", hour) + name_digest(file_name) + ".parquet"

    def checked_registers(self, hour: datetime, file_name: str) -> str:
        """The register reads of an accepted file that carries them (Parquet), beside its
        checked readings: what the register-versus-interval check reads."""
        return self._hour_folder("checked", hour) + name_digest(file_name) + ".registers.parquet"

    def rejection_reason(self, hour: datetime, file_name: str) -> str:
        """Why a file was refused (JSON naming the file, its rule, line and message)."""
        return self._hour_folder("reasons", hour) + name_digest(file_name) + ".json"

    @property
    def standardized_prefix(self) -> str:
        return standardized_folder(self.connector.name)

    @property
    def batches_prefix(self) -> str:
        return f"{self.connector.name}/batches/"

    def batch(self, hour: datetime) -> str:
        """The hour's standardized rows as one Parquet object, for the warehouse to load."""
        return f"{self.batches_prefix}{hour_segment(hour)}.parquet"
