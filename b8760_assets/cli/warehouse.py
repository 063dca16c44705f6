"""`b8760 warehouse query` and `migrate`: the configured warehouse (the local emulator by
default)."""

import json

import click

from b8760_assets import settings
from b8760_assets.cli.messages import ErrorsAsMessages
from b8760_assets.readings_table import migrate_readings_table
from b8760_assets.resources import warehouse_resource
from b8760_assets.warehouse import (
    WarehouseLayoutMismatch,
    WarehouseSchemaMismatch,
    WarehouseUnavailable,
)
from b8760_assets.warehouse_limits import WarehouseLimitExceeded


class WarehouseErrorsAsMessages(ErrorsAsMessages):
    """A query BigQuery refuses, or a warehouse that does not answer: one line, exit 1."""

    shown = (
        WarehouseUnavailable,
        WarehouseSchemaMismatch,
        WarehouseLayoutMismatch,
        WarehouseLimitExceeded,
    )


@click.group(cls=WarehouseErrorsAsMessages)
def warehouse() -> None:
    """The warehouse (BigQuery; the local bqemulator with no GCP project)."""


@warehouse.command()
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row, for scripts.")
def query(sql: str, as_json: bool) -> None:
    """Run SQL; tables are found in the platform's dataset without qualification.

    b8760 warehouse query "SELECT connector, COUNT(*) AS n FROM readings GROUP BY connector"
    """
    rows = warehouse_resource(project=settings.gcp_project()).query(sql)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    click.echo(table(rows))


@warehouse.command()
def migrate() -> None:
    """Copy `readings` into the platform's layout (partitioned by month of the interval
    start), when an earlier version made it otherwise; safe to run again if it stops.

    Stop the landing-zone sensor first: a run's MERGE meanwhile would fail on the missing
    table and be retried. Costs a copy of the table (docs/warehouse.md).
    """
    migrate_readings_table(warehouse_resource(project=settings.gcp_project()), log=click.echo)


def table(rows: list[dict]) -> str:
    """Rows as an aligned text table, the way a person reads a query result."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[str(c) for c in columns]] + [
        ["" if v is None else str(v) for v in r.values()] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"
