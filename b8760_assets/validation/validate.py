"""Every rule over an arrival hour's standardized rows at once: the rows with their verdicts,
and each rule's cases."""

from dataclasses import dataclass

import polars as pl

from b8760_assets.validation.alignment import find_misaligned
from b8760_assets.validation.duplicates import find_duplicates, find_overlaps
from b8760_assets.validation.estimation import with_estimates
from b8760_assets.validation.flows import find_negatives, find_zero_runs
from b8760_assets.validation.found import Found
from b8760_assets.validation.gaps import find_gaps
from b8760_assets.validation.intervals import prepared
from b8760_assets.validation.quality import verdict_columns
from b8760_assets.validation.rules import (
    CASES_SCHEMA,
    DUPLICATES,
    GAPS,
    LIMITS,
    MISALIGNED,
    NEGATIVES,
    OVERLAPS,
    SPIKES,
    ZERO_RUNS,
)
from b8760_assets.validation.spikes import find_outside_limits, find_spikes
from b8760_assets.validation.thresholds import Thresholds


@dataclass(frozen=True)
class Validation:
    """rows: the readings (readings_schema, ordered by meter and start) with their verdicts,
    then the intervals estimated if the connector estimates gaps (validation/estimation.py);
    cases: what each rule found (rules.CASES_SCHEMA)."""

    rows: pl.DataFrame
    cases: pl.DataFrame


def validate(
    rows: pl.DataFrame, limits: pl.DataFrame, thresholds: Thresholds, default_zone: str
) -> Validation:
    """Every rule over rows (readings_schema) of one arrival hour: limits are the meters'
    (thresholds.limits_frame), default_zone that of meters no meter XML describes."""
    frame = prepared(rows, limits, default_zone)
    found: dict[str, Found] = {
        GAPS: find_gaps(frame),
        DUPLICATES: find_duplicates(frame),
        OVERLAPS: find_overlaps(frame),
        SPIKES: find_spikes(frame, thresholds),
        LIMITS: find_outside_limits(frame),
        NEGATIVES: find_negatives(frame),
        ZERO_RUNS: find_zero_runs(frame, thresholds),
        MISALIGNED: find_misaligned(frame),
    }
    verdict, failed = verdict_columns({rule: each.flags for rule, each in found.items()})
    judged = frame.with_columns(verdict, failed)
    cases = pl.concat([CASES_SCHEMA.to_frame(), *(each.cases for each in found.values())])
    return Validation(with_estimates(judged, thresholds.estimate_max_minutes), cases)
