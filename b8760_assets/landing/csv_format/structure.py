"""What refuses a file wherever in it the problem is, before any rule on a reading's values:
a carriage return that ends no line, bytes that are not UTF-8, text polars cannot read as CSV.

These break the file itself, not one reading, so the whole file is refused whatever its rows
say. Looking for why polars could not read a file is slow (line by line, in Python): it runs
only on a file already refused.
"""

import codecs
import csv
import io
import re

from b8760_assets.landing.csv_format.source import Source
from b8760_assets.landing.formats import FormatRejected, Rejection, quoted


def check_line_ends(file: Source) -> bool:
    """Every CR is part of a CRLF line end. csv.line_ends names the line of the first that is
    not: polars would run a file of lone CRs into one line, and Python's csv refuse it.

    Returns whether the file holds a double quote from its header on (the lines skipped
    before it hold no values): only then may a value hold a line break.
    """
    has_quotes, offset, cr_at_end, lone_cr = False, 0, False, None
    for chunk in file.chunks():
        if cr_at_end and not chunk.startswith(b"\n"):
            lone_cr = offset - 1
            break
        has_quotes = has_quotes or b'"' in chunk[max(0, file.header_start - offset) :]
        match = re.search(rb"\r(?!\n)", chunk) if b"\r" in chunk else None
        cr_at_end = match is not None and match.start() == len(chunk) - 1
        if match is not None and not cr_at_end:
            lone_cr = offset + match.start()
            break
        offset += len(chunk)
    else:
        if cr_at_end:
            lone_cr = offset - 1
    if lone_cr is None:
        return has_quotes
    line, _ = file.line_holding(lone_cr)
    raise FormatRejected(
        Rejection(
            "csv.line_ends",
            line,
            f"line {line}: holds a carriage return (CR) that is not part of a CRLF line end, "
            "as in a file saved with classic Mac OS line ends; end each line with LF or CRLF "
            "(Unix or Windows line ends), and keep CRs out of values",
        )
    )


def unreadable(file: Source, error: Exception, separator: str) -> Rejection:
    """Why polars could not read the file, found again line by line: this only runs on a file
    already refused, so it may take its time."""
    _check_utf8(file)
    with file.text() as text:
        return _csv_problem(text, file.skip_lines, separator, error)


def _csv_problem(text: io.TextIOBase, skipped: int, separator: str, error: Exception) -> Rejection:
    """The first row of `text` (a file's, from its header on, after `skipped` lines) that
    has more fields than the header, or breaks CSV's quoting."""
    rows = csv.reader(text, delimiter=separator, strict=True)
    width = len(next(rows))
    line = skipped + rows.line_num + 1
    try:
        for fields in rows:
            if len(fields) > width:
                return Rejection(
                    "csv.too_many_fields",
                    line,
                    f"line {line}: {quoted(','.join(fields))} has {len(fields)} fields but the "
                    f"header names {width} columns; quote values that hold a comma, or name "
                    "the column in the header",
                )
            line = skipped + rows.line_num + 1
    except csv.Error as bad:
        return Rejection(
            "csv.bad_quoting",
            line,
            f'line {line}: {bad}; a quoted value starts and ends with " and doubles any " in it',
        )
    first_line = str(error).strip().splitlines()[0]
    return Rejection(
        "csv.unreadable", None, f"the file is not readable as CSV ({first_line}); save it as CSV"
    )


def _check_utf8(file: Source) -> None:
    """csv.not_utf8 for the file's first byte that is not UTF-8, read a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    chunks = file.chunks()
    chunk = next(chunks, b"")
    while True:
        following = next(chunks, None)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=following is None)
        except UnicodeDecodeError as error:
            position = offset - pending + error.start
            line, shown = file.line_holding(position)
            raise FormatRejected(not_utf8(line, shown, error.object[error.start])) from None
        if following is None:
            return
        offset += len(chunk)
        chunk = following


def not_utf8(line: int, shown: bytes, byte: int) -> Rejection:
    return Rejection(
        "csv.not_utf8",
        line,
        f"line {line}: {quoted(shown.decode('utf-8', 'replace'))} holds byte 0x{byte:02X}, "
        "which is not UTF-8 (the file may have been saved as Windows-1252 or Latin-1); "
        "save it as UTF-8",
    )
