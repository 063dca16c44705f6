"""A recording fake of the BigQuery REST calls the participants' views make, beside
gcp_fake.FakeGcp: the emulator keeps no view SQL and enforces no dataset access, so the
GCP path's real client (google-cloud-bigquery, through WarehouseResource) talks to this.

It answers datasets (get, insert, patch with If-Match etags: a stale one is refused with
412) and tables (get, insert, patch) as BigQuery does, a view's SQL included, and records
every request with its body for the tests to assert.
"""

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from b8760_assets.warehouse import WarehouseResource
from b8760_assets_tests.gcp_fake import Recorded, error_body, send_json

PROJECT = "b8760-local"  # what WarehouseResource's client calls its project without GCP
RUNNER = f"b8760-runner@{PROJECT}.iam.gserviceaccount.com"
PATH = re.compile(
    r"/bigquery/v2/projects/(?P<project>[^/]+)/datasets(/(?P<dataset>[^/]+))?"
    r"(?P<tables>/tables(/(?P<table>[^/]+))?)?"
)


def default_access() -> list[dict]:
    """What BigQuery gives a new dataset: the project's groups, and its creator as owner."""
    return [
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"role": "WRITER", "specialGroup": "projectWriters"},
        {"role": "READER", "specialGroup": "projectReaders"},
        {"role": "OWNER", "userByEmail": RUNNER},
    ]


class FakeBigQuery:
    """Datasets with their access entries, and views, behind a real REST endpoint."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.datasets: dict[str, dict] = {}
        self.tables: dict[tuple[str, str], dict] = {}
        self._etags = itertools.count(1)
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))

    def __enter__(self) -> "FakeBigQuery":
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def warehouse(self, dataset: str = "b8760") -> WarehouseResource:
        """The platform's warehouse resource, its real client pointed at this server."""
        url = f"http://127.0.0.1:{self._http.server_address[1]}"
        return WarehouseResource(emulator_url=url, dataset=dataset)

    def add_dataset(self, dataset: str, access: list[dict] | None = None) -> None:
        reference = {"projectId": PROJECT, "datasetId": dataset}
        self.datasets[dataset] = {
            "kind": "bigquery#dataset",
            "id": f"{PROJECT}:{dataset}",
            "datasetReference": reference,
            "location": "US",
            "access": default_access() if access is None else access,
            "etag": self._etag(),
        }

    def add_table(self, dataset: str, table: str) -> None:
        """A table the platform's assets made (its rows do not matter to the views)."""
        reference = {"projectId": PROJECT, "datasetId": dataset, "tableId": table}
        self._insert_table(dataset, {"tableReference": reference})

    def calls(self, method: str, path_end: str = "") -> list[Recorded]:
        """The requests of one verb whose path (query aside) ends so, in order."""
        return [
            r
            for r in self.requests
            if r.method == method and urlsplit(r.path).path.endswith(path_end)
        ]

    def _etag(self) -> str:
        return f'"etag-{next(self._etags)}"'

    def answer(
        self, method: str, match: re.Match, body: dict | None, if_match: str | None
    ) -> tuple[int, dict]:
        dataset, table = match["dataset"], match["table"]
        with self._lock:
            if dataset is None and method == "POST":
                return self._insert_dataset(body or {})
            if dataset not in self.datasets:
                return 404, error_body(404, f"Not found: Dataset {PROJECT}:{dataset}")
            if match["tables"] is None:
                return self._dataset(method, dataset, body or {}, if_match)
            if table is None and method == "POST":
                return self._insert_table(dataset, body or {})
            if table is None:
                return 200, {"tables": [t for (d, _), t in self.tables.items() if d == dataset]}
            return self._table(method, dataset, table, body or {})

    def _insert_dataset(self, body: dict) -> tuple[int, dict]:
        dataset = body["datasetReference"]["datasetId"]
        if dataset in self.datasets:
            return 409, error_body(409, f"Already Exists: Dataset {PROJECT}:{dataset}")
        self.add_dataset(dataset, body.get("access"))
        return 200, self.datasets[dataset]

    def _dataset(
        self, method: str, dataset: str, body: dict, if_match: str | None
    ) -> tuple[int, dict]:
        current = self.datasets[dataset]
        if method == "PATCH":
            if if_match is not None and if_match != current["etag"]:
                return 412, error_body(412, "Precondition check failed.")
            current.update({**body, "etag": self._etag()})
        return 200, current

    def _insert_table(self, dataset: str, body: dict) -> tuple[int, dict]:
        table = body["tableReference"]["tableId"]
        if (dataset, table) in self.tables:
            return 409, error_body(409, f"Already Exists: Table {PROJECT}:{dataset}.{table}")
        kind = "VIEW" if "view" in body else "TABLE"
        self.tables[dataset, table] = {**body, "type": kind, "etag": self._etag()}
        return 200, self.tables[dataset, table]

    def _table(self, method: str, dataset: str, table: str, body: dict) -> tuple[int, dict]:
        current = self.tables.get((dataset, table))
        if current is None:
            return 404, error_body(404, f"Not found: Table {PROJECT}:{dataset}.{table}")
        if method == "PATCH":
            current.update({**body, "etag": self._etag()})
        return 200, current


def _handler(fake: FakeBigQuery) -> type[BaseHTTPRequestHandler]:
    class BigQueryHandler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append(Recorded("bigquery", method, self.path, body))
            match = PATH.fullmatch(urlsplit(self.path).path)
            if match is None:
                status, answer = 404, error_body(404, f"this fake has no {self.path}")
            else:
                status, answer = fake.answer(method, match, body, self.headers.get("If-Match"))
            send_json(self, status, answer)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def log_message(self, *_: object) -> None:
            pass

    return BigQueryHandler
