"""A utility's "Download My Data" CSV, written from the layout docs/configuration.md
documents for it: account lines, a blank line, then
`TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES`, wall times, an inclusive end minute.

The file is written the plain way, a row per interval walking UTC (the reference), so that
the fall day's 01:00 hour comes twice, and the spring day's 02:00 hour never.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

METER = "DMD-1"
# The connector's properties.xml entries for the layout (docs/configuration.md).
LAYOUT = {
    "file.csv.skip.rows": "5",
    "file.csv.meter": METER,
    "file.csv.column.date": "DATE",
    "file.csv.column.start": "START TIME",
    "file.csv.column.end": "END TIME",
    "file.csv.end": "inclusive_minute",
    "file.csv.column.value": "USAGE",
    "file.csv.column.unit": "UNITS",
    "file.csv.ignore.columns": "TYPE,COST,NOTES",
    "file.csv.timestamp.format": "%Y-%m-%d %H:%M",
    "file.csv.dst.repeated": "file_order",
}
ACCOUNT_LINES = (
    "Name,PAT DOE",
    'Address,"12 MAIN ST, SPRINGFIELD NY 10001"',
    "Account Number,1234567890",
    "Service,Service 1",
    "",
)
HEADER = "TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES"
HEADER_LINE = len(ACCOUNT_LINES) + 1
# Both DST days of 2021 in New York: 23 and 25 hours.
SPRING, FALL = date(2021, 3, 14), date(2021, 11, 7)


@dataclass(frozen=True)
class Interval:
    start: datetime  # UTC
    end: datetime
    value: float
    line: int


def intervals(days: Iterable[date], zone: str, minutes: int = 60) -> list[Interval]:
    """The intervals of the local days, in UTC, each with its value and its line."""
    local = ZoneInfo(zone)
    found: list[Interval] = []
    for day in days:
        start = datetime.combine(day, time(), local).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), local).astimezone(UTC)
        while start < end:
            value = round(0.25 + 0.01 * len(found), 2)
            line = HEADER_LINE + 1 + len(found)
            found.append(Interval(start, start + timedelta(minutes=minutes), value, line))
            start += timedelta(minutes=minutes)
    return found


def row(interval: Interval, zone: str) -> str:
    """An interval as the utility writes it: local date, start and the end's last minute."""
    start = interval.start.astimezone(ZoneInfo(zone))
    last_minute = (interval.end - timedelta(minutes=1)).astimezone(ZoneInfo(zone))
    return ",".join(
        [
            "Electric usage",
            f"{start:%Y-%m-%d}",
            f"{start:%H:%M}",
            f"{last_minute:%H:%M}",
            f"{interval.value:.2f}",
            "kWh",
            f"${interval.value * 0.14:.2f}",
            "",
        ]
    )


def download_my_data(rows: Iterable[str]) -> bytes:
    """The file: the account lines, the header, the rows."""
    return "".join(line + "\n" for line in (*ACCOUNT_LINES, HEADER, *rows)).encode()


def file_of(days: Iterable[date], zone: str, minutes: int = 60) -> bytes:
    return download_my_data(row(each, zone) for each in intervals(days, zone, minutes))
