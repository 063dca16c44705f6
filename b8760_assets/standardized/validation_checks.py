"""The validation rules (b8760_assets.validation) as the standardized asset's checks: one
named check per rule, with the rule's severity, and metadata naming the meters and local
days it found (a markdown table of the first CASES_SHOWN, with counts of all).

A run validates each arrival hour's rows on their own (what an hour's files bring is a fixed,
replayable set: an hour's verdicts do not depend on which hours ran with it); its checks
report every hour of the run's range together.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.validation import RULES, MeterLimits, Thresholds
from b8760_assets.validation.rules import (
    CASES_SCHEMA,
    DUPLICATES,
    ERROR,
    GAPS,
    LIMITS,
    MISALIGNED,
    NEGATIVES,
    OVERLAPS,
    REGISTERS,
    SPIKES,
    ZERO_RUNS,
)
from b8760_assets.validation.thresholds import limits_frame

CHECKS = {
    GAPS: "no_gaps_in_local_days",
    DUPLICATES: "no_conflicting_duplicates",
    OVERLAPS: "no_overlapping_intervals",
    SPIKES: "no_spikes",
    LIMITS: "within_meter_limits",
    NEGATIVES: "no_negative_forward_flow",
    ZERO_RUNS: "no_long_zero_runs",
    MISALIGNED: "intervals_on_meter_grid",
    REGISTERS: "registers_match_interval_sums",
}
CHECK_SPECS = tuple((CHECKS[rule.name], rule.description) for rule in RULES.values())
# Cases each check's table shows; all are counted.
CASES_SHOWN = 20


def thresholds(connector: ConnectorProperties) -> Thresholds:
    return Thresholds(
        spike_ratio=connector.spike_ratio,
        zero_run_hours=connector.zero_run_hours,
        estimate_max_minutes=connector.estimate_max_minutes,
    )


def meter_limits(meters: Mapping[str, Meter]) -> pl.DataFrame:
    """The meters' zones and limits as the rules join them (a net flow may read negative)."""
    return limits_frame(
        {
            meter.id: MeterLimits(
                meter.timezone, meter.high_limit, meter.low_limit, meter.flow_direction == "net"
            )
            for meter in meters.values()
        }
    )


@dataclass
class RuleTotals:
    """What one rule found over a run's hours: every case counted, the first ones kept."""

    intervals: int = 0
    cases: int = 0
    meters: set[str] = field(default_factory=set)
    shown: list[pl.DataFrame] = field(default_factory=list)
    # Counts of the rule's own for the check's metadata (the register spans judged, ...).
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, **counts: int) -> None:
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + value


@dataclass
class ValidationTotals:
    """What the rules found over a run's hours, by rule."""

    rules: dict[str, RuleTotals] = field(
        default_factory=lambda: {rule: RuleTotals() for rule in RULES}
    )

    def add(self, cases: pl.DataFrame) -> None:
        for (rule,), found in cases.partition_by("rule", as_dict=True).items():
            assert isinstance(rule, str)
            totals = self.rules[rule]
            totals.intervals += int(found["intervals"].sum())
            totals.cases += found.height
            totals.meters.update(found["meter_id"].unique().to_list())
            if sum(each.height for each in totals.shown) < CASES_SHOWN:
                totals.shown.append(found.head(CASES_SHOWN))


def cases_table(shown: list[pl.DataFrame], cases: int) -> str:
    """The first cases as a markdown table, with how many are left out."""
    frame = pl.concat([CASES_SCHEMA.to_frame(), *shown]).head(CASES_SHOWN)
    lines = ["| meter | local day | intervals | detail |", "|---|---|---|---|"]
    lines += [
        f"| {row['meter_id']} | {row['local_day']} | {row['intervals']} | {row['detail']} |"
        for row in frame.iter_rows(named=True)
    ]
    if cases > frame.height:
        lines.append(f"\n{cases - frame.height} more case(s) not shown")
    return "\n".join(lines)


def check_results(totals: ValidationTotals) -> list[dg.AssetCheckResult]:
    """One result per rule: passed if it found nothing."""
    return [
        dg.AssetCheckResult(
            check_name=CHECKS[rule],
            passed=found.cases == 0,
            severity=(
                dg.AssetCheckSeverity.ERROR
                if RULES[rule].severity == ERROR
                else dg.AssetCheckSeverity.WARN
            ),
            metadata={
                "intervals": found.intervals,
                "meters": len(found.meters),
                "cases": found.cases,
                **found.counts,
                "first_cases": dg.MetadataValue.md(
                    cases_table(found.shown, found.cases) if found.cases else "none"
                ),
            },
        )
        for rule, found in totals.rules.items()
    ]
