"""Readings and standardized rows for the standardized-readings tests: the sample coned
connector and its meter 3 (kWh, multiplier 40), in a few lines per case."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.landing.formats import READINGS_SCHEMA
from b8760_assets.partitions import floor_hour
from b8760_assets.standardized.normalize import Normalizer
from b8760_assets.standardized.validation_checks import meter_limits, thresholds
from b8760_assets.validation import Thresholds, Validation, validate

CONED = ConnectorProperties(
    name="coned",
    participant="participant_1",
    bucket="participant_1",
    external=False,
    formats=("csv",),
    timezone="America/New_York",
    unit="kWh",
    start_hour=datetime(2021, 11, 1, tzinfo=UTC),
    max_file_bytes=1_048_576,
    source=Path("connectors/coned/properties.xml"),
)


def meter(
    meter_id: str, unit: str, multiplier: float = 1.0, timezone: str = "America/New_York"
) -> Meter:
    return Meter(
        id=meter_id,
        connector="coned",
        participant="participant_1",
        commodity="gas" if unit == "therm" else "electricity",
        unit=unit,
        multiplier=multiplier,
        timezone=timezone,
        site="a test site",
        source=Path("meters/coned.xml"),
        line=1,
    )


METERS = {
    "1": meter("1", "kWh"),
    "3": meter("3", "kWh", 40.0),
    "4": meter("4", "therm", 1.02),
    "chicago": meter("chicago", "kWh", timezone="America/Chicago"),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def reading(
    meter_id: str,
    start: datetime,
    value: float,
    unit: str = "kWh",
    *,
    line: int,
    minutes: int = 15,
    quality: str | None = "A",
) -> tuple:
    """One reading as the landing check hands it on (READINGS_SCHEMA)."""
    return (meter_id, start, start + timedelta(minutes=minutes), value, unit, quality, line)


def readings(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=READINGS_SCHEMA, orient="row")


def standardized(
    *rows: tuple,
    uploaded_at: datetime,
    arrival_hour: datetime | None = None,
    source_file: str = "readings.csv",
    meters: dict[str, Meter] = METERS,
) -> pl.DataFrame:
    """The standardized rows of a file of these readings uploaded at uploaded_at, taken in
    by arrival_hour's run (by default the hour it was uploaded in), with these meters
    described by meter XML."""
    return (
        Normalizer(CONED, meters)
        .normalize(
            readings(*rows),
            arrival_hour=arrival_hour or floor_hour(uploaded_at),
            source_file=source_file,
            uploaded_at=uploaded_at,
        )
        .rows
    )


def validated(
    rows: pl.DataFrame, meters: dict[str, Meter] = METERS, rules: Thresholds | None = None
) -> Validation:
    """Standardized rows of one arrival hour validated as the standardized asset validates
    them (the coned connector's thresholds unless others are given)."""
    return validate(rows, meter_limits(meters), rules or thresholds(CONED), CONED.timezone)
