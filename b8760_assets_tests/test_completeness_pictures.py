"""completeness_pictures.py: the markdown picture's cap (the least complete meters, the rest
counted) and its bands."""

from datetime import UTC, date, datetime, timedelta

import polars as pl

from b8760_assets.completeness_pictures import Picture, band, markdown, percent

START = datetime(2022, 3, 1, 6, tzinfo=UTC)


def picture(shares: dict[str, int]) -> Picture:
    """One day of meters with `present` of 24 hourly intervals each."""
    table = pl.DataFrame(
        [(meter, date(2022, 3, 1), present, 24, present / 24) for meter, present in shares.items()],
        schema=["meter_id", "day", "present", "expected", "share"],
        orient="row",
    )
    return Picture("c", "America/Chicago", START, START + timedelta(days=1), table, {})


def test_markdown_shows_the_least_complete_meters_and_counts_the_rest() -> None:
    text = markdown(picture({"a": 24, "b": 0, "c": 23, "d": 12, "e": 22}), meters=2)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == [
        "| meter | all | 2022-03-01 |",
        "| b | 0 % | 🟥 0 % |",
        "| d | 50 % | 🟧 50 % |",
    ]
    assert "… and 3 more meter(s), each 91 % or more." in text
    assert "more meter(s)" not in markdown(picture({"a": 24}), meters=2)


def test_bands_and_percents_round_down() -> None:
    assert [band(share).label for share in (1.0, 0.99, 0.9, 0.5, 1e-9, 0.0)] == [
        "complete", "90 % or more", "90 % or more", "some", "some", "none"
    ]  # fmt: skip
    assert percent(23 / 24) == "95 %" and percent(0.999) == "99 %" and percent(1.0) == "100 %"
