"""Misaligned intervals: a reading whose interval is not its meter's interval length. The
landing check already keeps every interval on its own length's boundary in UTC; a meter's
readings of another length (an hourly reading among 15-minute ones) are off the meter's grid
and would be counted twice or not at all by interval sums."""

import polars as pl

from b8760_assets.validation.found import Found, flagged, local_time
from b8760_assets.validation.intervals import LENGTH, METER_LENGTH, MINUTE_US
from b8760_assets.validation.rules import MISALIGNED


def find_misaligned(frame: pl.DataFrame) -> Found:
    """Readings whose length is not their meter's."""
    detail = pl.format(
        "{}-minute interval at {}, the meter's is {} minutes",
        pl.col(LENGTH) // MINUTE_US,
        local_time(),
        pl.col(METER_LENGTH) // MINUTE_US,
    )
    return flagged(MISALIGNED, frame, pl.col(LENGTH) != pl.col(METER_LENGTH), detail)
