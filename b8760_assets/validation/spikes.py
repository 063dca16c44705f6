"""Spikes and limits: a reading far above its neighbours, and one outside its meter's own
limits.

The spike rule is the meter-data managers' classic: in a meter's local day of at least three
readings, the highest is a spike when it exceeds the third-highest times
validation.spike.ratio (10 by default). The third-highest, not the second, so that two high
readings of a real peak vouch for each other; a day whose third-highest is not positive (a
gas meter's summer) is not judged.
"""

import numpy as np
import polars as pl

from b8760_assets.validation.found import Found, cases_of, flagged, local_time, of_rows
from b8760_assets.validation.intervals import DAY, ROW
from b8760_assets.validation.rules import LIMITS, SPIKES
from b8760_assets.validation.thresholds import Thresholds

SPIKE_DAY_READINGS = 3


def _spike_candidates(frame: pl.DataFrame, ratio: float) -> pl.Series:
    """The days (intervals.DAY) of at least three readings whose highest exceeds all but at
    most two of them times ratio, i.e. exceeds the third-highest times ratio.

    A count against each day's highest, in one pass over the values: a day's readings are
    contiguous in the prepared order, so its highest is a reduce, and a top-3 per day (the
    obvious group_by, three times the cost of a bare one) is left to the few days found."""
    values = frame["value"].to_numpy()
    days = frame[DAY].to_numpy()
    if len(values) == 0:
        return pl.Series(DAY, [], dtype=frame[DAY].dtype)
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    readings = np.diff(np.r_[starts, len(values)])
    highest = np.maximum.reduceat(values, starts)
    near = np.add.reduceat(values * ratio >= np.repeat(highest, readings), starts)
    found = (readings >= SPIKE_DAY_READINGS) & (near < SPIKE_DAY_READINGS)
    return pl.Series(DAY, days[starts[found]])


def find_spikes(frame: pl.DataFrame, thresholds: Thresholds) -> Found:
    """The highest reading of each day it spikes in."""
    candidates = frame.filter(
        pl.col(DAY).is_in(_spike_candidates(frame, thresholds.spike_ratio).implode())
    )
    days = candidates.group_by(DAY).agg(
        highest=pl.col("value").max(), third=pl.col("value").top_k(SPIKE_DAY_READINGS).min()
    )
    spiky = days.filter(
        (pl.col("third") > 0) & (pl.col("highest") > pl.col("third") * thresholds.spike_ratio)
    )
    peaks = candidates.join(spiky, on=DAY, how="inner")
    spikes = peaks.filter(pl.col("value") == pl.col("highest")).sort(ROW)
    detail = pl.format("{} at {}, the third-highest {}", "value", local_time(), "third")
    flags = frame.select(of_rows(spikes[ROW])).to_series()
    return Found(flags, cases_of(SPIKES, spikes, detail))


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
