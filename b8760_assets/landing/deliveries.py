"""Late connectors: a connector's arrival hours without a file since its last one, against the
delivery cadence its properties.xml expects (`delivery.cadence`, `delivery.grace.hours`).

A connector that stops delivering never runs (the landing-zone sensor requests runs only for
files), so nothing of its chain can say it is late: a check on its raw_landing_files, run
hourly for every connector with a cadence by the schedule here, names the quiet hours. An
hour counts as delivered when its run took in a file, accepted (raw/<hour>/) or rejected
(rejected/<hour>/): a connector sending bad files is delivering, and the rejected-files check
says so. No Dagster `FreshnessPolicy`: the landing-zone sensor records a quiet hour's assets
as materialized (files: 0), so every asset would look fresh; the check reads the files.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from b8760_assets.config import ConnectorProperties
from b8760_assets.landing.assets import raw_landing_files_key
from b8760_assets.landing.intake import archived_hours
from b8760_assets.layout import ConnectorLayout, hour_segment
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.storage import StorageResource

DELIVERY_CHECK = "delivered_on_cadence"
DELIVERIES_CHECKS = "connector_deliveries"
DELIVERIES_JOB = "connector_deliveries_job"
DELIVERIES_SCHEDULE = "connector_deliveries_schedule"
# Past minute 20 the landing-zone sensor (a tick every 5 minutes) has taken in the last hour.
DELIVERIES_CRON = "20 * * * *"
# The quiet hours of a late connector are counted back at most this far (31 days): a connector
# silent for longer is reported as silent since then, at the cost of at most 31 listings of a
# day's folders, not of its whole history.
LOOKBACK = timedelta(days=31)
LISTED_AT_ONCE = timedelta(days=1)


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    """The hours first..last, none if last is before first."""
    return [first + n * HOUR for n in range(max(0, (last - first) // HOUR + 1))]


def allowed_quiet_hours(connector: ConnectorProperties) -> int:
    """The arrival hours in a row without a file that are still on time: a cadence of every
    24 hours allows 23 between two files, and the grace hours on top."""
    cadence = connector.cadence_hours
    if cadence is None:
        raise ValueError(f"{connector.name} expects no delivery cadence")
    return cadence - 1 + connector.delivery_grace_hours


@dataclass(frozen=True)
class QuietHours:
    """A connector's arrival hours from the one after its last file (or from the first hour
    looked at) to the last complete hour."""

    connector: ConnectorProperties
    last_delivery: datetime | None  # None: no file in the hours looked at
    first: datetime
    last: datetime

    @property
    def hours(self) -> list[datetime]:
        return hours_between(self.first, self.last)

    @property
    def late(self) -> bool:
        return len(self.hours) > allowed_quiet_hours(self.connector)

    def describe(self) -> str:
        connector, hours = self.connector, self.hours
        expected = (
            f"its cadence ({connector.delivery_cadence}, {connector.delivery_grace_hours} grace "
            f"hour(s)) allows {allowed_quiet_hours(connector)} in a row"
        )
        if not hours:
            return f"{connector.name} delivered a file in the last complete hour"
        since = (
            f"since its last file, in the hour {hour_segment(self.last_delivery)}"
            if self.last_delivery
            else "in every hour looked at"
        )
        return (
            f"{connector.name}: no file in {len(hours)} arrival hour(s), "
            f"{hour_segment(hours[0])} to {hour_segment(hours[-1])}, {since}; {expected}"
        )


def quiet_hours(
    connector: ConnectorProperties, delivered: datetime | None, first: datetime, last: datetime
) -> QuietHours:
    """The quiet hours up to `last` of a connector whose latest delivery (if any) in the hours
    first..last was in the hour `delivered`."""
    return QuietHours(connector, delivered, delivered + HOUR if delivered else first, last)


def delivery_hours(
    storage: StorageResource, layout: ConnectorLayout, first: datetime, last: datetime
) -> set[datetime]:
    """The arrival hours first..last whose run took in a file, accepted or rejected: one
    listing of the hours' archive folders and one of their quarantine folders."""
    accepted = archived_hours(storage, layout, hours_between(first, last))[1]
    quarantined = storage.list(
        layout.bucket,
        layout.rejected_prefix,
        start_offset=layout.quarantine_folder(first),
        end_offset=layout.quarantine_folder(last + HOUR),
    )
    rejected = {layout.quarantined_hour(each.name) for each in quarantined}
    return accepted | {hour for hour in rejected if hour is not None}


def last_delivery(
    storage: StorageResource, layout: ConnectorLayout, first: datetime, last: datetime
) -> datetime | None:
    """The latest of the hours first..last that took in a file, looked for a day at a time
    from `last` back, so that a connector on time costs one day's listings."""
    end = last
    while end >= first:
        start = max(first, end - LISTED_AT_ONCE + HOUR)
        if found := delivery_hours(storage, layout, start, end):
            return max(found)
        end = start - HOUR
    return None


def connector_quiet_hours(
    storage: StorageResource, layout: ConnectorLayout, as_of: datetime
) -> QuietHours:
    """The connector's quiet hours up to the last hour complete at `as_of`."""
    last = floor_hour(as_of) - HOUR
    first = max(layout.connector.start_hour, last - LOOKBACK + HOUR)
    return quiet_hours(layout.connector, last_delivery(storage, layout, first, last), first, last)


def delivery_check_result(layout: ConnectorLayout, quiet: QuietHours) -> dg.AssetCheckResult:
    """A warning, not an error: nothing is lost while a connector is quiet."""
    return dg.AssetCheckResult(
        asset_key=raw_landing_files_key(layout),
        check_name=DELIVERY_CHECK,
        passed=not quiet.late,
        severity=dg.AssetCheckSeverity.WARN,
        description=quiet.describe(),
        metadata={
            "hours_missing": len(quiet.hours),
            "hours_allowed": allowed_quiet_hours(quiet.connector),
            "last_delivery_hour": quiet.last_delivery and hour_segment(quiet.last_delivery),
            "missing_hours": [hour_segment(hour) for hour in quiet.hours],
        },
    )


class DeliveryCheckConfig(dg.Config):
    """The moment the deliveries are checked as of (ISO 8601), the schedule's tick; now if
    unset."""

    as_of: str | None = None


def build_delivery_checks(layouts: Sequence[ConnectorLayout]) -> list[dg.AssetChecksDefinition]:
    """The delivery check of every connector with a cadence, in one op (a run of 1,500 checks
    is one step, not 1,500), each connector's listings in parallel; none without a cadence."""
    expected = {
        dg.AssetCheckKey(raw_landing_files_key(layout), DELIVERY_CHECK): layout
        for layout in layouts
        if layout.connector.cadence_hours is not None
    }
    if not expected:
        return []

    @dg.multi_asset_check(
        name=DELIVERIES_CHECKS,
        specs=[
            dg.AssetCheckSpec(
                DELIVERY_CHECK,
                asset=key.asset_key,
                description=(
                    f"{layout.connector.name} delivered a file in the last "
                    f"{allowed_quiet_hours(layout.connector) + 1} arrival hours (its cadence: "
                    f"{layout.connector.delivery_cadence}, {layout.connector.delivery_grace_hours}"
                    " grace hour(s))."
                ),
            )
            for key, layout in expected.items()
        ],
        can_subset=True,
    )
    def connector_deliveries(
        context: dg.AssetCheckExecutionContext,
        config: DeliveryCheckConfig,
        storage: StorageResource,
    ) -> Iterable[dg.AssetCheckResult]:
        as_of = datetime.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC)
        selected = [expected[key] for key in expected if key in context.selected_asset_check_keys]
        quiet = storage.in_parallel(
            lambda layout: connector_quiet_hours(storage, layout, as_of), selected
        )
        yield from map(delivery_check_result, selected, quiet)

    return [connector_deliveries]


def build_delivery_schedule(checks: dg.AssetChecksDefinition) -> dg.ScheduleDefinition:
    """Hourly, the delivery checks as of the tick's time (a tick run late still checks the
    hour it was due for)."""

    @dg.schedule(
        name=DELIVERIES_SCHEDULE,
        cron_schedule=DELIVERIES_CRON,
        target=dg.define_asset_job(DELIVERIES_JOB, selection=dg.AssetSelection.checks(checks)),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Each hour, whether every connector with a cadence delivered on time.",
    )
    def connector_deliveries_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        as_of = context.scheduled_execution_time or datetime.now(UTC)
        return dg.RunRequest(
            run_config=dg.RunConfig(
                ops={DELIVERIES_CHECKS: DeliveryCheckConfig(as_of=as_of.isoformat())}
            )
        )

    return connector_deliveries_schedule
