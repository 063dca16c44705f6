"""A batch's columns as the parts of a reading the check reads, whatever the connector's
layout (file.csv.*) calls them: meter_id, start, end, value, unit and quality as text, and
each row's line.

Done in two steps: the columns a file has are renamed as it is read (a date joined to each
time), and the parts a layout fixes (meter, unit; no end time when intervals have one
length) are filled in once blank lines are skipped, so that a blank line stays blank.
"""

import polars as pl

from b8760_assets.config.csv_layout import CsvLayout

TIME_PARTS = ("start", "end")


def named_parts(batch: pl.DataFrame, layout: CsvLayout, *, join_date: bool = True) -> pl.DataFrame:
    """A batch as read (column names as the header writes them) with its columns named by
    the parts they hold, its ignored columns dropped, and quality, even if left out; a date
    joined to each time unless `join_date` is False (date_apart)."""
    batch = batch.rename(lambda column: column.strip())
    if layout.ignored_columns:
        batch = batch.drop(layout.ignored_columns, strict=False)
    parts = {column: part for part, column in layout.columns.items()}
    batch = batch.rename({column: parts[column] for column in batch.columns if column in parts})
    if layout.date_column is not None and join_date:
        batch = batch.with_columns(
            joined_time(pl.col("date"), pl.col(part)).alias(part)
            for part in TIME_PARTS
            if part in batch.columns
        ).drop("date", strict=False)
    if "quality" not in batch.columns:
        batch = batch.with_columns(quality=pl.lit(None, pl.String))
    return batch


def date_apart(batch: pl.DataFrame, layout: CsvLayout) -> pl.DataFrame | None:
    """named_parts with a date column left beside the times, for wall_times.py to join each
    distinct date and time once rather than every row's; None where a date or a time is
    empty, whose joined time would be null (and a line of nothing else blank): the joined
    read decides those."""
    frame = named_parts(batch, layout, join_date=False)
    if layout.date_column is None:
        return frame
    present = [part for part in ("date", *TIME_PARTS) if part in frame.columns]
    return None if any(frame[part].has_nulls() for part in present) else frame


def joined_time(date: pl.Expr, time: pl.Expr) -> pl.Expr:
    """A date and a time as one timestamp's text, as a layout's format reads them."""
    return pl.concat_str(date.str.strip_chars(), time.str.strip_chars(), separator=" ")


def filled_parts(frame: pl.DataFrame, layout: CsvLayout) -> pl.DataFrame:
    """The parts a layout fixes filled in: its meter and unit on every row, no end time."""
    fixed = {}
    if layout.fixed_meter is not None:
        fixed["meter_id"] = pl.lit(layout.fixed_meter, pl.String)
    if layout.fixed_unit is not None:
        fixed["unit"] = pl.lit(layout.fixed_unit, pl.String)
    if layout.end_column is None:
        fixed["end"] = pl.lit(None, pl.String)
    return frame.with_columns(**fixed) if fixed else frame
