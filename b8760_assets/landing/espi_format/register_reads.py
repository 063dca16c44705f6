"""A register channel's IntervalReadings as register reads (formats.REGISTER_READS_SCHEMA).

A register (ReadingType accumulationBehaviour 1 or 9) reads the meter's running total, not
what an interval used: each IntervalReading's value is the total at the end of its timePeriod
(start + duration; its ReadingType's intervalLength where it gives no duration, else its
start). Its numbers are checked and scaled as an interval reading's are; the interval rules
(lengths, alignment) do not apply to an instant.
"""

import polars as pl

from b8760_assets.landing.espi_format.interval_readings import instants, scaled, whole_numbers
from b8760_assets.landing.formats import REGISTER_READS_SCHEMA


def as_register_reads(raw: pl.DataFrame, channels: pl.DataFrame) -> pl.DataFrame:
    """Raw readings of register channels (interval_readings.RawReadings.frame()) as
    REGISTER_READS_SCHEMA, by the `channels` they belong to (meter_id, unit, exponent,
    interval_length, a row per channel index); FormatRejected for a bad number or time."""
    numbers = whole_numbers(raw)
    of_channel = channels.select(pl.all().gather(numbers["channel"]))
    lasts = numbers["duration"].fill_null(of_channel["interval_length"]).fill_null(0)
    exponents = of_channel["exponent"]
    return pl.DataFrame(
        {
            "meter_id": of_channel["meter_id"],
            "read_at": instants(numbers["start"] + lasts),
            "value": scaled(numbers["value"], exponents),
            "unit": of_channel["unit"],
            "resolution": scaled(pl.Series([1] * len(exponents), dtype=pl.Int64), exponents),
            "line": raw["line"],
        },
        schema=REGISTER_READS_SCHEMA,
    )
