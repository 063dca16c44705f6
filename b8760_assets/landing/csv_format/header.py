"""The header line: the columns a file names, and the rejections a header earns.

The header is checked before any row is read, and read again only for a refused file's
message (a line that stops before a column it must fill). The connector's layout
(file.csv.*) says which columns it names; the platform's own layout names
meter_id, start, end, value, unit and optionally quality.
"""

import csv
from collections import Counter

from b8760_assets.config.csv_layout import CsvLayout
from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.csv_format.structure import not_utf8
from b8760_assets.landing.formats import FormatRejected, Rejection, quoted

# The parts a reading cannot leave empty (an empty unit is the connector's, an empty
# quality none), so a line whose fields stop before one of them is short, not a bad value.
NEVER_EMPTY = ("meter_id", "date", "start", "end", "value")
# A message lists at most this many of the columns a header gets wrong.
SHOWN_COLUMNS = 10
UTF8_BOM = b"\xef\xbb\xbf"


def header_hint(layout: CsvLayout, line: int = 1) -> str:
    """What the header line must name, in words."""
    where = "the first line" if line == 1 else f"line {line}, the header,"
    optional = ", ".join((layout.quality_column, *layout.ignored_columns))
    return (
        f"{where} must name the columns {', '.join(layout.required_columns)} "
        f"(and optionally {optional}), in any order"
    )


def check_header(file: Source, layout: CsvLayout) -> None:
    """The header (line 1, or the line after file.csv.skip.rows) names each of the layout's
    columns once, all required ones included, and no other."""
    line = file.header_line
    hint = header_hint(layout, line)
    header = _header_text(file.header(), line)
    try:
        columns = _columns(header, layout.separator)
    except csv.Error as bad:  # bad quoting, or a name beyond csv's field size limit
        raise FormatRejected(
            Rejection(
                "csv.bad_header",
                line,
                f"line {line}: the header {quoted(header)} is not readable as CSV ({bad}); "
                f"{hint}, separated by {_named(layout.separator)}",
            )
        ) from None
    repeated = sorted(column for column, count in Counter(columns).items() if count > 1)
    known = (*layout.columns.values(), *layout.ignored_columns)
    unknown = [column for column in columns if column not in known]
    missing = [column for column in layout.required_columns if column not in columns]
    if repeated:
        rule = "csv.duplicate_column"
        problem = f"the header names {_listed(repeated)} more than once; name each column once"
    elif unknown:
        rule = "csv.unknown_column"
        problem = f"the header names unknown column(s) {_listed(unknown)}; {hint}"
    elif missing:
        rule = "csv.missing_column"
        problem = f"the header {quoted(header)} lacks {', '.join(missing)}; {hint}"
    else:
        return
    raise FormatRejected(Rejection(rule, line, f"line {line}: {problem}"))


def _columns(header: str, separator: str) -> list[str]:
    """The column names of the header line; csv.Error if it is not a line of CSV."""
    # strict: a quote left open would run into the next lines, where polars reads the header
    rows = csv.reader([header], delimiter=separator, strict=True)
    return [column.strip() for column in next(rows, [])]


def _header_text(header: bytes, line: int) -> str:
    """The text of the header line without a byte order mark and line end; csv.not_utf8
    names the first byte that is not UTF-8."""
    skipped = len(UTF8_BOM) if header.startswith(UTF8_BOM) else 0
    try:
        return header[skipped:].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as error:
        position = skipped + error.start
    raise FormatRejected(not_utf8(line, header, header[position]))


def too_few_fields(file: Source, layout: CsvLayout, line: int) -> Rejection | None:
    """csv.too_few_fields when the offending line's fields stop before a column a reading
    cannot leave empty: the row then breaks that column's rule, which would name the value
    it lacks as if it were an empty one. Only read for a file already refused."""
    columns = _columns(_header_text(file.header(), file.header_line), layout.separator)
    text = file.line_numbered(line).decode("utf-8", "replace")
    try:
        fields = next(csv.reader([text], delimiter=layout.separator), [])
    except csv.Error:  # a value beyond csv's field size limit: the line's own rule words it
        return None
    never_empty = {layout.columns[part] for part in NEVER_EMPTY if part in layout.columns}
    lacking = [column for column in columns[len(fields) :] if column in never_empty]
    if not lacking:
        return None
    return Rejection(
        "csv.too_few_fields",
        line,
        f"line {line}: {quoted(text)} has {len(fields)} field(s) but the header names "
        f"{len(columns)} columns, so it has no {', '.join(lacking)}; write a field for every "
        f"column, separated by {_named(layout.separator)}",
    )


def _named(separator: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs"}[separator]


def _listed(values: list[str]) -> str:
    """The values quoted, up to SHOWN_COLUMNS of them: a header may name thousands."""
    shown = ", ".join(quoted(value) for value in values[:SHOWN_COLUMNS])
    if len(values) > SHOWN_COLUMNS:
        shown += f" and {len(values) - SHOWN_COLUMNS:,} more"
    return shown
