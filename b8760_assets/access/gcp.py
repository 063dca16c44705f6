"""Access in GCP, through Google's own clients: the IAM policies of buckets and managed
folders (google-cloud-storage), service accounts with their keys and the platform's custom
role (google-cloud-iam's IAM admin client).

Policies change by read-modify-write: read at version 3 (conditions are invisible below it),
edit the grants, write back with the etag read, so that a concurrent change is never
overwritten (GCS refuses a stale etag and the change is redone on the new policy).
"""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import google.auth
from google.api_core import exceptions
from google.api_core.iam import Policy as ApiPolicy
from google.cloud import iam_admin_v1, storage

from b8760_assets.access.names import service_account_email
from b8760_assets.access.policy import (
    LANDING_ROLE_ID,
    LANDING_ROLE_PERMISSIONS,
    LANDING_ROLE_TITLE,
    POLICY_VERSION,
    Policy,
    landing_role,
    same_grants,
    split_home,
)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
MAX_POLICY_ATTEMPTS = 5


class AccessError(Exception):
    """A change to IAM that cannot be made; the message says what to do."""


@dataclass(frozen=True)
class PolicyChange:
    """A policy (of a bucket, or a managed folder: its home) before and after an edit;
    written is False when the edit changed no grant, in which case nothing was sent."""

    home: str
    before: Policy
    after: Policy
    written: bool


class BucketPolicies:
    """The IAM policies of buckets and of their managed folders, read and written as the GCS
    JSON API's policy JSON. A home is a bucket (`landing_zone`) or a managed folder
    (`landing_zone/ext_conn1/`).

    google-cloud-storage has no managed-folder methods: their three calls go through its
    client's own JSON requests (the ones its Bucket.get_iam_policy makes), at the JSON API's
    `managedFolders` paths, with the same credentials, retries and errors.
    """

    def __init__(self, client: storage.Client):
        self.client = client

    def get(self, home: str) -> Policy:
        """The live policy; a managed folder that does not exist yet has none (empty)."""
        bucket, folder = split_home(home)
        if not folder:
            policy = self.client.bucket(bucket).get_iam_policy(
                requested_policy_version=POLICY_VERSION
            )
            return policy.to_api_repr()
        try:
            return self.client._get_resource(
                f"{_folder_path(bucket, folder)}/iam",
                query_params={"optionsRequestedPolicyVersion": POLICY_VERSION},
            )
        except exceptions.NotFound:
            if self.client.bucket(bucket).exists():
                return {}
            raise

    def _set(self, home: str, policy: Policy) -> None:
        bucket, folder = split_home(home)
        if folder:
            self.client._put_resource(f"{_folder_path(bucket, folder)}/iam", policy)
        else:
            # from_api_repr turns the members it is given into sets: give it a copy.
            self.client.bucket(bucket).set_iam_policy(
                ApiPolicy.from_api_repr(copy.deepcopy(policy))
            )

    def create_folder(self, home: str) -> None:
        """Make the managed folder (GCS needs uniform bucket-level access); kept if it exists."""
        bucket, folder = split_home(home)
        try:
            self.client._post_resource(f"/b/{quote(bucket)}/managedFolders", {"name": folder})
        except exceptions.Conflict:
            pass

    def change(self, home: str, edit: Callable[[str, Policy], Policy]) -> PolicyChange:
        """Apply edit(home, policy) to the live policy; retried on a concurrent change. A
        managed folder is made first when the edit grants on one that does not exist."""
        for _ in range(MAX_POLICY_ATTEMPTS):
            before = self.get(home)
            after = edit(home, before)
            if same_grants(home, before, after):
                return PolicyChange(home, before, after, written=False)
            if "etag" not in before:  # a managed folder not made yet
                self.create_folder(home)
                continue
            try:
                self._set(home, after)
            except (exceptions.PreconditionFailed, exceptions.Conflict):
                continue  # the etag is stale: someone else changed the policy; redo the edit
            except exceptions.BadRequest as error:
                # A service account is known to GCS a little after it is created.
                raise AccessError(
                    f"gs://{home}: GCS refused the policy: {error.message}. If a service "
                    "account or the custom role was just created, run the same command again "
                    "in a minute: it only adds what is still missing"
                ) from error
            return PolicyChange(home, before, after, written=True)
        raise AccessError(
            f"gs://{home}: the policy changed under every one of {MAX_POLICY_ATTEMPTS} "
            "attempts to write it; run the command again"
        )


def _folder_path(bucket: str, folder: str) -> str:
    """A managed folder in the JSON API's paths: its name with every `/` escaped."""
    return f"/b/{quote(bucket)}/managedFolders/{quote(folder, safe='')}"


class CustomRoles:
    """The platform's custom role (policy.LANDING_ROLE_ID) in one project: one binding of it
    does what the two predefined roles do, without list."""

    def __init__(self, client: iam_admin_v1.IAMClient, project: str):
        self.client = client
        self.project = project

    @property
    def name(self) -> str:
        return landing_role(self.project)

    def ensure(self) -> str:
        """Make the role, or give it back its permissions; "created", "updated" or "exists"."""
        wanted = sorted(LANDING_ROLE_PERMISSIONS)
        try:
            role = self.client.get_role(request={"name": self.name})
        except exceptions.NotFound:
            self.client.create_role(
                request={
                    "parent": f"projects/{self.project}",
                    "role_id": LANDING_ROLE_ID,
                    "role": iam_admin_v1.Role(
                        title=LANDING_ROLE_TITLE,
                        description="Create objects and read them by name, no list: an "
                        "external connector in its landing folder (b8760 connector onboard)",
                        included_permissions=wanted,
                        stage=iam_admin_v1.Role.RoleLaunchStage.GA,
                    ),
                }
            )
            return "created"
        if role.deleted:
            raise AccessError(
                f"the custom role {self.name} was deleted: bring it back with `gcloud iam roles "
                f"undelete {LANDING_ROLE_ID} --project={self.project}`, then run this again"
            )
        if sorted(role.included_permissions) == wanted:
            return "exists"
        self.client.update_role(
            request={
                "name": self.name,
                "role": iam_admin_v1.Role(included_permissions=wanted),
                "update_mask": {"paths": ["included_permissions"]},
            }
        )
        return "updated"


class ServiceAccounts:
    """The service accounts the platform makes (connectors', participants') and their keys,
    in one project."""

    def __init__(self, client: iam_admin_v1.IAMClient, project: str):
        self.client = client
        self.project = project

    def _name(self, email: str) -> str:
        return f"projects/{self.project}/serviceAccounts/{email}"

    def ensure(self, account_id: str, display_name: str, description: str) -> tuple[str, str]:
        """The account's email and what was done ("created", "enabled" or "exists").

        An account that exists is kept (and enabled again if offboarding disabled it).
        """
        try:
            account = self.client.create_service_account(
                name=f"projects/{self.project}",
                account_id=account_id,
                service_account=iam_admin_v1.ServiceAccount(
                    display_name=display_name, description=description
                ),
            )
            return account.email, "created"
        except exceptions.AlreadyExists:
            email = service_account_email(account_id, self.project)
            account = self.client.get_service_account(name=self._name(email))
        if account.disabled:
            self.client.enable_service_account(request={"name": self._name(email)})
            return email, "enabled"
        return email, "exists"

    def user_keys(self, email: str) -> list[str]:
        """The names of the keys made for the account (not Google's own, system-managed)."""
        response = self.client.list_service_account_keys(
            name=self._name(email),
            key_types=[iam_admin_v1.ListServiceAccountKeysRequest.KeyType.USER_MANAGED],
        )
        return [key.name for key in response.keys]

    def create_key(self, email: str) -> bytes:
        """A new key, as the JSON file `gcloud auth activate-service-account` takes.

        Google keeps only the public half: this is the one moment the file exists.
        """
        key = self.client.create_service_account_key(
            name=self._name(email),
            private_key_type=iam_admin_v1.ServiceAccountPrivateKeyType.TYPE_GOOGLE_CREDENTIALS_FILE,
        )
        try:
            json.loads(key.private_key_data)
        except ValueError as error:
            raise AccessError(f"the new key of {email} is not a JSON key file") from error
        return key.private_key_data

    def state(self, email: str) -> str | None:
        """ "enabled" or "disabled", or None when the project has no such account."""
        try:
            account = self.client.get_service_account(name=self._name(email))
        except exceptions.NotFound:
            return None
        return "disabled" if account.disabled else "enabled"

    def key_name(self, email: str, key_id: str) -> str:
        """The full name of one of the account's keys, from the id `keys list` shows."""
        return f"{self._name(email)}/keys/{key_id}"

    def delete_key(self, name: str) -> bool:
        """Delete a key (it stops working at once); False if there was no such key."""
        try:
            self.client.delete_service_account_key(name=name)
        except exceptions.NotFound:
            return False
        return True

    def disable(self, email: str) -> bool:
        """Disable the account (its keys stop working); False if there is no such account."""
        try:
            self.client.disable_service_account(request={"name": self._name(email)})
        except exceptions.NotFound:
            return False
        return True


@dataclass(frozen=True)
class Iam:
    """The IAM APIs the platform's access changes go through."""

    policies: BucketPolicies
    accounts: ServiceAccounts
    roles: CustomRoles


def iam_of(storage_client: storage.Client, admin: iam_admin_v1.IAMClient, project: str) -> Iam:
    """The platform's IAM access through these two clients, in the project."""
    return Iam(
        BucketPolicies(storage_client),
        ServiceAccounts(admin, project),
        CustomRoles(admin, project),
    )


def connect(project: str) -> Iam:
    """The real APIs, with the process's application-default credentials."""
    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    return iam_of(
        storage.Client(project=project, credentials=credentials),
        iam_admin_v1.IAMClient(credentials=credentials),
        project,
    )
