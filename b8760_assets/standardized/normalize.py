"""A file's readings as standardized rows: in their meter's unit with its multiplier applied,
with local time in the meter's time zone, and with their origin (upload time, source file,
line), the version that decides which reading of an interval is the newest.

Columnar throughout: one join against a small table of (meter, unit) conversions, worked
out once per connector (Normalizer), and each distinct interval start formatted once, so a
year of readings goes at a fair fraction of the speed polars reads the file.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.config.values import KNOWN_UNITS
from b8760_assets.readings_schema import (
    ARRIVAL_HOUR,
    FAILED_RULES,
    LOCAL_FORMAT,
    UPLOADED_AT,
    VALIDATION,
)
from b8760_assets.units import conversion

# Readings of a described meter in a unit of another dimension (kW for a kWh meter): left out
# of the standardized rows, and reported by the asset's data-quality check.
UNCONVERTIBLE_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String,
        "unit": pl.String,
        "meter_unit": pl.String,
        "source_file": pl.String,
        "source_line": pl.Int64,
    }
)

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Normalized:
    """A file's standardized rows (readings_schema.POLARS_SCHEMA), and the readings left out
    because their unit cannot be stated in their meter's (UNCONVERTIBLE_SCHEMA)."""

    rows: pl.DataFrame
    unconvertible: pl.DataFrame


def _in_zone(starts: pl.Series, zone: str) -> pl.Series:
    """Formatting costs the same for every row: each distinct start (a file repeats every
    hour for each of its meters) is formatted once."""
    distinct = starts.unique()
    if distinct.len() * 4 > starts.len():
        return starts.dt.convert_time_zone(zone).dt.strftime(LOCAL_FORMAT)
    local = distinct.dt.convert_time_zone(zone).dt.strftime(LOCAL_FORMAT)
    return starts.replace_strict(distinct, local, default=None, return_dtype=pl.String)


def _local_starts(starts: pl.Series, zones: pl.Series) -> pl.Series:
    """ISO 8601 wall-clock times with their offsets, each in its row's zone, e.g.
    `2021-11-07T01:00:00-05:00`: the offset tells apart the two 01:00s of a fall-back night.

    Formatting costs the same per row in any zone, so each zone formats only its own rows,
    and a single zone (the usual case) formats them all in place.
    """
    names = zones.unique()
    if len(names) == 1:
        return _in_zone(starts, names[0])
    local = pl.Series(dtype=pl.String).extend_constant(None, len(starts))
    for zone in names:
        rows = (zones == zone).arg_true()
        local = local.scatter(rows, _in_zone(starts.gather(rows), zone))
    return local


def _factors(unit: str, meter_unit: str) -> tuple[float | None, float | None]:
    """A reading in `unit` is `value * times / over` in `meter_unit`.

    An exact conversion to a whole number of units multiplies by it, one from a whole number
    divides by it (so 1250 Wh is 1.25 kWh, not 1.2500000000000002); any other multiplies by
    the nearest float. None where the dimensions differ.
    """
    exact = conversion(unit, meter_unit)
    if exact is None:
        return None, None
    if exact.numerator == 1:
        return 1.0, float(exact.denominator)
    return float(exact), 1.0


class Normalizer:
    """Normalizes the files of one connector, a batch of readings at a time.

    Its meters' units, multipliers, zones and conversions are worked out once, as small
    tables: a reading finds its meter (and its meter and unit) by position, a lookup in a
    small enum instead of a join of every reading against every (meter, unit) pair.
    """

    def __init__(self, connector: ConnectorProperties, meters: Mapping[str, Meter]) -> None:
        self.connector = connector
        ids = sorted(meters)
        units = sorted(KNOWN_UNITS)
        self.meter_enum = pl.Enum(ids)
        self.unit_enum = pl.Enum(units)
        self.units = len(units)
        described = [meters[meter_id] for meter_id in ids]
        factors = [_factors(unit, meter.unit) for meter in described for unit in units]
        self.times = pl.Series([times for times, _ in factors], dtype=pl.Float64)
        self.over = pl.Series([over for _, over in factors], dtype=pl.Float64)
        self.meter_unit = pl.Series([meter.unit for meter in described], dtype=pl.String)
        self.multiplier = pl.Series([meter.multiplier for meter in described], dtype=pl.Float64)
        self.zone = pl.Series([meter.timezone for meter in described], dtype=pl.String)
        # No value grows by more than this once stated in its meter's unit (a meter no meter
        # XML describes keeps the file's value: 1).
        each_pair_meter = (meter for meter in described for _ in units)
        self.largest_factor = max(
            [1.0]
            + [
                abs(times / over * meter.multiplier)
                for meter, (times, over) in zip(each_pair_meter, factors, strict=True)
                if times is not None and over is not None
            ]
        )
        # One zone for every reading (the usual case) formats local times without a zone column.
        zones = {meter.timezone for meter in described} | {connector.timezone}
        self.only_zone = zones.pop() if len(zones) == 1 else None

    def _found(self, readings: pl.DataFrame) -> pl.DataFrame:
        """readings with each one's meter (_meter), (meter, unit) pair (_pair), meter unit and
        conversion factor: null where no meter XML describes the meter, or the units differ."""
        meter = pl.col("meter_id").cast(self.meter_enum, strict=False).to_physical()
        unit = pl.col("unit").cast(self.unit_enum, strict=False).to_physical()
        return readings.with_columns(
            _meter=meter.cast(pl.Int64),
            _pair=meter.cast(pl.Int64) * self.units + unit.cast(pl.Int64),
        ).with_columns(
            meter_unit=pl.lit(self.meter_unit).gather(pl.col("_meter")),
            times=pl.lit(self.times).gather(pl.col("_pair")),
        )

    def _meter_value(self, column: str = "value") -> pl.Expr:
        """A found reading's value (or another column in its unit) in its meter's unit with
        its multiplier applied (the file's value where no meter XML describes the meter)."""
        return (
            pl.col(column)
            * pl.col("times").fill_null(1.0)
            / pl.lit(self.over).gather(pl.col("_pair")).fill_null(1.0)
            * pl.lit(self.multiplier).gather(pl.col("_meter")).fill_null(1.0)
        )

    def register_reads(self, registers: pl.DataFrame) -> pl.DataFrame:
        """Register reads (REGISTER_READS_SCHEMA) stated as the meter's readings are: value
        and resolution in its unit with its multiplier applied; a read whose unit does not
        convert to its meter's is left out (the unit check reports its meter's readings)."""
        found = self._found(registers)
        convertible = pl.col("times").is_not_null() | pl.col("meter_unit").is_null()
        return found.filter(convertible).select(
            "meter_id",
            "read_at",
            value=self._meter_value(),
            resolution=self._meter_value("resolution"),
            unit=pl.coalesce("meter_unit", "unit"),
        )

    def first_overflow(self, readings: pl.DataFrame) -> dict[str, Any] | None:
        """The first reading (READINGS_SCHEMA) whose value stops being a number once stated
        in its meter's unit (1e306 kWh for a Wh meter), with that value and the meter's unit
        and multiplier; None if every value stays finite."""
        largest = cast(float | None, readings["value"].abs().max())
        if largest is None or math.isfinite(largest * self.largest_factor):
            return None  # the usual case, from one pass over the values
        found = self._found(readings).with_columns(
            meter_value=self._meter_value(),
            multiplier=pl.lit(self.multiplier).gather(pl.col("_meter")),
        )
        overflowing = found.filter(pl.col("meter_value").is_infinite())
        return overflowing.row(0, named=True) if overflowing.height else None

    def normalize(
        self,
        readings: pl.DataFrame,
        *,
        arrival_hour: datetime,
        source_file: str,
        uploaded_at: datetime,
    ) -> Normalized:
        """The standardized rows of readings (READINGS_SCHEMA) from one accepted file,
        uploaded at `uploaded_at` (its timeCreated) and taken in by `arrival_hour`'s run.

        A reading of a meter no meter XML describes is kept as uploaded (its file's unit, no
        multiplier, the connector's time zone) and marked meter_known False, so that it is
        standardized in full once its meter is described and its hour replayed. A reading
        whose unit cannot be stated in its meter's, or whose value would overflow in it (a
        meter's multiplier changed since the landing check), is left out and reported.
        """
        connector = self.connector
        found = self._found(readings)
        if self.only_zone is not None:
            local_start = _in_zone(found["interval_start"], self.only_zone)
        else:
            zones = found.select(
                pl.lit(self.zone).gather(pl.col("_meter")).fill_null(connector.timezone)
            ).to_series()
            local_start = _local_starts(found["interval_start"], zones)
        found = found.with_columns(local_start=local_start, meter_value=self._meter_value())
        meter_known = pl.col("meter_unit").is_not_null()
        convertible = (pl.col("times").is_not_null() | ~meter_known) & pl.col(
            "meter_value"
        ).is_finite()
        unconvertible = found.filter(~convertible).select(
            "meter_id",
            "unit",
            "meter_unit",
            source_file=pl.lit(source_file),
            source_line="line",
        )
        rows = found.filter(convertible).select(
            connector=pl.lit(connector.name),
            participant=pl.lit(connector.participant),
            meter_id="meter_id",
            interval_start="interval_start",
            interval_end="interval_end",
            value="meter_value",
            unit=pl.coalesce("meter_unit", "unit"),
            quality="quality",
            local_start="local_start",
            meter_known=meter_known,
            # Not validated yet: validation (b8760_assets.validation) gives the verdicts.
            validation=pl.lit(None, dtype=VALIDATION.polars_type),
            failed_rules=pl.lit(None, dtype=FAILED_RULES.polars_type),
            uploaded_at=pl.lit(uploaded_at, dtype=UPLOADED_AT.polars_type),
            arrival_hour=pl.lit(arrival_hour, dtype=ARRIVAL_HOUR.polars_type),
            source_file=pl.lit(source_file),
            source_line="line",
        )
        return Normalized(rows=rows, unconvertible=unconvertible)
