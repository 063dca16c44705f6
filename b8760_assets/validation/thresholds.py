"""The thresholds the rules compare against: a connector's (properties.xml, with documented
defaults) and a meter's own limits (meter XML, none by default)."""

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

# A day's highest reading is a spike above this many times its third-highest.
DEFAULT_SPIKE_RATIO = 10.0
# Zero readings in a row for this many hours (or more) are a long run of zeros.
DEFAULT_ZERO_RUN_HOURS = 24.0
# The longest gap validation.estimate.max.minutes may let estimation fill: a day. Longer gaps
# are not a straight line between two readings (a day's shape), nor rows to make by the
# million.
MOST_ESTIMATE_MINUTES = 24 * 60
# A register's rise may differ from its intervals' sum by this share of it (or one unit of
# the register's resolution, if more).
DEFAULT_REGISTER_TOLERANCE_PERCENT = 1.0


@dataclass(frozen=True)
class Thresholds:
    """A connector's thresholds (properties.xml validation.* keys)."""

    spike_ratio: float = DEFAULT_SPIKE_RATIO
    zero_run_hours: float = DEFAULT_ZERO_RUN_HOURS
    # Gaps up to this many minutes are estimated (validation/estimation.py); None: none are.
    estimate_max_minutes: float | None = None


@dataclass(frozen=True)
class MeterLimits:
    """What a meter's XML says of its readings: its time zone (its local days), its limits
    per interval, in the meter's unit with its multiplier applied (None: no limit), and
    whether it may read negative (only a net flow may)."""

    timezone: str
    high: float | None = None
    low: float | None = None
    negative_allowed: bool = False


LIMITS_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String(),
        "timezone": pl.String(),
        "high_limit": pl.Float64(),
        "low_limit": pl.Float64(),
        "negative_allowed": pl.Boolean(),
    }
)


def limits_frame(limits: Mapping[str, MeterLimits]) -> pl.DataFrame:
    """The meters' limits as a small table to join readings against (LIMITS_SCHEMA)."""
    return pl.DataFrame(
        [
            (meter_id, each.timezone, each.high, each.low, each.negative_allowed)
            for meter_id, each in sorted(limits.items())
        ],
        schema=LIMITS_SCHEMA,
        orient="row",
    )
