"""The header line: the columns a file names, and the rejections a header earns.

The header is checked before any row is read, and read again only for a refused file's
message (a line that stops before a column it must fill).
"""

import csv
from collections import Counter

from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.csv_format.structure import not_utf8
from b8760_assets.landing.formats import FormatRejected, Rejection, quoted

REQUIRED_COLUMNS = ("meter_id", "start", "end", "value", "unit")
OPTIONAL_COLUMNS = ("quality",)
# The columns a reading cannot leave empty (an empty unit is the connector's, an empty
# quality none), so a line whose fields stop before one of them is short, not a bad value.
NEVER_EMPTY = ("meter_id", "start", "end", "value")
# A message lists at most this many of the columns a header gets wrong.
SHOWN_COLUMNS = 10
HEADER_HINT = (
    f"the first line must name the columns {', '.join(REQUIRED_COLUMNS)} "
    f"(and optionally {', '.join(OPTIONAL_COLUMNS)}), in any order"
)
UTF8_BOM = b"\xef\xbb\xbf"


def check_header(first_line: bytes) -> None:
    """The header is line 1 and names each known column once, all required ones included."""
    header = _header_text(first_line)
    try:
        columns = _columns(header)
    except csv.Error as bad:  # bad quoting, or a name beyond csv's field size limit
        raise FormatRejected(
            Rejection(
                "csv.bad_header",
                1,
                f"line 1: the header {quoted(header)} is not readable as CSV ({bad}); "
                f"{HEADER_HINT}, separated by commas",
            )
        ) from None
    repeated = sorted(column for column, count in Counter(columns).items() if count > 1)
    unknown = [column for column in columns if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if repeated:
        rule = "csv.duplicate_column"
        problem = f"the header names {_listed(repeated)} more than once; name each column once"
    elif unknown:
        rule = "csv.unknown_column"
        problem = f"the header names unknown column(s) {_listed(unknown)}; {HEADER_HINT}"
    elif missing:
        rule = "csv.missing_column"
        problem = f"the header {quoted(header)} lacks {', '.join(missing)}; {HEADER_HINT}"
    else:
        return
    raise FormatRejected(Rejection(rule, 1, f"line 1: {problem}"))


def _columns(header: str) -> list[str]:
    """The column names of the header line; csv.Error if it is not a line of CSV."""
    # strict: a quote left open would run into the next lines, where polars reads the header
    return [column.strip() for column in next(csv.reader([header], strict=True), [])]


def _header_text(first_line: bytes) -> str:
    """The text of the file's first line without its byte order mark and line end;
    csv.not_utf8 names the first byte that is not UTF-8."""
    skipped = len(UTF8_BOM) if first_line.startswith(UTF8_BOM) else 0
    try:
        return first_line[skipped:].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as error:
        position = skipped + error.start
    raise FormatRejected(not_utf8(1, first_line, first_line[position]))


def too_few_fields(file: Source, line: int) -> Rejection | None:
    """csv.too_few_fields when the offending line's fields stop before a column a reading
    cannot leave empty: the row then breaks that column's rule, which would name the value
    it lacks as if it were an empty one. Only read for a file already refused."""
    columns = _columns(_header_text(file.first_line()))
    text = file.line_numbered(line).decode("utf-8", "replace")
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:  # a value beyond csv's field size limit: the line's own rule words it
        return None
    lacking = [column for column in columns[len(fields) :] if column in NEVER_EMPTY]
    if not lacking:
        return None
    return Rejection(
        "csv.too_few_fields",
        line,
        f"line {line}: {quoted(text)} has {len(fields)} field(s) but the header names "
        f"{len(columns)} columns, so it has no {', '.join(lacking)}; write a field for every "
        "column, separated by commas",
    )


def _listed(values: list[str]) -> str:
    """The values quoted, up to SHOWN_COLUMNS of them: a header may name thousands."""
    shown = ", ".join(quoted(value) for value in values[:SHOWN_COLUMNS])
    if len(values) > SHOWN_COLUMNS:
        shown += f" and {len(values) - SHOWN_COLUMNS:,} more"
    return shown
