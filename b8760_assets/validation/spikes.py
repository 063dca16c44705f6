"""Spikes and limits: a reading far above its neighbours, and one outside its meter's own
limits.

The spike rule is the meter-data managers' classic: in a meter's local day of at least three
readings, the highest is a spike when it exceeds the third-highest times
validation.spike.ratio (10 by default). The third-highest, not the second, so that two high
readings of a real peak vouch for each other; a day whose third-highest is not positive (a
gas meter's summer) is not judged.
"""

import polars as pl

from b8760_assets.validation.found import Found, flagged, local_time
from b8760_assets.validation.intervals import LOCAL_DAY
from b8760_assets.validation.rules import LIMITS, SPIKES
from b8760_assets.validation.thresholds import Thresholds

SPIKE_DAY_READINGS = 3


def find_spikes(frame: pl.DataFrame, thresholds: Thresholds) -> Found:
    """The highest reading of each day it spikes in."""
    days = frame.group_by("meter_id", LOCAL_DAY).agg(
        highest=pl.col("value").max(),
        third=pl.col("value").top_k(SPIKE_DAY_READINGS).min(),
        readings=pl.len(),
    )
    spiky = days.filter(
        (pl.col("readings") >= SPIKE_DAY_READINGS)
        & (pl.col("third") > 0)
        & (pl.col("highest") > pl.col("third") * thresholds.spike_ratio)
    )
    with_days = frame.join(
        spiky.select("meter_id", LOCAL_DAY, "highest", "third"),
        on=["meter_id", LOCAL_DAY],
        how="left",
        maintain_order="left",
    )
    detail = pl.format("{} at {}, the third-highest {}", "value", local_time(), "third")
    return flagged(SPIKES, with_days, pl.col("value") == pl.col("highest"), detail)


def find_outside_limits(frame: pl.DataFrame) -> Found:
    """Readings above their meter's high_limit or below its low_limit."""
    outside = (pl.col("value") > pl.col("high_limit")) | (pl.col("value") < pl.col("low_limit"))
    detail = pl.format(
        "{} at {} (limits {} to {})",
        "value",
        local_time(),
        pl.col("low_limit").cast(pl.String).fill_null("none"),
        pl.col("high_limit").cast(pl.String).fill_null("none"),
    )
    return flagged(LIMITS, frame, outside, detail)
