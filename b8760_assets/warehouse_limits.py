"""BigQuery's limits that the platform's design has to hold, and the partition arithmetic
that checks a job against them before it is sent.

The local stack's emulator enforces none of these: production BigQuery fails the job (or the
table) when one is broken. So the warehouse resource refuses such a job itself, with the
limit's name, and the MERGE of a long range is split into jobs that each stay under it.
Sources: https://cloud.google.com/bigquery/quotas (partitioned tables; DML statements) and
https://cloud.google.com/bigquery/docs/partitioned-tables (the partitioned range).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from google.cloud import bigquery

MAX_PARTITIONS_PER_TABLE = 10_000
MAX_PARTITIONS_PER_JOB = 4_000  # partitions one load, query or DML job may modify
MAX_RUNNING_DML_PER_TABLE = 2  # mutating DML statements running at once on one table
MAX_QUEUED_DML_PER_TABLE = 20  # and waiting; more fail

# Time-unit column partitioning gives a partition only to times in this range; the rest share
# the table's __UNPARTITIONED__ partition (and nulls its __NULL__ one).
PARTITIONED_FROM = datetime(1960, 1, 1, tzinfo=UTC)
PARTITIONED_UNTIL = datetime(2160, 1, 1, tzinfo=UTC)

Unit = Literal["HOUR", "DAY", "MONTH", "YEAR"]


class WarehouseLimitExceeded(Exception):
    """A job or table that production BigQuery would refuse; the message names the limit."""


@dataclass(frozen=True)
class TimePartitioning:
    """A table partitioned on a TIMESTAMP column by hour, day, month or year."""

    column: str
    unit: Unit

    def as_bigquery(self) -> bigquery.TimePartitioning:
        return bigquery.TimePartitioning(type_=self.unit, field=self.column)

    def describes(self, table: bigquery.Table) -> bool:
        """Whether an existing table is partitioned so."""
        existing = table.time_partitioning
        return existing is not None and (existing.type_, existing.field) == (
            self.unit,
            self.column,
        )

    def partitions(self, first: datetime, last: datetime) -> int:
        """How many partitions rows with times from first to last (both included) may fall
        in: at most one per unit in the partitioned range, one for all the times outside it."""
        inside_first, inside_last = max(first, PARTITIONED_FROM), min(last, _before_until())
        inside = (
            self._index(inside_last) - self._index(inside_first) + 1
            if inside_first <= inside_last
            else 0
        )
        outside = first < PARTITIONED_FROM or last >= PARTITIONED_UNTIL
        return inside + outside

    def spans(self, first: datetime, last: datetime) -> Iterator[tuple[datetime, datetime]]:
        """[start, end) ranges that together hold every time from first to last, each in at
        most MAX_PARTITIONS_PER_JOB partitions: one job each stays under the per-job limit."""
        after_last = last + timedelta(microseconds=1)
        start = first
        while start <= last:
            if start < PARTITIONED_FROM:  # the partition of times outside the range, and then
                end = self._start_of(MAX_PARTITIONS_PER_JOB - 1)
            elif start < PARTITIONED_UNTIL:
                end = self._start_of(self._index(start) + MAX_PARTITIONS_PER_JOB)
            else:
                end = after_last
            if end >= PARTITIONED_UNTIL and self.partitions(start, last) <= MAX_PARTITIONS_PER_JOB:
                end = after_last  # what is left fits, the times past the range included
            end = min(end, after_last)
            yield start, end
            start = end

    def _index(self, moment: datetime) -> int:
        """The partition's number, counted in units from PARTITIONED_FROM."""
        moment = moment.astimezone(UTC)
        if self.unit == "YEAR":
            return moment.year - PARTITIONED_FROM.year
        if self.unit == "MONTH":
            return (moment.year - PARTITIONED_FROM.year) * 12 + moment.month - 1
        size = timedelta(hours=1) if self.unit == "HOUR" else timedelta(days=1)
        return (moment - PARTITIONED_FROM) // size

    def _start_of(self, index: int) -> datetime:
        """When partition `index` starts (PARTITIONED_UNTIL for any past the range)."""
        if self.unit in ("YEAR", "MONTH"):
            months = index * (12 if self.unit == "YEAR" else 1)
            year = PARTITIONED_FROM.year + months // 12
            if year >= PARTITIONED_UNTIL.year:
                return PARTITIONED_UNTIL
            return datetime(year, months % 12 + 1, 1, tzinfo=UTC)
        size = timedelta(hours=1) if self.unit == "HOUR" else timedelta(days=1)
        return min(PARTITIONED_FROM + index * size, PARTITIONED_UNTIL)


def _before_until() -> datetime:
    return PARTITIONED_UNTIL - timedelta(microseconds=1)
