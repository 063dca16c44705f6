"""The platform's verdict on each reading, as the meter-hour objects and the warehouse carry
it beside the file's own quality flag: ESPI ReadingQuality names (QualityOfReading), so that
a Green Button reader knows them. A value is never changed by validation; a reading that
breaks a rule is kept as it came, marked questionable, with the rules it broke named. An
interval the platform estimated is marked estimated: no file brought it."""

import polars as pl

from b8760_assets.readings_schema import ESTIMATED

# The platform's verdicts, by ESPI name, with their ESPI code.
VALIDATED = "validated"  # 17: passed every rule of docs/validation.md
QUESTIONABLE = "questionable"  # 10: broke the rules named in failed_rules
# 9 (estimated using linear interpolation): no file brought it (validation/estimation.py).
VERDICTS = {VALIDATED: "17", QUESTIONABLE: "10", ESTIMATED: "9"}
# Rules a reading broke, in failed_rules, in the order validation.RULES lists them.
RULE_SEPARATOR = ","


def verdict_columns(flags: dict[str, pl.Series]) -> tuple[pl.Series, pl.Series]:
    """Each reading's (validation, failed_rules) from each rule's flags (rule name: one
    boolean per reading); failed_rules is null for a validated reading. The rules' names
    are put together only for the readings that broke one (few, in any real hour)."""
    frame = pl.DataFrame(flags)
    broke = frame.select(pl.any_horizontal(pl.all())).to_series()
    rows = broke.arg_true()
    names = frame[rows].select(
        pl.concat_str(
            [pl.when(rule).then(pl.lit(rule)) for rule in flags],
            separator=RULE_SEPARATOR,
            ignore_nulls=True,
        )
    )
    failed = pl.Series("failed_rules", dtype=pl.String).extend_constant(None, len(broke))
    failed = failed.scatter(rows, names.to_series())
    verdict = pl.select(
        pl.when(broke).then(pl.lit(QUESTIONABLE)).otherwise(pl.lit(VALIDATED))
    ).to_series()
    return verdict.alias("validation"), failed
