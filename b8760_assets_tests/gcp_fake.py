"""A recording fake of the GCP APIs that onboarding calls: the one fake the access tests use.

No GCP is reachable here, and fake-gcs-server has no bucket IAM, so the apply path's real
clients talk to this server instead:
- GCS bucket IAM, JSON over HTTP as google-cloud-storage sends it: `GET` and `PUT
  /storage/v1/b/<bucket>/iam`, with etags (a stale one is refused with 412), policy versions
  (conditions are refused below version 3, and hidden from a reader that asks for less), and
  400 for a service account or custom role that does not exist, as GCS answers;
- GCS managed folders the same way: `POST /storage/v1/b/<bucket>/managedFolders` makes one
  (409 if it exists), `GET` and `PUT .../managedFolders/<folder, / escaped>/iam` its policy
  (404 before it is made); `policies` keys them by home, `landing_zone/ext_conn1/`;
- the IAM admin API over gRPC, the only transport google-cloud-iam's IAMClient has:
  service accounts (create, get, enable, disable), their keys (list, create, delete) and
  custom roles (get, create, update).
Every request is recorded with its body, for the tests to assert.
"""

import base64
import itertools
import json
import re
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import iam_admin_v1, storage
from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport
from google.protobuf import empty_pb2

from b8760_assets.access.gcp import Iam, iam_of

IAM_SERVICE = "google.iam.admin.v1.IAM"
BUCKET_PATH = re.compile(
    r"/storage/v1/b/(?P<bucket>[^/]+)"
    r"(?P<folders>/managedFolders(/(?P<folder>[^/]+))?)?(?P<iam>/iam)?"
)
ACCOUNT_NAME = re.compile(r"projects/[^/]+/serviceAccounts/(?P<email>[^/]+)")


def default_policy(project_number: str = "123") -> dict:
    """The policy GCS gives a new bucket: the project's owners, editors and viewers."""
    return {
        "version": 1,
        "bindings": [
            {
                "role": "roles/storage.legacyBucketOwner",
                "members": [f"projectEditor:{project_number}", f"projectOwner:{project_number}"],
            },
            {
                "role": "roles/storage.legacyBucketReader",
                "members": [f"projectViewer:{project_number}"],
            },
        ],
    }


@dataclass(frozen=True)
class Recorded:
    """One request: which API, its method (HTTP verb or RPC), path or resource, JSON body."""

    api: str
    method: str
    path: str
    body: dict | None


@dataclass
class Account:
    email: str
    display_name: str
    description: str
    disabled: bool = False
    keys: list[str] = field(default_factory=list)


class FakeGcp:
    """Bucket policies and service accounts of one project, behind real endpoints."""

    def __init__(self, project: str):
        self.project = project
        self.requests: list[Recorded] = []
        self.policies: dict[str, dict] = {}
        self.accounts: dict[str, Account] = {}
        self.roles: dict[str, iam_admin_v1.Role] = {}
        self._etags = itertools.count(1)
        self._key_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _policy_handler(self))
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._grpc.add_generic_rpc_handlers([_iam_handler(self)])
        self._grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> "FakeGcp":
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._grpc.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None)

    @property
    def storage_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def iam(self) -> Iam:
        """The platform's IAM access, its real clients pointed at this server."""
        client = storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.storage_url},
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{self._grpc_port}")
        admin = iam_admin_v1.IAMClient(transport=IAMGrpcTransport(channel=channel))
        return iam_of(client, admin, self.project)

    def add_bucket(self, bucket: str, policy: dict | None = None) -> None:
        self.policies[bucket] = {**(policy or default_policy()), "etag": self._next_etag()}

    def _next_etag(self) -> str:
        return base64.b64encode(f"etag-{next(self._etags)}".encode()).decode()

    def record(self, api: str, method: str, path: str, body: dict | None) -> None:
        with self._lock:
            self.requests.append(Recorded(api, method, path, body))

    def policy_requests(self, method: str) -> list[Recorded]:
        """The GET or PUT requests of bucket IAM policies, in order."""
        return [
            r
            for r in self.requests
            if r.api == "storage" and r.method == method and urlsplit(r.path).path.endswith("/iam")
        ]

    def iam_requests(self, method: str) -> list[Recorded]:
        """The requests of one IAM admin RPC, e.g. CreateServiceAccount."""
        return [r for r in self.requests if r.api == "iam" and r.method == method]

    # GCS bucket IAM

    def get_bucket(self, bucket: str) -> tuple[int, dict]:
        """Bucket metadata (google-cloud-storage reads it in the background)."""
        if bucket not in self.policies:
            return 404, error_body(404, f"The specified bucket does not exist: {bucket}")
        access = {"uniformBucketLevelAccess": {"enabled": True}}
        return 200, {"kind": "storage#bucket", "name": bucket, "iamConfiguration": access}

    def create_folder(self, bucket: str, body: dict) -> tuple[int, dict]:
        home = f"{bucket}/{body['name']}"
        with self._lock:
            if bucket not in self.policies:
                return 404, error_body(404, f"The specified bucket does not exist: {bucket}")
            if home in self.policies:
                return 409, error_body(409, f"The managed folder {body['name']} already exists")
            self.policies[home] = {"version": 1, "bindings": [], "etag": self._next_etag()}
        return 200, {"kind": "storage#managedFolder", "bucket": bucket, "name": body["name"]}

    def get_policy(self, home: str, version: int) -> tuple[int, dict]:
        policy = self.policies.get(home)
        if policy is None:
            return 404, error_body(
                404, f"The specified bucket or managed folder does not exist: {home}"
            )
        if version < 3 and any("condition" in b for b in policy["bindings"]):
            return 400, error_body(400, "a policy with conditions needs requested version 3")
        bucket, _, folder = home.partition("/")
        resource = f"projects/_/buckets/{bucket}" + (f"/managedFolders/{folder}" if folder else "")
        return 200, {"kind": "storage#policy", "resourceId": resource, **policy}

    def set_policy(self, home: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            current = self.policies.get(home)
            if current is None:
                return 404, error_body(
                    404, f"The specified bucket or managed folder does not exist: {home}"
                )
            if body.get("etag") != current["etag"]:
                return 412, error_body(412, "Precondition Failed: the etag is stale")
            bindings = body.get("bindings", [])
            if any("condition" in b for b in bindings) and body.get("version") != 3:
                return 400, error_body(400, "conditions need policy version 3")
            for member in sorted({m for b in bindings for m in b["members"]}):
                email = member.removeprefix("serviceAccount:")
                if member.startswith("serviceAccount:") and email not in self.accounts:
                    return 400, error_body(400, f"Service account {email} does not exist.")
            for role in sorted({b["role"] for b in bindings}):
                if role.startswith("projects/") and role not in self.roles:
                    return 400, error_body(
                        400, f"Role ({role}) does not exist in the resource's hierarchy."
                    )
            self.policies[home] = {
                "version": body.get("version", 1),
                "bindings": bindings,
                "etag": self._next_etag(),
            }
        return self.get_policy(home, 3)

    # IAM admin

    def account(self, name: str, context: grpc.ServicerContext) -> Account:
        match = ACCOUNT_NAME.fullmatch(name)
        account = self.accounts.get(match["email"]) if match else None
        if account is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Unknown service account {name}")
        return account

    def create_account(self, request, context):
        email = f"{request.account_id}@{self.project}.iam.gserviceaccount.com"
        if email in self.accounts:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Service account {email} already exists")
        account = self.accounts[email] = Account(
            email, request.service_account.display_name, request.service_account.description
        )
        return self._account_message(account)

    def _account_message(self, account: Account) -> iam_admin_v1.ServiceAccount:
        return iam_admin_v1.ServiceAccount(
            name=f"projects/{self.project}/serviceAccounts/{account.email}",
            project_id=self.project,
            email=account.email,
            display_name=account.display_name,
            description=account.description,
            disabled=account.disabled,
        )

    def get_account(self, request, context):
        return self._account_message(self.account(request.name, context))

    def set_disabled(self, disabled: bool) -> Callable:
        def handle(request, context):
            self.account(request.name, context).disabled = disabled
            return empty_pb2.Empty()

        return handle

    def list_keys(self, request, context):
        account = self.account(request.name, context)
        return iam_admin_v1.ListServiceAccountKeysResponse(
            keys=[iam_admin_v1.ServiceAccountKey(name=name) for name in account.keys]
        )

    def create_key(self, request, context):
        account = self.account(request.name, context)
        key_id = f"{next(self._key_ids):040x}"  # never reused, as in IAM
        name = f"{request.name}/keys/{key_id}"
        account.keys.append(name)
        return iam_admin_v1.ServiceAccountKey(
            name=name,
            private_key_type=request.private_key_type,
            private_key_data=json.dumps(_key_file(self.project, account.email, key_id)).encode(),
        )

    def get_role(self, request, context):
        role = self.roles.get(request.name)
        if role is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"The role named {request.name} was not found."
            )
        return role

    def create_role(self, request, context):
        name = f"{request.parent}/roles/{request.role_id}"
        if name in self.roles:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"A role named {request.role_id} exists")
        role = self.roles[name] = iam_admin_v1.Role(request.role, name=name)
        return role

    def update_role(self, request, context):
        role = self.get_role(request, context)
        for field_name in request.update_mask.paths:
            setattr(role, field_name, getattr(request.role, field_name))
        return role

    def delete_key(self, request, context):
        account = self.account(request.name.rsplit("/keys/", 1)[0], context)
        if request.name not in account.keys:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Unknown key {request.name}")
        account.keys.remove(request.name)
        return empty_pb2.Empty()


def error_body(code: int, message: str) -> dict:
    """An error as Google's JSON APIs answer it."""
    return {"error": {"code": code, "message": message, "errors": [{"message": message}]}}


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _key_file(project: str, email: str, key_id: str) -> dict:
    """A service-account key file as Google issues them, with a real RSA key, so that
    google-auth (and `b8760 upload --key-file`) can load it."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def _policy_handler(fake: FakeGcp) -> type[BaseHTTPRequestHandler]:
    class PolicyHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.record("storage", "GET", self.path, None)
            url = urlsplit(self.path)
            match = BUCKET_PATH.fullmatch(url.path)
            if match is None:
                self._answer(404, error_body(404, f"this fake has no {url.path}"))
            elif match["iam"]:
                version = int(parse_qs(url.query).get("optionsRequestedPolicyVersion", ["1"])[0])
                self._answer(*fake.get_policy(_home(match), version))
            elif match["folders"]:
                self._answer(404, error_body(404, f"this fake has no GET {url.path}"))
            else:
                self._answer(*fake.get_bucket(match["bucket"]))

        def do_PUT(self) -> None:
            body = self._body("PUT")
            match = BUCKET_PATH.fullmatch(urlsplit(self.path).path)
            if match is None or not match["iam"]:
                self._answer(404, error_body(404, f"this fake has no PUT {self.path}"))
            else:
                self._answer(*fake.set_policy(_home(match), body))

        def do_POST(self) -> None:
            body = self._body("POST")
            match = BUCKET_PATH.fullmatch(urlsplit(self.path).path)
            if match is None or not match["folders"] or match["folder"] or match["iam"]:
                self._answer(404, error_body(404, f"this fake has no POST {self.path}"))
            else:
                self._answer(*fake.create_folder(match["bucket"], body))

        def _body(self, method: str) -> dict:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.record("storage", method, self.path, body)
            return body

        def _answer(self, status: int, body: dict) -> None:
            send_json(self, status, body)

        def log_message(self, *_: object) -> None:
            pass

    return PolicyHandler


def _home(match: re.Match[str]) -> str:
    """The policy's home a request names: the bucket, or bucket/managed folder/."""
    folder = unquote(match["folder"] or "")
    return f"{match['bucket']}/{folder}" if folder else match["bucket"]


def _iam_handler(fake: FakeGcp) -> grpc.GenericRpcHandler:
    """The IAM admin RPCs onboarding uses, each recorded with its request as JSON."""

    def recorded(method: str, request_type, response_type, handle: Callable):
        def behaviour(request, context):
            body = json.loads(
                request_type.to_json(
                    request,
                    use_integers_for_enums=False,
                    always_print_fields_with_no_presence=False,
                )
            )
            resource = request.name if "name" in request_type.meta.fields else request.parent
            fake.record("iam", method, resource, body)
            return handle(request, context)

        serialize = getattr(response_type, "serialize", None) or response_type.SerializeToString
        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=request_type.deserialize,
            response_serializer=serialize,
        )

    types = iam_admin_v1
    return grpc.method_handlers_generic_handler(
        IAM_SERVICE,
        {
            "CreateServiceAccount": recorded(
                "CreateServiceAccount", types.CreateServiceAccountRequest,
                types.ServiceAccount, fake.create_account,
            ),
            "GetServiceAccount": recorded(
                "GetServiceAccount", types.GetServiceAccountRequest,
                types.ServiceAccount, fake.get_account,
            ),
            "EnableServiceAccount": recorded(
                "EnableServiceAccount", types.EnableServiceAccountRequest,
                empty_pb2.Empty, fake.set_disabled(False),
            ),
            "DisableServiceAccount": recorded(
                "DisableServiceAccount", types.DisableServiceAccountRequest,
                empty_pb2.Empty, fake.set_disabled(True),
            ),
            "ListServiceAccountKeys": recorded(
                "ListServiceAccountKeys", types.ListServiceAccountKeysRequest,
                types.ListServiceAccountKeysResponse, fake.list_keys,
            ),
            "CreateServiceAccountKey": recorded(
                "CreateServiceAccountKey", types.CreateServiceAccountKeyRequest,
                types.ServiceAccountKey, fake.create_key,
            ),
            "GetRole": recorded(
                "GetRole", types.GetRoleRequest, types.Role, fake.get_role,
            ),
            "CreateRole": recorded(
                "CreateRole", types.CreateRoleRequest, types.Role, fake.create_role,
            ),
            "UpdateRole": recorded(
                "UpdateRole", types.UpdateRoleRequest, types.Role, fake.update_role,
            ),
            "DeleteServiceAccountKey": recorded(
                "DeleteServiceAccountKey", types.DeleteServiceAccountKeyRequest,
                empty_pb2.Empty, fake.delete_key,
            ),
        },
    )  # fmt: skip
