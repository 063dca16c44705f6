"""Access in GCP, through Google's own clients: bucket IAM policies (google-cloud-storage)
and service accounts with their keys (google-cloud-iam's IAM admin client).

Policies change by read-modify-write: read at version 3 (conditions are invisible below it),
edit the grants, write back with the etag read, so that a concurrent change is never
overwritten (GCS refuses a stale etag and the change is redone on the new policy).
"""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

import google.auth
from google.api_core import exceptions
from google.api_core.iam import Policy as ApiPolicy
from google.cloud import iam_admin_v1, storage

from b8760_assets.access.names import service_account_email
from b8760_assets.access.policy import POLICY_VERSION, Policy, same_grants

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
MAX_POLICY_ATTEMPTS = 5


class AccessError(Exception):
    """A change to IAM that cannot be made; the message says what to do."""


@dataclass(frozen=True)
class PolicyChange:
    """A bucket's policy before and after an edit; written is False when the edit changed
    no grant, in which case nothing was sent."""

    bucket: str
    before: Policy
    after: Policy
    written: bool


class BucketPolicies:
    """Bucket IAM policies, read and written as the GCS JSON API's policy JSON."""

    def __init__(self, client: storage.Client):
        self.client = client

    def get(self, bucket: str) -> Policy:
        policy = self.client.bucket(bucket).get_iam_policy(requested_policy_version=POLICY_VERSION)
        return policy.to_api_repr()

    def change(self, bucket: str, edit: Callable[[str, Policy], Policy]) -> PolicyChange:
        """Apply edit(bucket, policy) to the live policy; retried on a concurrent change."""
        for _ in range(MAX_POLICY_ATTEMPTS):
            before = self.get(bucket)
            after = edit(bucket, before)
            if same_grants(bucket, before, after):
                return PolicyChange(bucket, before, after, written=False)
            try:
                # from_api_repr turns the members it is given into sets: give it a copy.
                policy = ApiPolicy.from_api_repr(copy.deepcopy(after))
                self.client.bucket(bucket).set_iam_policy(policy)
            except (exceptions.PreconditionFailed, exceptions.Conflict):
                continue  # the etag is stale: someone else changed the policy; redo the edit
            except exceptions.BadRequest as error:
                # A service account is known to GCS a little after it is created.
                raise AccessError(
                    f"gs://{bucket}: GCS refused the policy: {error.message}. If a service "
                    "account was just created, run the same command again in a minute: it "
                    "only adds what is still missing"
                ) from error
            return PolicyChange(bucket, before, after, written=True)
        raise AccessError(
            f"gs://{bucket}: the policy changed under every one of {MAX_POLICY_ATTEMPTS} "
            "attempts to write it; run the command again"
        )


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
    """The two IAM APIs the platform's access changes go through."""

    policies: BucketPolicies
    accounts: ServiceAccounts


def connect(project: str) -> Iam:
    """The real APIs, with the process's application-default credentials."""
    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    return Iam(
        BucketPolicies(storage.Client(project=project, credentials=credentials)),
        ServiceAccounts(iam_admin_v1.IAMClient(credentials=credentials), project),
    )
