"""Registers against intervals: where a file carries a meter's register reads (its running
total) beside its interval readings, the register's rise between two consecutive reads must
be the sum of the intervals between them, within the tolerance.

A span between two reads is judged only when the file's intervals cover it whole: a span
with intervals missing (or one straddling a read) cannot add up, and the gaps rule already
reports what is missing; such spans are counted, not failed. The tolerance is the larger of
validation.register.tolerance.percent (or the meter's own register_tolerance_percent, meter
XML) of the register's rise and one unit of the register's
resolution (its last digit: a register read to the kWh differs from its intervals' sum in Wh
by up to one kWh). Plain polars; the sums are added a batch of intervals at a time
(RegisterSums), so that a long file's intervals need not be held together.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from b8760_assets.validation.rules import CASES_SCHEMA, REGISTERS

# The spans between consecutive register reads of a meter (read_at in ascending order).
SPAN_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String(),
        "from": pl.Datetime("us", "UTC"),
        "to": pl.Datetime("us", "UTC"),
        "register_delta": pl.Float64(),
        "resolution": pl.Float64(),
        "unit": pl.String(),
    }
)
# The intervals found inside each span: their sum, how many, and the time they cover.
SUM_SCHEMA = pl.Schema(
    {
        "meter_id": pl.String(),
        "from": pl.Datetime("us", "UTC"),
        "to": pl.Datetime("us", "UTC"),
        "interval_sum": pl.Float64(),
        "intervals": pl.Int64(),
        "covered": pl.Duration("us"),
    }
)
MISMATCH_SCHEMA = pl.Schema({**SPAN_SCHEMA, "interval_sum": pl.Float64(), "intervals": pl.Int64()})


def register_spans(registers: pl.DataFrame) -> pl.DataFrame:
    """Each pair of consecutive reads of a meter (meter_id, read_at, value, resolution, unit)
    as a span (SPAN_SCHEMA): a meter with one read has none. A read given twice is one; two
    reads of one instant that differ are a span of no time that should not rise."""
    reads = registers.unique(["meter_id", "read_at", "value"]).sort("meter_id", "read_at", "value")
    following = {name: pl.col(name).shift(-1).over("meter_id") for name in ("read_at", "value")}
    return (
        reads.with_columns(
            to=following["read_at"],
            register_delta=following["value"] - pl.col("value"),
            resolution=pl.max_horizontal(
                "resolution", pl.col("resolution").shift(-1).over("meter_id")
            ),
        )
        .filter(pl.col("to").is_not_null())
        .select(
            "meter_id",
            pl.col("read_at").alias("from"),
            "to",
            "register_delta",
            "resolution",
            "unit",
        )
        .cast(SPAN_SCHEMA)
    )


def interval_sums(spans: pl.DataFrame, intervals: pl.DataFrame) -> pl.DataFrame:
    """The intervals (meter_id, interval_start, interval_end, value) that lie whole inside a
    span of their meter, summed per span (SUM_SCHEMA)."""
    if spans.is_empty() or intervals.is_empty():
        return SUM_SCHEMA.to_frame()
    inside = (
        intervals.select("meter_id", "interval_start", "interval_end", "value")
        .filter(pl.col("meter_id").is_in(spans["meter_id"].unique().implode()))
        .sort("interval_start")
        .join_asof(
            spans.filter(pl.col("to") > pl.col("from"))
            .select("meter_id", "from", "to")
            .sort("from"),
            left_on="interval_start",
            right_on="from",
            by="meter_id",
            strategy="backward",
            check_sortedness=False,  # both sorted by their key just above
        )
        .filter(pl.col("interval_end") <= pl.col("to"))
    )
    return (
        inside.group_by("meter_id", "from", "to")
        .agg(
            interval_sum=pl.col("value").sum(),
            intervals=pl.len(),
            covered=(pl.col("interval_end") - pl.col("interval_start")).sum(),
        )
        .cast(SUM_SCHEMA)
    )


@dataclass(frozen=True)
class RegisterFindings:
    """mismatches: the judged spans whose register rise is not their intervals' sum
    (MISMATCH_SCHEMA); judged and not_covered: how many spans were compared, and how many
    were not, their intervals not covering them."""

    mismatches: pl.DataFrame
    judged: int
    not_covered: int


def compare(
    spans: pl.DataFrame,
    sums: pl.DataFrame,
    tolerance_percent: float,
    meter_tolerances: Mapping[str, float] | None = None,
) -> RegisterFindings:
    """The spans against their intervals' sums (SUM_SCHEMA, several rows of a span added),
    within tolerance_percent, or a meter's own in meter_tolerances (meter id: percent)."""
    span = ["meter_id", "from", "to"]
    totals = sums.group_by(span).agg(
        pl.col("interval_sum").sum(), pl.col("intervals").sum(), pl.col("covered").sum()
    )
    joined = spans.join(totals, on=span, how="left").with_columns(
        pl.col("interval_sum").fill_null(0.0),
        pl.col("intervals").fill_null(0),
        covered=pl.col("covered").fill_null(pl.duration(microseconds=0))
        == pl.col("to") - pl.col("from"),
    )
    judged = joined.filter("covered")
    percent = pl.col("meter_id").replace_strict(
        dict(meter_tolerances or {}), default=tolerance_percent, return_dtype=pl.Float64
    )
    allowed = pl.max_horizontal(
        pl.col("register_delta").abs() * percent / 100, pl.col("resolution")
    )
    off = judged.filter((pl.col("register_delta") - pl.col("interval_sum")).abs() > allowed)
    return RegisterFindings(
        off.select(MISMATCH_SCHEMA.names()).sort("meter_id", "from"),
        judged.height,
        joined.height - judged.height,
    )


def find_register_mismatches(
    registers: pl.DataFrame,
    intervals: pl.DataFrame,
    tolerance_percent: float,
    meter_tolerances: Mapping[str, float] | None = None,
) -> RegisterFindings:
    """The rule over one file's register reads and interval readings, in one go."""
    spans = register_spans(registers)
    return compare(spans, interval_sums(spans, intervals), tolerance_percent, meter_tolerances)


@dataclass
class RegisterSums:
    """The rule over one file, its intervals added a batch at a time: memory holds the spans
    and a row per span and batch, not the intervals."""

    spans: pl.DataFrame
    sums: list[pl.DataFrame] = field(default_factory=list)

    def add(self, intervals: pl.DataFrame) -> None:
        self.sums.append(interval_sums(self.spans, intervals))

    def findings(
        self, tolerance_percent: float, meter_tolerances: Mapping[str, float] | None = None
    ) -> RegisterFindings:
        sums = pl.concat([SUM_SCHEMA.to_frame(), *self.sums])
        return compare(self.spans, sums, tolerance_percent, meter_tolerances)


def register_cases(
    mismatches: pl.DataFrame, zones: pl.DataFrame, default_zone: str
) -> pl.DataFrame:
    """The mismatches as the checks' cases (rules.CASES_SCHEMA): per span, its meter, the
    local day (the meter's zone: zones' meter_id, timezone) its first read is in, the
    intervals between, and the span in UTC hours with the rise and the sum."""
    if mismatches.is_empty():
        return CASES_SCHEMA.to_frame()
    zoned = mismatches.join(zones.select("meter_id", "timezone"), on="meter_id", how="left")
    days = [
        part.with_columns(local_day=pl.col("from").dt.convert_time_zone(zone).dt.date())
        for (zone,), part in zoned.with_columns(pl.col("timezone").fill_null(default_zone))
        .partition_by("timezone", as_dict=True)
        .items()
        if isinstance(zone, str)
    ]
    hour = "%Y-%m-%dT%H:%MZ"
    detail = pl.format(
        "from {} to {}: register delta {} {}, interval sum {} {}",
        pl.col("from").dt.strftime(hour),
        pl.col("to").dt.strftime(hour),
        pl.col("register_delta").round(6),
        "unit",
        pl.col("interval_sum").round(6),
        "unit",
    )
    return (
        pl.concat(days)
        .sort("meter_id", "from")
        .select(
            rule=pl.lit(REGISTERS),
            meter_id="meter_id",
            local_day="local_day",
            intervals="intervals",
            detail=detail,
        )
        .cast(CASES_SCHEMA)
    )
