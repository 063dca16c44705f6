"""A batch's text rows as a reading's values: trimmed, blank lines skipped, start and end as
UTC instants, value as a number, and the readings taken from them.

Every value is read as text first, so that a bad one is a null a row rule reports with its
line, not a parse error that stops the read.
"""

from datetime import timedelta

import polars as pl

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.csv_format.parts import filled_parts
from b8760_assets.landing.csv_format.repeated_walls import NOTHING_SEEN
from b8760_assets.landing.csv_format.timestamps import Clock, in_range, utc_starts_and_ends
from b8760_assets.landing.csv_format.wall_times import wall_starts_and_ends
from b8760_assets.landing.formats import READINGS_SCHEMA


def trimmed_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value without the whitespace around it; null where nothing is left, so that a
    quoted empty value ("") is as empty as an unquoted one."""
    return frame.with_columns(
        pl.col(column).str.strip_chars().replace("", None)
        for column in frame.columns
        if column != "line"
    )


def _without_blank_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank lines (such as the extra line end many editors leave), and lines of empty values
    (such as a spreadsheet's trailing ,,,,, rows), hold no reading: skipped."""
    if frame["start"].null_count() == 0:
        return frame
    return frame.filter(~pl.all_horizontal(pl.exclude("line").is_null()))


def parsed_values(
    text: pl.DataFrame, connector: ConnectorProperties, seen: pl.DataFrame = NOTHING_SEEN
) -> pl.DataFrame:
    """The rows that hold a reading, their text columns (the parts the layout fixes filled
    in) with start and end as UTC instants and value as a number beside them; null where a
    value is unusable, which a row rule then reports. `seen`: repeated_walls.py."""
    layout = connector.csv_layout
    text = filled_parts(_without_blank_lines(text), layout)
    clock = Clock.of(connector.timezone, layout)
    if layout.timestamp_format is not None:
        times = wall_starts_and_ends(text, clock, layout, seen)
    else:
        start, end = utc_starts_and_ends(text["start"], text["end"], clock)
        if layout.interval_minutes is not None:
            end = in_range(start + timedelta(minutes=layout.interval_minutes))
        times = {"interval_start": start, "interval_end": end}
    value = pl.col("value")
    if layout.decimal != "." and text.schema["value"] == pl.String:  # not read as numbers
        # A dot beside a decimal comma would be a thousands separator (1.234 is 1234 in
        # Germany): refused, not read as 1.234.
        value = pl.when(~value.str.contains(".", literal=True)).then(
            value.str.replace(layout.decimal, ".", literal=True)
        )
    return text.with_columns(
        **times,
        value_number=value.cast(pl.Float64, strict=False),  # as is, if a number
    )


def as_readings(frame: pl.DataFrame, connector: ConnectorProperties) -> pl.DataFrame:
    return (
        frame.lazy()  # lazy: an eager select would first copy the columns into equal chunks
        .select(
            "meter_id",
            "interval_start",
            "interval_end",
            pl.col("value_number").alias("value"),
            pl.col("unit").fill_null(connector.unit),
            "quality",
            pl.col("line").cast(pl.Int64),
        )
        .match_to_schema(READINGS_SCHEMA)
        .collect()
    )
