"""Participants' rows of the warehouse: a dataset of views per participant, authorized on
the platform's dataset.

BigQuery grants reading per dataset (or table), never per row, so a participant given
`readings` would read every participant's readings. Each participant gets a dataset
`<dataset>_<participant>` holding views `readings` and `meters` of its own rows; its group
and its download account may read that dataset only, and the platform's dataset authorizes
the views, which read the tables for them. (Row access policies would filter in place, but
the emulator ignores them; views filter on the local stack as in BigQuery.)

Access entries are the REST API's JSON (`{"role": "READER", "groupByEmail": ...}`,
`{"view": {"projectId", "datasetId", "tableId"}}`), as bucket policies are in policy.py.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from b8760_assets.access.names import (
    UnsafeName,
    participant_account_email,
    participant_account_member,
    participant_member,
)
from b8760_assets.access.policy import AccessScope
from b8760_assets.config.values import NAME_PATTERN
from b8760_assets.meter_registry import METERS_SCHEMA, METERS_TABLE
from b8760_assets.readings_schema import NAMES as READINGS_COLUMNS
from b8760_assets.readings_table import READINGS_TABLE
from b8760_assets.warehouse import AccessChange, WarehouseResource

PARTICIPANT_COLUMN = "participant"
# The tables a participant sees its rows of, with the columns its views show.
VIEWED_COLUMNS: Mapping[str, list[str]] = {
    READINGS_TABLE: list(READINGS_COLUMNS),
    METERS_TABLE: [field.name for field in METERS_SCHEMA],
}
# What BigQuery puts in every dataset's access for the project's owners, writers, readers.
PROJECT_GROUPS = frozenset({"projectOwners", "projectWriters", "projectReaders"})
PUBLIC_GROUPS = frozenset({"allAuthenticatedUsers"})

MISSING_VIEW = "missing view"
VIEW_DRIFT = "view drift"
MISSING_ACCESS = "missing access"
UNEXPECTED_ACCESS = "unexpected access"
SEES_EVERYONE = "reads every participant's rows"
# What `access apply` fixes; the rest are taken away by hand, as in the buckets' audit.
APPLY_FIXES = frozenset({MISSING_VIEW, VIEW_DRIFT, MISSING_ACCESS})

EntryEdit = Callable[[list[dict]], list[dict]]


def view_dataset(dataset: str, participant: str) -> str:
    """The participant's dataset of views: `b8760_participant_1`."""
    if not NAME_PATTERN.fullmatch(participant):
        raise UnsafeName(f"{participant!r} is not a participant name; it cannot name a dataset")
    return f"{dataset}_{participant}"


def view_sql(warehouse: WarehouseResource, table: str, participant: str) -> str:
    """The view of one table's rows of the participant (the name is a safe SQL literal:
    view_dataset has checked it)."""
    view_dataset(warehouse.dataset, participant)
    columns = ", ".join(VIEWED_COLUMNS[table])
    source = f"{warehouse.project_id}.{warehouse.dataset}.{table}"
    return f"SELECT {columns} FROM `{source}` WHERE {PARTICIPANT_COLUMN} = '{participant}'"


def group_reader(participant: str, scope: AccessScope) -> dict:
    group = participant_member(participant, scope.group_domain).removeprefix("group:")
    return {"role": "READER", "groupByEmail": group}


def account_reader(participant: str, scope: AccessScope) -> dict:
    """The download account's entry (service accounts are users to a dataset's access)."""
    return {"role": "READER", "userByEmail": participant_account_email(participant, scope.project)}


def readers(participant: str, scope: AccessScope, with_account: bool) -> list[dict]:
    """Who may read the participant's views: its group, and its download account if made."""
    account = [account_reader(participant, scope)] if with_account else []
    return [group_reader(participant, scope), *account]


def authorizations(warehouse: WarehouseResource, participants: Iterable[str]) -> list[dict]:
    """The platform's dataset's entries that let each participant's views read it."""
    return [
        {
            "view": {
                "projectId": warehouse.project_id,
                "datasetId": view_dataset(warehouse.dataset, participant),
                "tableId": table,
            }
        }
        for participant in participants
        for table in VIEWED_COLUMNS
    ]


def adding_entries(entries: list[dict]) -> EntryEdit:
    """An edit that adds these entries where missing and keeps every other one."""
    return lambda current: [*current, *(entry for entry in entries if entry not in current)]


def removing_entries(entries: list[dict]) -> EntryEdit:
    return lambda current: [entry for entry in current if entry not in entries]


@dataclass(frozen=True)
class Views:
    """The platform's participants, whose download accounts exist, and where the members
    live: every view and access entry the warehouse should hold follows from these."""

    participants: list[str]
    accounts: list[str]
    scope: AccessScope


def write_views(warehouse: WarehouseResource, views: Views) -> list[str]:
    """Create or replace every participant's views; one line per view, what was done. A view
    of a table the platform has not made yet (before the first run) waits for the next apply."""
    lines = []
    made = set(warehouse.list_tables())
    for participant in views.participants:
        target = view_dataset(warehouse.dataset, participant)
        for table in VIEWED_COLUMNS:
            if table not in made:
                lines.append(
                    f"view {target}.{table}: not yet: {warehouse.table_id(table)} does not "
                    "exist (the platform's first run makes it); apply again after it"
                )
                continue
            done = warehouse.ensure_view(target, table, view_sql(warehouse, table, participant))
            lines.append(f"view {target}.{table}: {done}")
    return lines


def grant_views(warehouse: WarehouseResource, views: Views) -> list[AccessChange]:
    """Add the views' authorizations and their readers' entries where missing."""
    authorized = adding_entries(authorizations(warehouse, views.participants))
    changes = [warehouse.change_dataset_access(warehouse.dataset, authorized)]
    for participant in views.participants:
        entries = readers(participant, views.scope, participant in views.accounts)
        target = view_dataset(warehouse.dataset, participant)
        changes.append(warehouse.change_dataset_access(target, adding_entries(entries)))
    return changes


@dataclass(frozen=True)
class ViewFinding:
    kind: str
    dataset: str
    what: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.dataset}: {self.what}: {self.message}"


def member_of(entry: dict) -> str | None:
    """The entry's member as IAM writes it (`group:...`); None for views and special groups."""
    if "groupByEmail" in entry:
        return f"group:{entry['groupByEmail']}"
    if "userByEmail" in entry:
        email = entry["userByEmail"]
        kind = "serviceAccount" if email.endswith(".gserviceaccount.com") else "user"
        return f"{kind}:{email}"
    return entry.get("iamMember")


def participant_members(participants: Iterable[str], scope: AccessScope) -> set[str]:
    """Every participant's group and download account, whether the account exists or not."""
    return {
        member
        for participant in participants
        for member in (
            participant_member(participant, scope.group_domain),
            participant_account_member(participant, scope.project),
        )
    }


def _stray(entry: dict, wanted: list[dict], members: set[str]) -> bool:
    """An entry of a participant's dataset that is not the platform's: any participant's
    member but as wanted, or anyone but the project's groups and the dataset's owners (the
    platform's operators) reading it."""
    if entry in wanted or entry.get("specialGroup") in PROJECT_GROUPS:
        return False
    return member_of(entry) in members or entry.get("role") != "OWNER"


def _sees_everyone(entry: dict, members: set[str]) -> bool:
    """An entry of the platform's dataset that gives a participant, or the public, every row."""
    return member_of(entry) in members or entry.get("specialGroup") in PUBLIC_GROUPS


def _missing(dataset: str, live: list[dict], wanted: list[dict]) -> list[ViewFinding]:
    return [
        ViewFinding(MISSING_ACCESS, dataset, str(entry), "access apply adds it")
        for entry in wanted
        if entry not in live
    ]


def _view_findings(warehouse: WarehouseResource, participant: str) -> list[ViewFinding]:
    target = view_dataset(warehouse.dataset, participant)
    findings = []
    for table in VIEWED_COLUMNS:
        sql = view_sql(warehouse, table, participant)
        live = warehouse.view_query(target, table)
        if live is None:
            findings.append(ViewFinding(MISSING_VIEW, target, table, "access apply makes it"))
        elif live.strip() != sql:
            findings.append(ViewFinding(VIEW_DRIFT, target, table, f"the platform's is {sql}"))
    return findings


def audit_views(warehouse: WarehouseResource, views: Views) -> list[ViewFinding]:
    """The warehouse against the views and entries the platform wants (BigQuery only: the
    emulator keeps no view SQL and enforces no access)."""
    members = participant_members(views.participants, views.scope)
    findings = []
    for participant in views.participants:
        target = view_dataset(warehouse.dataset, participant)
        live = warehouse.dataset_access(target) or []
        wanted = readers(participant, views.scope, participant in views.accounts)
        findings += _view_findings(warehouse, participant)
        findings += _missing(target, live, wanted)
        findings += [
            ViewFinding(UNEXPECTED_ACCESS, target, str(entry), "not the participant's own")
            for entry in live
            if _stray(entry, wanted, members)
        ]
    source = warehouse.dataset_access(warehouse.dataset) or []
    findings += _missing(warehouse.dataset, source, authorizations(warehouse, views.participants))
    findings += [
        ViewFinding(SEES_EVERYONE, warehouse.dataset, str(entry), "grant it a view instead")
        for entry in source
        if _sees_everyone(entry, members)
    ]
    return findings


def withdraw_reader(
    warehouse: WarehouseResource, participant: str, scope: AccessScope
) -> AccessChange | None:
    """Remove the download account from the participant's views; None without its dataset."""
    target = view_dataset(warehouse.dataset, participant)
    if warehouse.dataset_access(target) is None:
        return None
    return warehouse.change_dataset_access(
        target, removing_entries([account_reader(participant, scope)])
    )
