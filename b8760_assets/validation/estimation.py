"""Estimation (the first E of VEE), optional: the intervals of a short gap filled by linear
interpolation between the readings on either side of it, flagged estimated.

A gap is estimated when it lasts at most the connector's `validation.estimate.max.minutes`
and both readings around it are of the meter's interval length, passed every rule
(validated), are not placeholders (quality M) and share a unit. The k-th of n missing
intervals reads before + (after - before) * k / (n + 1): one straight line of interval
values from the reading before to the reading after, so the gap's energy is n times the mean
of its two neighbours, whatever the meter's register read (no register is read). A real
reading is never changed: estimates are new rows, and any reading a file brings for their
interval beats them (readings_schema.ESTIMATED leads the version).
"""

from collections.abc import Callable

import polars as pl

from b8760_assets.readings_schema import ESTIMATED, LOCAL_FORMAT, NAMES, POLARS_SCHEMA, VERSION
from b8760_assets.validation.intervals import (
    END,
    LENGTH,
    METER_LENGTH,
    MINUTE_US,
    START,
    following,
)
from b8760_assets.validation.quality import VALIDATED

# The quality an estimate carries beside its verdict: E, as the files' vocabulary says.
ESTIMATED_QUALITY = "E"
_NEXT = "_next_"  # prefix of the reading after's columns
_NEIGHBOUR = ("value", "unit", "quality", "validation", START, LENGTH, *VERSION)


def _next(column: str) -> pl.Expr:
    return pl.col(_NEXT + column)


def _usable(column: Callable[[str], pl.Expr]) -> pl.Expr:
    """A reading an estimate may lean on (its columns by `column`): validated, of its meter's
    length, not a placeholder."""
    return (
        (column("validation") == VALIDATED)
        & (column(LENGTH) == pl.col(METER_LENGTH))
        & (column("quality") != "M").fill_null(True)
    )


def _next_is_newer() -> pl.Expr:
    """The reading after has the greater version (VERSION's columns, in order)."""
    newer = pl.lit(False)
    for name in reversed(VERSION):
        newer = (_next(name) > pl.col(name)) | ((_next(name) == pl.col(name)) & newer)
    return newer


def _estimable_gaps(judged: pl.DataFrame, max_minutes: float) -> pl.DataFrame:
    """Each reading followed by a gap estimation fills, with the reading after's columns.

    The readings before a short gap are picked first and paired with the reading after
    them by row number: most readings have no gap after them, and pairing every reading
    would cost more than validating it."""
    short = (following(START) - pl.col(END)).is_between(1, max_minutes * MINUTE_US)
    before = judged.select(short.fill_null(False)).to_series().arg_true()
    after = judged.select(_NEIGHBOUR)[before + 1]
    paired = judged[before].hstack(after.rename(lambda name: _NEXT + name).get_columns())
    gap = _next(START) - pl.col(END)
    return paired.filter(
        (gap % pl.col(METER_LENGTH) == 0)
        & _usable(pl.col)
        & _usable(_next)
        & (_next("unit") == pl.col("unit"))
    ).with_columns(missing=gap // pl.col(METER_LENGTH))


def _local_starts(estimates: pl.DataFrame) -> pl.DataFrame:
    """local_start of each estimate, in its meter's time zone (timezone)."""
    parts = [
        part.with_columns(
            local_start=pl.col("interval_start")
            .dt.convert_time_zone(zone)
            .dt.strftime(LOCAL_FORMAT)
        )
        for (zone,), part in estimates.partition_by("timezone", as_dict=True).items()
        if isinstance(zone, str)
    ]
    return pl.concat(parts) if parts else estimates


def estimate_gaps(judged: pl.DataFrame, max_minutes: float) -> pl.DataFrame:
    """The estimated intervals (readings_schema) of the gaps in judged: the prepared readings
    (intervals.prepared) with their verdicts. An estimate's version is that of the newer of
    its two neighbours, so a newer upload of either re-estimates the gap over an older one."""
    gaps = _estimable_gaps(judged, max_minutes)
    newer = _next_is_newer()
    estimates = (
        gaps.with_columns(
            *(pl.when(newer).then(_next(name)).otherwise(name).alias(name) for name in VERSION),
            step=pl.int_ranges(1, pl.col("missing") + 1),
        )
        .explode("step")
        .with_columns(
            interval_start=(pl.col(END) + (pl.col("step") - 1) * pl.col(METER_LENGTH)).cast(
                POLARS_SCHEMA["interval_start"]
            ),
            interval_end=(pl.col(END) + pl.col("step") * pl.col(METER_LENGTH)).cast(
                POLARS_SCHEMA["interval_end"]
            ),
            value=pl.col("value")
            + (_next("value") - pl.col("value")) * pl.col("step") / (pl.col("missing") + 1),
            quality=pl.lit(ESTIMATED_QUALITY),
            validation=pl.lit(ESTIMATED),
            failed_rules=pl.lit(None, dtype=pl.String),
        )
    )
    return _local_starts(estimates).select(NAMES).cast(POLARS_SCHEMA)


def with_estimates(judged: pl.DataFrame, max_minutes: float | None) -> pl.DataFrame:
    """The judged readings (readings_schema), then the estimates of their gaps (none if
    max_minutes is None), each in order of meter and start. Not sorted together: the
    meter-hour merge sorts by object anyway, and sorting an hour's rows again would cost
    more than estimating them."""
    rows = judged.select(NAMES)
    if max_minutes is None:
        return rows
    return pl.concat([rows, estimate_gaps(judged, max_minutes)])
