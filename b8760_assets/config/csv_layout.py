"""How a connector's CSV files lay out their readings: the `file.csv.*` keys of its
properties.xml (docs/configuration.md, "CSV layouts").

A layout names the header's columns for a reading's meter, start, end, value, unit and
quality (or fixes the meter or unit for every line), the lines before the header, the
timestamps' format, which end an interval's end time marks, the decimal mark, and what a
wall time that the connector's zone has twice or never means. A connector that sets none of
the keys has the platform's own layout, CsvLayout().
"""

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from b8760_assets.config import values
from b8760_assets.config.entries import Key
from b8760_assets.config.meters import METER_ID_PATTERN
from b8760_assets.config.problems import ConfigProblem
from b8760_assets.config.values import InvalidValue

# What a wall time that happens twice (file.csv.dst.repeated) or never (file.csv.dst.missing)
# means: refuse the file, or read it with the UTC offset in force before the clocks change
# (first) or after (second); file_order reads a meter's first line of a repeated wall time
# with the offset before and its next with the offset after, as files of the fall day write
# the repeated hour twice.
REJECT, FIRST, SECOND, FILE_ORDER = "reject", "first", "second", "file_order"
REPEATED_RULES = (REJECT, FIRST, SECOND, FILE_ORDER)
MISSING_RULES = (REJECT, FIRST, SECOND)
# What an interval's end time marks: the instant it ends (14:00 for 13:00-14:00), or the
# first moment of its last minute (13:59, as "Download My Data" files write it).
EXCLUSIVE, INCLUSIVE_MINUTE = "exclusive", "inclusive_minute"
END_RULES = (EXCLUSIVE, INCLUSIVE_MINUTE)
DECIMAL_MARKS = (".", ",")
# The field separators a file may use, as properties.xml names them.
SEPARATORS = {",": ",", ";": ";", "tab": "\t"}
INTERVAL_MINUTES = (5, 15, 30, 60)
MAX_SKIP_ROWS = 1000
# A wall time a timestamp format must write and read back unchanged, to the minute.
FORMAT_PROBE = datetime(2021, 11, 7, 13, 45)


@dataclass(frozen=True)
class CsvLayout:
    """Where a CSV file puts each part of a reading. The defaults are the platform's own
    layout (docs/uploading.md section 2): ISO 8601 timestamps, a header on line 1."""

    skip_rows: int = 0  # lines before the header (a utility's account details)
    meter_column: str | None = "meter_id"  # None: every line is fixed_meter's
    fixed_meter: str | None = None
    date_column: str | None = None  # a date joined to start and end with a space
    start_column: str = "start"
    end_column: str | None = "end"  # None: each interval lasts interval_minutes
    interval_minutes: int | None = None
    end: str = EXCLUSIVE
    value_column: str = "value"
    unit_column: str | None = "unit"  # None: every line is in fixed_unit
    fixed_unit: str | None = None
    quality_column: str = "quality"  # optional in the header
    ignored_columns: tuple[str, ...] = ()  # named in the header, read by nobody
    timestamp_format: str | None = None  # None: ISO 8601, with or without a UTC offset
    dst_repeated: str = REJECT
    dst_missing: str = REJECT
    decimal: str = "."
    separator: str = ","

    @property
    def columns(self) -> dict[str, str]:
        """The header's name of each part a reading takes from a column."""
        named = {
            "meter_id": self.meter_column,
            "date": self.date_column,
            "start": self.start_column,
            "end": self.end_column,
            "value": self.value_column,
            "unit": self.unit_column,
            "quality": self.quality_column,
        }
        return {part: column for part, column in named.items() if column is not None}

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The header names a file must have: every column but quality's."""
        return tuple(column for part, column in self.columns.items() if part != "quality")

    def shown(self, part: str) -> str:
        """How a message names a start or end: its column, after the date's if one is
        joined to it ("DATE and START TIME")."""
        column = self.columns[part]
        return column if self.date_column is None else f"{self.date_column} and {column}"


def _column(text: str) -> str:
    if not text:
        raise InvalidValue("a column name is not empty; write the header's name of the column")
    return text


def _columns(text: str) -> tuple[str, ...]:
    return tuple(_column(item.strip()) for item in text.split(","))


def _skip_rows(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_SKIP_ROWS:
        raise InvalidValue(f"{text!r} is not a whole number of lines from 0 to {MAX_SKIP_ROWS}")
    return int(text)


def _meter_id(text: str) -> str:
    if not METER_ID_PATTERN.fullmatch(text):
        raise InvalidValue(
            f"{text!r} is not a valid meter id; use a letter or digit, then up to 63 letters, "
            "digits, '_', '.' or '-'"
        )
    return text


def _interval_minutes(text: str) -> int:
    if text not in {str(minutes) for minutes in INTERVAL_MINUTES}:
        listed = ", ".join(map(str, INTERVAL_MINUTES))
        raise InvalidValue(f"{text!r} is not an interval length; write one of {listed}")
    return int(text)


def _timestamp_format(text: str) -> str:
    """A format of wall times (strftime codes, as polars reads them) that writes and reads
    back a wall time to the minute; without a UTC offset: the connector's zone gives it."""
    if "%z" in text or "%Z" in text or "%:z" in text or "%#z" in text:
        raise InvalidValue(
            f"{text!r} reads a UTC offset; a layout's timestamps are wall times in "
            "data.timezone (leave the key out for ISO 8601 times with offsets)"
        )
    try:
        written = FORMAT_PROBE.strftime(text)
        read = pl.Series([written]).str.to_datetime(text, strict=False).item()
    except (ValueError, pl.exceptions.PolarsError):
        read = None
    if read != FORMAT_PROBE:
        raise InvalidValue(
            f"{text!r} does not read back the wall time it writes ({FORMAT_PROBE:%Y-%m-%d %H:%M}); "
            "give year, month, day, hour and minute, e.g. %Y-%m-%d %H:%M"
        )
    return text


def _choice(known: tuple[str, ...], what: str) -> Callable[[str], str]:
    return lambda text: values.one_of(text, known, what)


LAYOUT_KEYS: Mapping[str, Key] = {
    "file.csv.skip.rows": Key("skip_rows", _skip_rows, default=0),
    "file.csv.column.meter_id": Key("meter_column", _column, default=None),
    "file.csv.meter": Key("fixed_meter", _meter_id, default=None),
    "file.csv.column.date": Key("date_column", _column, default=None),
    "file.csv.column.start": Key("start_column", _column, default=None),
    "file.csv.column.end": Key("end_column", _column, default=None),
    "file.csv.interval.minutes": Key("interval_minutes", _interval_minutes, default=None),
    "file.csv.end": Key("end", _choice(END_RULES, "end rule"), default=EXCLUSIVE),
    "file.csv.column.value": Key("value_column", _column, default=None),
    "file.csv.column.unit": Key("unit_column", _column, default=None),
    "file.csv.unit": Key("fixed_unit", values.unit, default=None),
    "file.csv.column.quality": Key("quality_column", _column, default=None),
    "file.csv.ignore.columns": Key("ignored_columns", _columns, default=()),
    "file.csv.timestamp.format": Key("timestamp_format", _timestamp_format, default=None),
    "file.csv.dst.repeated": Key(
        "dst_repeated", _choice(REPEATED_RULES, "rule for a repeated wall time"), default=REJECT
    ),
    "file.csv.dst.missing": Key(
        "dst_missing", _choice(MISSING_RULES, "rule for a missing wall time"), default=REJECT
    ),
    "file.csv.decimal": Key("decimal", _choice(DECIMAL_MARKS, "decimal mark"), default="."),
    "file.csv.separator": Key(
        "separator",
        lambda text: SEPARATORS[values.one_of(text, SEPARATORS, "field separator")],
        default=",",
    ),
}
KEY_OF = {key.field: name for name, key in LAYOUT_KEYS.items()}
# A part a layout takes from a column, or fixes (the end: by the interval's length); a file
# sets one key of each pair at most, and without either the part has its default column.
EITHER = (
    ("meter_column", "fixed_meter"),
    ("unit_column", "fixed_unit"),
    ("end_column", "interval_minutes"),
)


def read_layout(
    given: dict[str, Any], lines: Mapping[str, int], path: Path, csv_taken: bool
) -> tuple[CsvLayout | None, list[ConfigProblem]]:
    """The layout the file.csv.* keys describe (`given`: each key's field as its rule made
    it, or its default), or the problems of keys that contradict each other, each at the
    line of the key that does."""
    problems: list[ConfigProblem] = []

    def problem(key: str, message: str) -> None:
        problems.append(ConfigProblem(path, lines[key], key, message))

    written = sorted((lines[key], key) for key in LAYOUT_KEYS if key in lines)
    if written and not csv_taken:
        problem(written[0][1], "the connector takes no csv files; add csv to file.formats")
    for one, other in ((KEY_OF[column], KEY_OF[fixed]) for column, fixed in EITHER):
        if one in lines and other in lines:
            problem(max(one, other, key=lines.__getitem__), f"set {one} or {other}, not both")
    if "file.csv.end" in lines and "file.csv.interval.minutes" in lines:
        problem("file.csv.end", "an interval given by its length has no end time to read")
    wall_times_only = {
        "file.csv.column.date": True,
        "file.csv.end": given["end"] == INCLUSIVE_MINUTE,
        "file.csv.dst.repeated": given["dst_repeated"] == FILE_ORDER,
    }
    if given["timestamp_format"] is None:
        for key, needs in wall_times_only.items():
            if key in lines and needs:
                problem(key, "needs file.csv.timestamp.format, the format of the wall times")
    if problems:
        return None, problems
    layout = _layout(given)
    problems += _column_problems(layout, lines, path)
    return (None if problems else layout), problems


def _layout(given: dict[str, Any]) -> CsvLayout:
    """The layout of the fields given: a column left unnamed is the default layout's, unless
    its part is fixed or given otherwise."""
    default = CsvLayout()
    chosen: dict[str, Any] = {field.name: given.get(field.name) for field in fields(CsvLayout)}
    for column, fixed in EITHER:
        if chosen[column] is None and chosen[fixed] is None:
            chosen[column] = getattr(default, column)
    for column in ("start_column", "value_column", "quality_column"):
        chosen[column] = chosen[column] or getattr(default, column)
    return CsvLayout(**chosen)


def _column_problems(
    layout: CsvLayout, lines: Mapping[str, int], path: Path
) -> list[ConfigProblem]:
    """Each header name is one part's, or ignored."""
    named = [*layout.columns.values(), *layout.ignored_columns]
    twice = sorted(column for column, count in Counter(named).items() if count > 1)
    if not twice:
        return []
    keys = [f"file.csv.column.{part}" for part in layout.columns] + ["file.csv.ignore.columns"]
    key = max((key for key in keys if key in lines), key=lines.__getitem__)
    return [
        ConfigProblem(
            path,
            lines[key],
            key,
            f"column {', '.join(map(repr, twice))} is named for two parts; a header's column "
            "is one part's",
        )
    ]
