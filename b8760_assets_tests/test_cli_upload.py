"""`b8760 upload`, as an external connector runs it, against the session's fake-gcs-server."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.storage import StorageResource


@pytest.fixture
def landing_bucket(storage: StorageResource, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"landing-{os.urandom(6).hex()}"
    monkeypatch.setenv("B8760_LANDING_BUCKET", name)
    return name


def upload(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["upload", *args])
    return result.exit_code, result.stdout, result.stderr


def test_upload_is_create_only(
    storage: StorageResource, landing_bucket: str, tmp_path: Path
) -> None:
    readings = tmp_path / "readings.csv"
    readings.write_bytes(b"meter_id,start,end,value,unit\n")

    code, out, _ = upload("--connector", "ext_conn1", str(readings))
    assert code == 0
    assert out.startswith(f"gs://{landing_bucket}/ext_conn1/readings.csv (30 bytes, generation ")
    first = storage.stat(landing_bucket, "ext_conn1/readings.csv")

    readings.write_bytes(b"something else\n")
    code, _, err = upload("--connector", "ext_conn1", str(readings))
    assert code == 1
    assert "already exists" in err and "upload it under another name" in err
    assert storage.stat(landing_bucket, "ext_conn1/readings.csv") == first


def test_upload_refuses_names_the_landing_check_would(landing_bucket: str, tmp_path: Path) -> None:
    reserved = tmp_path / "_manifest.json"
    reserved.write_text("{}")
    code, _, err = upload("--connector", "ext_conn1", str(reserved))
    assert code == 1
    assert '"_manifest.json" is the platform\'s' in err


def test_upload_checks_the_connector_name(landing_bucket: str, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    code, _, err = upload("--connector", "../ext_conn1", str(tmp_path / "a.csv"))
    assert code == 2
    assert "not a connector name" in err


def test_upload_with_a_service_account_key(
    storage: StorageResource, landing_bucket: str, tmp_path: Path
) -> None:
    private_key = tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(private_key)],
        check=True, capture_output=True,
    )  # fmt: skip
    key_file = tmp_path / "ext-conn1-key.json"
    key_file.write_text(json.dumps({
        "type": "service_account",
        "project_id": "benchmark8760",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key.read_text(),
        "client_email": "ext-conn1@benchmark8760.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))  # fmt: skip
    (tmp_path / "a.csv").write_text("x")

    code, out, _ = upload(
        "--connector", "ext_conn1", "--key-file", str(key_file), str(tmp_path / "a.csv")
    )

    assert code == 0
    assert out.splitlines()[0] == (
        "as ext-conn1@benchmark8760.iam.gserviceaccount.com"
        " (the local stack does not check credentials)"
    )
    assert storage.stat(landing_bucket, "ext_conn1/a.csv") is not None


def test_upload_refuses_a_file_that_is_not_a_key(landing_bucket: str, tmp_path: Path) -> None:
    (tmp_path / "key.json").write_text('{"type": "authorized_user"}')
    (tmp_path / "a.csv").write_text("x")
    code, _, err = upload("--connector", "ext_conn1", "--key-file", str(tmp_path / "key.json"),
                          str(tmp_path / "a.csv"))  # fmt: skip
    assert code == 2
    assert "not a service-account key file" in err


def test_upload_of_many_files_in_parallel_ends_in_a_count(
    storage: StorageResource, landing_bucket: str, tmp_path: Path
) -> None:
    paths = [tmp_path / f"part-{number:02}.csv" for number in range(24)]
    for path in paths:
        path.write_text(f"{path.name}\n")
    (tmp_path / "_manifest.json").write_text("{}")

    code, out, err = upload(
        "--connector", "ext_conn1", *map(str, paths), str(tmp_path / "_manifest.json")
    )

    assert code == 1
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        f"gs://{landing_bucket}/ext_conn1/{path.name}" for path in paths
    ]  # one line per file, in the order given
    assert lines[-1] == "24 uploaded, 1 refused"
    # The refusal alone: no progress bar where stderr is not a terminal.
    [refusal] = err.splitlines()
    assert refusal.startswith(f"refused {tmp_path / '_manifest.json'}: ")
    for path in paths:
        assert storage.read(landing_bucket, f"ext_conn1/{path.name}").data == path.read_bytes()
