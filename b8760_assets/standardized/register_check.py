"""The register-versus-interval check of standardized_readings, wired to the files: an
accepted file's register reads (kept beside its checked readings) stated in their meters'
units, its standardized intervals summed into their spans as the batches go, and what the
rule (validation/registers.py) found added to the run's validation totals."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from b8760_assets.config import Meter
from b8760_assets.landing.checked_readings import read_register_reads
from b8760_assets.landing.manifest import ManifestEntry
from b8760_assets.layout import ConnectorLayout
from b8760_assets.standardized.normalize import Normalizer
from b8760_assets.standardized.validation_checks import ValidationTotals, meter_limits
from b8760_assets.storage import StorageResource
from b8760_assets.validation.registers import RegisterSums, register_cases, register_spans
from b8760_assets.validation.rules import REGISTERS


@dataclass(frozen=True)
class RegisterCheck:
    """What the check needs of a connector: its normalizer, its meters' zones (meter_id,
    timezone) and the connector's for the others, its tolerance and its meters' own (meter
    XML), and the totals to add to."""

    normalizer: Normalizer
    zones: pl.DataFrame
    default_zone: str
    tolerance_percent: float
    meter_tolerances: Mapping[str, float]
    totals: ValidationTotals

    @classmethod
    def of(
        cls, normalizer: Normalizer, meters: Mapping[str, Meter], totals: ValidationTotals
    ) -> "RegisterCheck":
        connector = normalizer.connector
        return cls(
            normalizer,
            meter_limits(meters),
            connector.timezone,
            connector.register_tolerance_percent,
            {
                meter.id: meter.register_tolerance_percent
                for meter in meters.values()
                if meter.register_tolerance_percent is not None
            },
            totals,
        )

    def of_file(
        self, storage: StorageResource, layout: ConnectorLayout, entry: ManifestEntry, folder: Path
    ) -> RegisterSums | None:
        """The spans of an accepted file's register reads, to add its intervals to; None for
        a file without register reads."""
        if entry.checked_registers is None:
            return None
        path = folder / "registers.parquet"
        storage.download(layout.bucket, entry.checked_registers, path)
        reads = self.normalizer.register_reads(read_register_reads(path))
        path.unlink()
        return RegisterSums(register_spans(reads))

    def report(self, sums: RegisterSums) -> None:
        """A file's findings, once all its intervals are added."""
        found = sums.findings(self.tolerance_percent, self.meter_tolerances)
        self.totals.add(register_cases(found.mismatches, self.zones, self.default_zone))
        self.totals.rules[REGISTERS].count(
            register_spans_judged=found.judged, register_spans_not_covered=found.not_covered
        )
