"""Dagster as it runs for real: an instance of a test's own, the daemon and the webserver as
processes on workspace.yaml, and waiting for what they do."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from b8760_assets import local_stack
from b8760_assets_tests.stack import isolated_stack

CHECKOUT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def checkout_instance_config() -> dict[str, Any]:
    """The checkout's dagster.yaml, the instance `make install` puts in DAGSTER_HOME."""
    return yaml.safe_load((CHECKOUT / "dagster.yaml").read_text())


@contextlib.contextmanager
def own_instance(folder: Path, config: Mapping[str, Any]) -> Iterator[dg.DagsterInstance]:
    """The instance of `config` (DAGSTER_HOME under `folder`, in the environment so that the
    daemon and the webserver find it), on a local stack of its own, running."""
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(dict(config)))
    with pytest.MonkeyPatch.context() as env, isolated_stack(folder / "state"):
        env.setenv("DAGSTER_HOME", str(home))
        local_stack.start_all()
        with dg.DagsterInstance.get() as instance:
            instance.get_runs()  # makes the storage before any daemon opens it
            yield instance


def daemon_process(log: Path) -> subprocess.Popen:
    """`dagster-daemon run` on workspace.yaml, in a process group of its own (its code servers
    and their run workers with it), so that `stop` or a SIGKILL of the group ends them all."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=CHECKOUT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop(process_group: subprocess.Popen) -> None:
    if process_group.poll() is None:
        os.killpg(process_group.pid, signal.SIGTERM)
        process_group.wait(timeout=60)


@contextlib.contextmanager
def webserver(port: int, ready_within_s: float = 120) -> Iterator[str]:
    """`dagster-webserver` on workspace.yaml (what `make dev` serves); its GraphQL URL once it
    answers, which it does only when it has loaded the code location."""
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)],
        cwd=CHECKOUT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        graphql_when_up(url, "{ version }", server, ready_within_s)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def graphql_when_up(url: str, query: str, server: subprocess.Popen, within_s: float = 120) -> dict:
    """The query's data once the server answers (it loads the code location first)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr and server.stderr.read()
        try:
            return graphql(url, query)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {within_s:.0f} s")


def graphql(
    url: str, query: str, variables: Mapping[str, Any] | None = None, timeout_s: float = 5
) -> dict:
    """The query's data; its errors, if any, as the AssertionError."""
    body = {"query": query, "variables": dict(variables or {})}
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def wait_for(
    what: str, found: Callable[[], object], timeout_s: float, every_s: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(every_s)
    return result
