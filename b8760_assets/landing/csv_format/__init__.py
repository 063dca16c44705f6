"""The CSV readings format: a header naming the columns, then one reading per line.

    meter_id,start,end,value,unit,quality
    3,2021-11-08T14:00:00-05:00,2021-11-08T15:00:00-05:00,12.5,kWh,A
    3,2021-11-08T15:00:00,2021-11-08T16:00:00,11.75,,

Lines end with LF or CRLF; a lone CR (the line end of classic Mac OS) refuses the file
(csv.line_ends), as it would otherwise run every reading into one line. Whitespace around a
value or a column name is ignored, and an empty value, quoted ("") or not, is no value: the
connector's unit, no quality flag. A line whose values are all empty holds no reading; a
line with fewer fields than the header leaves the columns it stops before empty, which only
unit and quality may be (csv.too_few_fields).

That is the platform's own layout. A connector's properties.xml may give its files another
(file.csv.*, config/csv_layout.py): other column names, lines before the header, a date and
wall times in a format of its own, an inclusive end minute or one interval length, a fixed
meter or unit, a decimal comma, and what a wall time the zone has twice or never means. A
layout only renames and fills in the parts a reading is read from (parts.py) and reads its
timestamps (wall_times.py): every rule after that is the same for every layout.

A file is checked a column at a time (polars), never a row at a time, and a batch of rows at
a time, so that checking a 1 GB file takes the memory of a few batches, and the verdict is
the one a read of the whole file would give (test_landing_checks_batched.py holds them to
it). The check, a module per concern:

    format.py             CsvFormat: batches checked in threads, verdicts put in file order
    source.py             the file's bytes, in memory or a local file, a chunk at a time
    structure.py          what refuses a file wherever it is: lone CRs, not UTF-8, not CSV
    header.py             the header's columns, and the rejections a header earns
    blocks.py             the file's rows as text, a batch at a time
    batch_check.py        one batch checked on its own
    parts.py              a batch's columns as the parts of a reading, whatever the layout
                          calls them
    parsed_rows.py        text rows as a reading's values, and the readings taken from them
    timestamps.py         start and end as UTC instants by the DST rules, and why one is
                          unusable
    wall_times.py         a layout's wall times, each end found from its start
    repeated_walls.py     a wall time the zone has twice, read in file order across batches
    row_rules.py          the rules on one reading's values, and their rejections
    repeated_readings.py  a reading that repeats an earlier one, batches apart
"""

from b8760_assets.landing.csv_format.format import CsvFormat

__all__ = ["CsvFormat"]
