"""Who may do what: bucket IAM policies evaluated the way GCS IAM evaluates them.

A request is allowed iff some grant names the principal, applies to the resource (a grant in
the bucket's policy to all of the bucket; one in a managed folder's policy to the objects and
managed folders whose names begin with the folder's, never to the bucket itself), its role
holds the permission, and its condition (if any) is true for the request. Conditions are CEL,
evaluated here by cel-python with what GCS binds: `resource.name` (the object's
`projects/_/buckets/<bucket>/objects/<name>`, a managed folder's
`projects/_/buckets/<bucket>/managedFolders/<folder>/`, or the bucket's
`projects/_/buckets/<bucket>` for bucket-wide permissions such as `storage.objects.list`),
`resource.type`,
`resource.service` and `request.time`. A condition that fails to evaluate grants nothing,
as in GCS.

What this model leaves out: deny policies, grants on the project or above, and group
membership (a principal matches a member only as written, or through allUsers).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import celpy
from celpy.celparser import CELParseError
from celpy.celtypes import BoolType, MapType, StringType, TimestampType
from celpy.evaluation import CELEvalError, CELSyntaxError, CELUnsupportedError

from b8760_assets.access.names import bucket_resource
from b8760_assets.access.policy import (
    LANDING_ROLE_ID,
    LANDING_ROLE_PERMISSIONS,
    OBJECT_CREATOR,
    OBJECT_VIEWER,
    Grant,
)

# The storage permissions of the roles the platform grants, as GCS documents them
# (cloud.google.com/storage/docs/access-control/iam-roles). Their resourcemanager.* and
# orgpolicy.* permissions act on the project and mean nothing on a bucket, so they are left out.
# objectViewer holds storage.objects.list: only the condition keeps a connector from listing.
ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    OBJECT_CREATOR: frozenset(
        {
            "storage.objects.create",
            "storage.managedFolders.create",
            "storage.multipartUploads.create",
            "storage.multipartUploads.abort",
            "storage.multipartUploads.listParts",
        }
    ),
    OBJECT_VIEWER: frozenset(
        {
            "storage.objects.get",
            "storage.objects.list",
            "storage.managedFolders.get",
            "storage.managedFolders.list",
        }
    ),
    # The legacy roles GCS grants the project's owners, editors and viewers on every bucket,
    # so that a live policy can be evaluated as well.
    "roles/storage.legacyBucketReader": frozenset({"storage.buckets.get", "storage.objects.list"}),
    "roles/storage.legacyBucketWriter": frozenset(
        {
            "storage.buckets.get",
            "storage.objects.list",
            "storage.objects.create",
            "storage.objects.delete",
        }
    ),  # fmt: skip
    "roles/storage.legacyBucketOwner": frozenset(
        {
            "storage.buckets.get",
            "storage.buckets.update",
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
            "storage.objects.list",
            "storage.objects.create",
            "storage.objects.delete",
        }
    ),  # fmt: skip
    "roles/storage.legacyObjectReader": frozenset({"storage.objects.get"}),
    "roles/storage.legacyObjectOwner": frozenset(
        {
            "storage.objects.get",
            "storage.objects.update",
            "storage.objects.getIamPolicy",
            "storage.objects.setIamPolicy",
        }
    ),  # fmt: skip
}

# Permissions GCS checks against the bucket, whatever object or prefix the request names.
BUCKET_PERMISSIONS = frozenset(
    {
        "storage.objects.list",
        "storage.managedFolders.list",
        "storage.multipartUploads.list",
        "storage.buckets.get",
        "storage.buckets.update",
        "storage.buckets.getIamPolicy",
        "storage.buckets.setIamPolicy",
    }
)
RESOURCE_PATTERN = re.compile(
    r"projects/_/buckets/(?P<bucket>[^/]+)(/(?P<kind>objects|managedFolders)/(?P<name>.+))?"
)
RESOURCE_TYPES = {"objects": "Object", "managedFolders": "ManagedFolder", None: "Bucket"}
# The platform's custom role, in whichever project defines it.
LANDING_ROLE = re.compile(rf"projects/[^/]+/roles/{re.escape(LANDING_ROLE_ID)}")
# Members that match every caller (allAuthenticatedUsers: every signed-in one, and the
# principals asked about here all are).
EVERYONE = frozenset({"allUsers", "allAuthenticatedUsers"})


@dataclass(frozen=True)
class Request:
    """A principal asking for one permission on one resource (an object or a bucket)."""

    principal: str
    permission: str
    resource: str
    time: datetime | None = None

    def _parts(self, resource: str) -> re.Match[str]:
        match = RESOURCE_PATTERN.fullmatch(resource)
        if match is None:
            raise ValueError(
                f"{resource!r} is not a GCS resource name; write projects/_/buckets/<bucket>, "
                "projects/_/buckets/<bucket>/objects/<name> or "
                "projects/_/buckets/<bucket>/managedFolders/<folder>/"
            )
        return match

    @property
    def bucket(self) -> str:
        return self._parts(self.resource)["bucket"]

    @property
    def checked_kind(self) -> str | None:
        """objects, managedFolders, or None for the bucket: what is checked is that."""
        return self._parts(self.checked_resource)["kind"]

    @property
    def checked_name(self) -> str:
        """The object's or managed folder's name checked; "" for the bucket."""
        return self._parts(self.checked_resource)["name"] or ""

    @property
    def checked_resource(self) -> str:
        """What GCS checks the permission against: the bucket for bucket-wide permissions
        (listing `ext_conn1/` is listing the bucket), else the named resource."""
        if self.permission in BUCKET_PERMISSIONS:
            return bucket_resource(self.bucket)
        return self.resource


@dataclass(frozen=True)
class Decision:
    """Allowed or not, the grant that allowed it, and why in words."""

    allowed: bool
    grant: Grant | None
    reason: str


@cache
def _program(expression: str) -> celpy.Runner:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def _activation(request: Request) -> dict:
    kind = RESOURCE_TYPES[request.checked_kind]
    return {
        "resource": celpy.json_to_cel(
            {
                "name": request.checked_resource,
                "type": f"storage.googleapis.com/{kind}",
                "service": "storage.googleapis.com",
            }
        ),
        "request": MapType({StringType("time"): TimestampType(request.time or datetime.now(UTC))}),
    }


def condition_holds(expression: str, request: Request) -> tuple[bool, str]:
    """Whether a CEL condition is true for the request, and how it came out in words."""
    try:
        value = _program(expression).evaluate(_activation(request))
    except (CELParseError, CELSyntaxError, CELUnsupportedError, CELEvalError) as error:
        why = error.args[0] if error.args else type(error).__name__
        return False, f"the condition does not evaluate ({why}), so it grants nothing"
    if not isinstance(value, BoolType):
        return False, f"the condition is {value!r}, not a boolean, so it grants nothing"
    return bool(value), f"the condition is {str(bool(value)).lower()}"


def role_permissions(role: str) -> frozenset[str]:
    """The storage permissions of a role this model knows (none for another)."""
    if LANDING_ROLE.fullmatch(role):
        return LANDING_ROLE_PERMISSIONS
    return ROLE_PERMISSIONS.get(role, frozenset())


def applies(grant: Grant, request: Request) -> bool:
    """Whether the grant's policy reaches what the request is checked on: a bucket's policy
    all of it, a managed folder's what lies inside the folder (not the bucket, so a folder's
    grant never lists the bucket)."""
    if grant.bucket != request.bucket:
        return False
    return not grant.folder or (
        request.checked_kind is not None and request.checked_name.startswith(grant.folder)
    )


def decide(grants: Iterable[Grant], request: Request) -> Decision:
    """The decision GCS IAM would make on the request, given the bucket's grants and its
    managed folders'."""
    grants = [grant for grant in grants if grant.bucket == request.bucket]
    if not grants:
        return Decision(False, None, f"gs://{request.bucket} has no grant at all")
    named = [grant for grant in grants if grant.member in ({request.principal} | EVERYONE)]
    if not named:
        return Decision(False, None, f"no grant on gs://{request.bucket} names the principal")
    mine = [grant for grant in named if applies(grant, request)]
    if not mine:
        homes = ", ".join(sorted({f"gs://{grant.home}" for grant in named}))
        why = f"the principal's grants are on {homes}, which do not hold {request.checked_resource}"
        return Decision(False, None, why)
    holding = [g for g in mine if request.permission in role_permissions(g.role)]
    reasons = []
    for grant in holding:
        if grant.condition is None:
            return Decision(True, grant, f"{grant.role} is granted without condition")
        holds, how = condition_holds(grant.condition.expression, request)
        if holds:
            return Decision(True, grant, f"{how} for {request.checked_resource}")
        reasons.append(f"{grant.role}: {how} for {request.checked_resource}")
    if not holding:
        roles = ", ".join(sorted({grant.role for grant in mine}))
        reasons.append(f"the principal's roles ({roles}) do not hold {request.permission}")
    unknown = sorted({grant.role for grant in mine if not role_permissions(grant.role)})
    if unknown:
        reasons.append(f"this model does not know {', '.join(unknown)}: check those by hand")
    return Decision(False, None, "; ".join(reasons))
