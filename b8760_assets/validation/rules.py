"""The validation rules by name: each one's severity and what it asks of the readings, and
the shape every rule reports its cases in (one row per meter and local day, or per run of
readings, with how many intervals it concerns)."""

from dataclasses import dataclass

import polars as pl

WARN, ERROR = "WARN", "ERROR"

GAPS = "gaps"
DUPLICATES = "duplicates"
OVERLAPS = "overlaps"
SPIKES = "spikes"
LIMITS = "limits"
NEGATIVES = "negatives"
ZERO_RUNS = "zero_runs"
MISALIGNED = "misaligned"
REGISTERS = "registers"


@dataclass(frozen=True)
class Rule:
    """A validation rule: its name (in failed_rules), its severity (WARN: look at it; ERROR:
    the readings are wrong as they stand) and what a reading must do to pass it."""

    name: str
    severity: str
    description: str


RULES = {
    rule.name: rule
    for rule in (
        Rule(
            GAPS,
            WARN,
            "No interval is missing between a meter's first and last reading of the hour's "
            "files, counted per local day (23, 24 or 25 hours across DST, times the intervals "
            "an hour holds at the meter's interval length).",
        ),
        Rule(
            DUPLICATES,
            ERROR,
            "No two readings of a meter's interval, in one file or in two, differ in value.",
        ),
        Rule(OVERLAPS, ERROR, "No reading's interval overlaps another's of its meter."),
        Rule(
            SPIKES,
            WARN,
            "No local day's highest reading exceeds its third-highest (if positive) times "
            "validation.spike.ratio.",
        ),
        Rule(
            LIMITS,
            ERROR,
            "Every reading is within its meter's high_limit and low_limit (meter XML).",
        ),
        Rule(
            NEGATIVES,
            ERROR,
            "No reading is negative, except on a meter reading a net flow.",
        ),
        Rule(
            ZERO_RUNS,
            WARN,
            "No meter reads zero for validation.zero.run.hours in a row or longer.",
        ),
        Rule(
            MISALIGNED,
            ERROR,
            "Every interval lasts the meter's interval length (its most common one) and so "
            "starts on the meter's own grid.",
        ),
        Rule(
            REGISTERS,
            WARN,
            "Where a file carries a meter's register reads, the register's rise between two "
            "consecutive reads is the sum of the file's intervals between them, within "
            "validation.register.tolerance.percent (or one unit of the register's "
            "resolution, if more); a span the intervals do not cover whole is not judged.",
        ),
    )
}

# What a rule found: a meter, the local day the case starts in, the intervals it concerns
# (missing, or readings flagged), and a line about it.
CASES_SCHEMA = pl.Schema(
    {
        "rule": pl.String(),
        "meter_id": pl.String(),
        "local_day": pl.Date(),
        "intervals": pl.Int64(),
        "detail": pl.String(),
    }
)
