"""ESPI ReadingQuality codes (QualityOfReading) as the platform's quality flags (A, E, none).

An IntervalReading may carry several ReadingQuality codes; its flag is the least trusted of
theirs (E before no flag before A), so that an estimate is never shown as measured. A reading
without one has no flag. docs/uploading.md has the same table for uploaders.
"""

import polars as pl

from b8760_assets.landing.formats import FormatRejected, Rejection, quoted

# code: (ESPI's name, the platform's flag: None for none). ESPI has no "missing" code.
QUALITY_OF_READING: dict[str, tuple[str, str | None]] = {
    "0": ("valid", "A"),
    "7": ("manually edited", "E"),
    "8": ("estimated using reference day", "E"),
    "9": ("estimated using linear interpolation", "E"),
    "10": ("questionable", None),
    "11": ("derived", "E"),
    "12": ("projected (forecast)", "E"),
    "13": ("mixed", "E"),
    "14": ("raw", "A"),
    "15": ("normalized for weather", "E"),
    "16": ("other", None),
    "17": ("validated", "A"),
    "18": ("verified", "A"),
    "19": ("revenue-quality", "A"),
}
# The least trusted flag of a reading's codes wins: a rank per flag, and none between.
_RANK = {"A": 0, None: 1, "E": 2}
_RANK_OF_CODE = {code: _RANK[flag] for code, (_, flag) in QUALITY_OF_READING.items()}
_FLAG_OF_RANK = {rank: flag for flag, rank in _RANK.items()}


def quality_flags(codes: pl.Series, lines: pl.Series) -> pl.Series:
    """Each reading's flag from its codes (space-separated text, null for none);
    espi.unknown_quality for the first code ESPI does not define, at its reading's line."""
    if codes.null_count() == codes.len():
        return pl.Series(dtype=pl.String).extend_constant(None, codes.len())
    split = codes.str.split(" ")
    ranks = split.list.eval(pl.element().replace_strict(_RANK_OF_CODE, default=None))
    unknown = (ranks.list.eval(pl.element().is_null()).list.any()).fill_null(False)
    if unknown.any():
        row = int(unknown.arg_true()[0])
        bad = next(code for code in split[row] if code not in QUALITY_OF_READING)
        raise FormatRejected(_unknown_quality(bad, int(lines[row])))
    worst = ranks.list.max().fill_null(_RANK[None])
    return worst.replace_strict(_FLAG_OF_RANK, return_dtype=pl.String)


def _unknown_quality(code: str, line: int) -> Rejection:
    known = ", ".join(f"{code} ({name})" for code, (name, _) in QUALITY_OF_READING.items())
    return Rejection(
        "espi.unknown_quality",
        line,
        f"line {line}: ReadingQuality {quoted(code)} is not an ESPI quality code; the codes "
        f"are {known}",
    )
