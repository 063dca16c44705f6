"""The local stack with its real emulators, each test module on a state folder and ports of
its own, so a developer's running stack is never touched."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from b8760_assets import local_stack
from b8760_assets.cli import main
from b8760_assets.local_stack import LOCAL_PROJECT, SERVICES, LocalStackError
from b8760_assets_tests.stack import PORT_VARS, isolated_stack

URL_PORT_VAR = {"storage": "B8760_STORAGE_PORT", "bigquery": "B8760_BIGQUERY_PORT"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    with isolated_stack(tmp_path_factory.mktemp("stack")) as ports:
        yield ports


def emulator_pids(service_folder: Path) -> list[int]:
    """Every process whose command line names the service's folder, ours or not."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if f"{service_folder}/".encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def service_status(name: str) -> local_stack.ServiceStatus:
    return next(status for status in local_stack.status() if status.name == name)


def service_folder(name: str) -> Path:
    return Path(os.environ["B8760_STATE_DIR"]) / name


def client_options(url: str) -> dict:
    return {
        "project": LOCAL_PROJECT,
        "credentials": AnonymousCredentials(),
        "client_options": {"api_endpoint": url},
    }


@pytest.mark.parametrize("name", SERVICES)
def test_ensure_running_starts_one_process_and_reuses_it(stack, name):
    url = local_stack.ensure_running(name)

    assert url == f"http://127.0.0.1:{stack[URL_PORT_VAR[name]]}"
    first = service_status(name)
    assert first.running and first.pid is not None
    assert local_stack.ensure_running(name) == url
    assert service_status(name).pid == first.pid
    assert emulator_pids(service_folder(name)) == [first.pid]


def test_storage_links_and_uploads_come_back_to_the_http_port(stack):
    url = local_stack.ensure_running("storage")
    bucket = storage.Client(**client_options(url)).create_bucket("participant_1")
    key = "coned/standardized/3/2021-11-08T14:00:00"
    content = b"x" * (600 * 1024)
    bucket.blob(key, chunk_size=256 * 1024).upload_from_string(content)  # chunked: resumable

    for found in (bucket.get_blob(key), *bucket.list_blobs()):
        assert found.media_link.startswith(f"{url}/")
        assert found.download_as_bytes() == content  # from its mediaLink
    with urllib.request.urlopen(f"{url}/participant_1/{key}", timeout=10) as public_url:
        assert public_url.read() == content


def test_restart_keeps_storage_and_bigquery_data(stack):
    gcs = storage.Client(**client_options(local_stack.ensure_running("storage")))
    gcs.create_bucket("landing_zone").blob("ext_conn1/readme.txt").upload_from_string("kept")
    warehouse = bigquery.Client(**client_options(local_stack.ensure_running("bigquery")))
    warehouse.create_dataset("warehouse")
    table = f"{LOCAL_PROJECT}.warehouse.meters"
    schema = [bigquery.SchemaField("meter_id", "STRING")]
    warehouse.create_table(bigquery.Table(table, schema=schema))
    warehouse.query(f"INSERT INTO `{table}` VALUES ('3')").result()

    assert sorted(local_stack.stop_all()) == sorted(SERVICES)
    assert not any(status.running for status in local_stack.status())
    local_stack.start_all()

    assert gcs.bucket("landing_zone").blob("ext_conn1/readme.txt").download_as_text() == "kept"
    rows = warehouse.query(f"SELECT meter_id FROM `{table}`")
    assert [row.meter_id for row in rows.result()] == ["3"]


def test_bigquery_loads_gs_uris_from_the_storage_emulator(stack):
    gcs = storage.Client(**client_options(local_stack.ensure_running("storage")))
    batch = gcs.create_bucket("participant_2").blob("coned/batches/2021-11-08T14:00:00.csv")
    batch.upload_from_string("meter_id,kwh\n3,1.5\n")
    warehouse = bigquery.Client(**client_options(local_stack.ensure_running("bigquery")))
    warehouse.create_dataset("loads")
    table = f"{LOCAL_PROJECT}.loads.readings"
    schema = [bigquery.SchemaField("meter_id", "STRING"), bigquery.SchemaField("kwh", "FLOAT")]
    warehouse.create_table(bigquery.Table(table, schema=schema))  # a load cannot create it

    # With no header row, bqemulator 1.4.0 takes the first row for one (skip_leading_rows=0
    # or not): a header and skip_leading_rows=1 read the same in BigQuery and the emulator.
    csv = bigquery.LoadJobConfig(source_format="CSV", skip_leading_rows=1)
    uri = "gs://participant_2/coned/batches/*"
    warehouse.load_table_from_uri(uri, table, job_config=csv).result()

    rows = warehouse.query(f"SELECT meter_id, kwh FROM `{table}`").result()
    assert [tuple(row.values()) for row in rows] == [("3", 1.5)]


def test_stop_all_stops_what_it_started(tmp_path):
    with isolated_stack(tmp_path):
        local_stack.ensure_running("storage")

        assert local_stack.stop_all() == ["storage"]
        assert not service_status("storage").running
        assert emulator_pids(tmp_path / "storage") == []
        assert local_stack.stop_all() == []


@pytest.mark.parametrize(
    "port_var, name",
    [(var, "storage") for var in PORT_VARS[:2]] + [(var, "bigquery") for var in PORT_VARS[2:]],
)
def test_port_taken_by_another_program_is_a_clear_error(tmp_path, port_var, name):
    with isolated_stack(tmp_path) as ports, socket.socket() as foreign:
        foreign.bind(("127.0.0.1", ports[port_var]))
        foreign.listen()
        started = time.monotonic()

        with pytest.raises(LocalStackError) as error:
            local_stack.ensure_running(name)

        assert time.monotonic() - started < 5
        assert f"Port {ports[port_var]}" in str(error.value)
        assert f"local {name} emulator" in str(error.value)
        assert port_var in str(error.value)
        assert emulator_pids(tmp_path / name) == []
        assert local_stack.stop_all() == []


def test_stop_all_never_signals_a_process_it_did_not_start(tmp_path):
    with isolated_stack(tmp_path):
        local_stack.ensure_running("storage")
        ours = service_status("storage").pid
        os.kill(ours, signal.SIGKILL)  # it died without `stop`, and its pid went to another program
        os.waitpid(ours, 0)
        foreign = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            record_file = tmp_path / "storage" / "service.json"
            record = json.loads(record_file.read_text())
            record_file.write_text(json.dumps({**record, "pid": foreign.pid}))

            assert not service_status("storage").running
            assert local_stack.stop_all() == []
            assert foreign.poll() is None
        finally:
            foreign.kill()
            foreign.wait()


def test_concurrent_callers_share_one_emulator(tmp_path):
    code = "from b8760_assets.local_stack import ensure_running; print(ensure_running('storage'))"
    with isolated_stack(tmp_path) as ports:
        callers = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        urls = [caller.communicate(timeout=60)[0].strip() for caller in callers]

        assert [caller.returncode for caller in callers] == [0] * 4
        assert set(urls) == {f"http://127.0.0.1:{ports['B8760_STORAGE_PORT']}"}
        assert emulator_pids(tmp_path / "storage") == [service_status("storage").pid]


def test_an_emulator_that_fails_to_start_points_at_its_log(tmp_path):
    with isolated_stack(tmp_path):
        tls = tmp_path / "storage" / "tls"
        tls.mkdir(parents=True)
        (tls / "cert.pem").write_text("not a certificate")
        (tls / "key.pem").write_text("not a key")

        with pytest.raises(LocalStackError) as error:
            local_stack.ensure_running("storage")

        message = str(error.value)
        assert "stopped while starting" in message
        assert f"Last lines of {tmp_path / 'storage' / 'service.log'}" in message
        assert "certificate" in message.split("Last lines of")[1]
        assert not service_status("storage").running


def test_an_emulator_that_stops_while_found_running_says_so(tmp_path):
    with isolated_stack(tmp_path):
        local_stack.ensure_running("storage")
        pid = service_status("storage").pid
        os.kill(pid, signal.SIGSTOP)  # running, and no longer answering: as while it stops
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(local_stack.ensure_running, "storage")
            time.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(LocalStackError) as error:
                waiting.result(timeout=30)

        message = str(error.value)
        assert f"emulator that was running (pid {pid}) stopped before it answered" in message
        assert "while starting" not in message
        assert f"Last lines of {tmp_path / 'storage' / 'service.log'}" in message
        assert local_stack.ensure_running("storage")  # the next call starts a new one
        assert service_status("storage").pid != pid


def test_cli_start_status_env_stop(stack):
    runner = CliRunner()
    storage_url = f"http://127.0.0.1:{stack['B8760_STORAGE_PORT']}"
    bigquery_url = f"http://127.0.0.1:{stack['B8760_BIGQUERY_PORT']}"

    started = runner.invoke(main, ["local", "start"])
    status = runner.invoke(main, ["local", "status"])
    as_json = runner.invoke(main, ["local", "status", "--json"])
    env = runner.invoke(main, ["local", "env"])

    assert started.exit_code == 0 and len(started.output.splitlines()) == 2
    assert f"storage {storage_url} running" in status.output
    assert f"bigquery {bigquery_url} running" in status.output
    rows = {row["name"]: row for row in json.loads(as_json.output)}
    assert rows["storage"]["url"] == storage_url and rows["storage"]["running"]
    assert rows["bigquery"]["url"] == bigquery_url and rows["bigquery"]["pid"]
    exports = env.output.splitlines()
    assert f"export STORAGE_EMULATOR_HOST={storage_url}" in exports
    assert f"export BIGQUERY_EMULATOR_HOST={bigquery_url}" in exports
    assert f"export GOOGLE_CLOUD_PROJECT={LOCAL_PROJECT}" in exports
    assert any(line.startswith("export BOTO_CONFIG=") for line in exports)

    stopped = runner.invoke(main, ["local", "stop"])
    assert stopped.output == "stopped storage bigquery\n"
    assert f"storage {storage_url} stopped" in runner.invoke(main, ["local", "status"]).output


def test_cli_shows_a_stack_error_as_a_message(tmp_path):
    with isolated_stack(tmp_path) as ports, socket.socket() as foreign:
        foreign.bind(("127.0.0.1", ports["B8760_STORAGE_PORT"]))
        foreign.listen()

        result = CliRunner().invoke(main, ["local", "start"])

        assert result.exit_code == 1
        assert isinstance(result.exception, SystemExit)  # not an uncaught exception
        assert "B8760_STORAGE_PORT" in result.stderr
        assert "Traceback" not in result.stderr
