"""Completeness pictures: meters × local days coloured by the share of expected intervals
present (completeness.py), days with a failed check marked. Markdown for a materialization's
metadata (the Dagster UI renders it; capped to the worst meters), and a self-contained HTML
page for `b8760 report` (every meter, no script, no file beside it).
"""

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from b8760_assets.completeness import DAY, EXPECTED, PRESENT, SHARE
from b8760_assets.readings_schema import METER_ID

# Meters a markdown picture shows, the least complete first; the rest are counted.
MARKDOWN_METERS = 20
CHECK_MARK = "✖"
TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class Band:
    """A colour of the picture: the shares at least `least` (and, for `none`, exactly 0)."""

    least: float
    label: str
    square: str
    colour: str


BANDS = (
    Band(1.0, "complete", "🟩", "#2e7d32"),
    Band(0.9, "90 % or more", "🟨", "#f9a825"),
    Band(math.ulp(0.0), "some", "🟧", "#ef6c00"),
    Band(0.0, "none", "🟥", "#c62828"),
)


@dataclass(frozen=True)
class Picture:
    """What a picture shows: the connector's completeness table over [start, end), and the
    arrival hours of its failed checks (failed_checks.py), placed in the connector's days."""

    connector: str
    timezone: str
    start: datetime
    end: datetime
    table: pl.DataFrame
    failed: Mapping[str, Sequence[datetime]]

    @property
    def days(self) -> list[date]:
        return sorted(set(self.table[DAY]))

    def meters(self) -> pl.DataFrame:
        """Each meter's share over the whole range, the least complete first."""
        return (
            self.table.group_by(METER_ID.name)
            .agg(pl.col(PRESENT).sum(), pl.col(EXPECTED).sum())
            .with_columns(share=pl.col(PRESENT) / pl.col(EXPECTED))
            .sort(SHARE, METER_ID.name)
        )

    def cells(self) -> dict[tuple[str, date], tuple[int, int, float]]:
        """(meter, day) → (present, expected, share)."""
        return {
            (meter_id, day): (present, expected, share)
            for meter_id, day, present, expected, share in self.table.iter_rows()
        }

    def failed_days(self) -> dict[date, list[str]]:
        """The checks that failed in an arrival hour of each day (the connector's time zone)."""
        zone = ZoneInfo(self.timezone)
        days: dict[date, list[str]] = {}
        for check, hours in self.failed.items():
            for day in sorted({hour.astimezone(zone).date() for hour in hours}):
                days.setdefault(day, []).append(check)
        return days

    @property
    def summary(self) -> str:
        present, expected = self.table.select(pl.sum(PRESENT), pl.sum(EXPECTED)).row(0)
        share = percent(present / expected) if expected else "none"
        return (
            f"{self.table[METER_ID.name].n_unique()} meter(s), {len(self.days)} day(s), "
            f"{present} of {expected} expected intervals present ({share}), "
            f"{len(self.failed)} check(s) failed"
        )

    @property
    def title(self) -> str:
        return (
            f"{self.connector}: share of expected intervals present, per meter and local day, "
            f"{self.start.strftime(TIME_FORMAT)} to {self.end.strftime(TIME_FORMAT)}"
        )


def band(share: float) -> Band:
    return next(each for each in BANDS if share >= each.least)


def percent(share: float) -> str:
    """Rounded down, so that only a complete day reads 100 %."""
    return f"{math.floor(share * 100)} %"


def legend_text() -> str:
    squares = " · ".join(f"{each.square} {each.label}" for each in BANDS)
    return f"{squares} · {CHECK_MARK} a check failed in an arrival hour of that day"


def failures_text(picture: Picture) -> list[str]:
    """One line per failed check: its name and the arrival hours it failed in."""
    return [
        f"{CHECK_MARK} {check}: failed in {len(hours)} arrival hour(s): "
        + ", ".join(hour.strftime(TIME_FORMAT) for hour in hours)
        for check, hours in picture.failed.items()
    ]


def markdown(picture: Picture, meters: int = MARKDOWN_METERS) -> str:
    """The picture as a markdown table, the `meters` least complete meters and a count of the
    rest, for a materialization's metadata."""
    days, cells, checks = picture.days, picture.cells(), picture.failed_days()
    ranked = picture.meters()
    lines = [
        f"**{picture.title}**",
        "",
        "| meter | all | " + " | ".join(day.isoformat() for day in days) + " |",
        "| --- | --- |" + " --- |" * len(days),
    ]
    for meter_id, _, _, share in ranked.head(meters).iter_rows():
        row = [
            f"{band(cells[meter_id, day][2]).square} {percent(cells[meter_id, day][2])}"
            if (meter_id, day) in cells
            else ""
            for day in days
        ]
        lines.append(f"| {meter_id} | {percent(share)} | " + " | ".join(row) + " |")
    if checks:
        marks = [f"{CHECK_MARK} " + ", ".join(checks[day]) if day in checks else "" for day in days]
        lines.append("| checks | | " + " | ".join(marks) + " |")
    rest = ranked.slice(meters)
    if rest.height:
        least = percent(rest.select(pl.min(SHARE)).item())
        lines += ["", f"… and {rest.height} more meter(s), each {least} or more."]
    return "\n".join([*lines, "", legend_text(), "", *failures_text(picture)]).rstrip() + "\n"


STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { padding: 2px 4px; font-size: 12px; text-align: center; }
th.meter, td.meter { text-align: left; white-space: nowrap; }
td.cell { width: 2.2em; color: white; }
td.failed { color: #c62828; font-weight: bold; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 4px; color: white; }
"""


def _cell(meter_id: str, day: date, cell: tuple[int, int, float] | None) -> str:
    if cell is None:
        return "<td></td>"
    present, expected, share = cell
    tip = f"{meter_id} {day.isoformat()}: {present} of {expected} intervals ({percent(share)})"
    return (
        f'<td class="cell" style="background:{band(share).colour}" '
        f'title="{html.escape(tip)}">{math.floor(share * 100)}</td>'
    )


def html_page(picture: Picture) -> str:
    """The picture as a self-contained HTML page: every meter, a tooltip per cell, a legend."""
    days, cells, checks = picture.days, picture.cells(), picture.failed_days()
    header = "".join(f"<th>{day.strftime('%m-%d')}</th>" for day in days)
    rows = []
    for meter_id, present, expected, share in picture.meters().iter_rows():
        cells_html = "".join(_cell(meter_id, day, cells.get((meter_id, day))) for day in days)
        rows.append(
            f'<tr><td class="meter">{html.escape(meter_id)}</td>'
            f'<td title="{present} of {expected}">{percent(share)}</td>{cells_html}</tr>'
        )
    marks = "".join(
        f'<td class="failed" title="{html.escape(", ".join(checks[day]))}">{CHECK_MARK}</td>'
        if day in checks
        else "<td></td>"
        for day in days
    )
    rows.append(f'<tr><td class="meter">checks</td><td></td>{marks}</tr>')
    legend = "".join(
        f'<span style="background:{each.colour}">{html.escape(each.label)}</span>' for each in BANDS
    )
    failures = "".join(f"<li>{html.escape(line)}</li>" for line in failures_text(picture))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(picture.title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(picture.connector)}</h1>
<p>{html.escape(picture.title)}: {html.escape(picture.summary)}.</p>
<p>A cell is the meter's local day (its time zone); the checks row marks the days (in
{html.escape(picture.timezone)}) with an arrival hour whose check failed.</p>
<p class="legend">{legend} <b style="color:#c62828">{CHECK_MARK}</b> a check failed</p>
<table>
<tr><th class="meter">meter</th><th>all</th>{header}</tr>
{chr(10).join(rows)}
</table>
<h2>Failed checks</h2>
<ul>{failures or "<li>none</li>"}</ul>
</body></html>
"""
