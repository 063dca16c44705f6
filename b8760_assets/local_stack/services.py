"""Emulators run as detached local services that every process on the machine shares.

A `Service` says what differs between emulators (ports, command, one-off preparation);
this module does the rest the same way for each. A state file records the pid, ports and
command of the process the stack started, so the Dagster webserver, daemon, run workers,
tests and the CLI all find the one instance; an fcntl lock makes concurrent callers start
it at most once; a readiness probe says when it answers. Only a process whose pid *and*
command line match the state file is ever signalled: a pid can be reused, and a port can
be held by anything. Command lines are read from /proc, so this is Linux-only.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from b8760_assets.settings import state_dir

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 20

# The probe talks to 127.0.0.1 only: a developer's HTTP(S)_PROXY must not be consulted.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalStackError(Exception):
    """A problem with the local stack, worded so that a person can fix it."""


@dataclass(frozen=True)
class Port:
    """One port of a service, chosen by an environment variable."""

    role: str
    env_var: str
    default: int

    def number(self) -> int:
        raw = os.environ.get(self.env_var) or str(self.default)
        if not raw.isdecimal() or not 0 < int(raw) < 65536:
            raise LocalStackError(f"{self.env_var}={raw!r} is not a port number (1-65535).")
        return int(raw)


@dataclass(frozen=True)
class Service:
    """What differs between two emulators; everything else is in this module's functions."""

    name: str
    ports: tuple[Port, ...]  # the first one serves `url`, the one clients use
    ready_path: str
    command: Callable[[Path, Mapping[str, int]], list[str]]  # (service folder, port by role)
    prepare: Callable[[Path], None]  # before every start; must be cheap when already done
    environment: Callable[[Path], Mapping[str, str]] = lambda folder: {}

    def folder(self) -> Path:
        return state_dir().absolute() / self.name  # the service runs in it: no relative paths

    def log_file(self) -> Path:
        return self.folder() / "service.log"

    def configured_ports(self) -> dict[str, int]:
        return {port.role: port.number() for port in self.ports}

    def url(self, ports: Mapping[str, int] | None = None) -> str:
        ports = ports or self.configured_ports()
        return f"http://{HOST}:{ports[self.ports[0].role]}"


@dataclass(frozen=True)
class ServiceStatus:
    """What `b8760 local status` shows of one service."""

    name: str
    url: str
    running: bool
    pid: int | None
    ports: dict[str, int]
    log_file: Path


def ensure_running(service: Service) -> str:
    """Start `service` unless the one this stack started is running; its URL once it answers."""
    with _locked(service):
        ports = service.configured_ports()
        record = _running_record(service)
        if record is not None and record["ports"] != ports:
            raise LocalStackError(
                f"The local {service.name} emulator is already running (pid {record['pid']}) "
                f"with ports {record['ports']}, but the environment asks for {ports}. "
                "Run `b8760 local stop` first, or use the ports it has."
            )
        if record is None:
            process = _start(service, ports)
            try:
                _wait_until_ready(
                    service, ports, lambda: process.poll() is None, gone="stopped while starting"
                )
            except LocalStackError:
                _stop_locked(service)
                raise
        else:
            _wait_until_ready(
                service,
                ports,
                lambda: _is_ours(record),
                gone=f"that was running (pid {record['pid']}) stopped before it answered: "
                "something stopped it (`b8760 local stop`, a kill, a shutdown) or it crashed; "
                "the next call starts a new one",
            )
        return service.url(ports)


def stop(service: Service) -> bool:
    """Stop the process this stack started for `service`; False if none was running."""
    with _locked(service):
        return _stop_locked(service)


def status(service: Service) -> ServiceStatus:
    record = _read_record(service)
    running = record is not None and _is_ours(record)
    ports = record["ports"] if record is not None and running else service.configured_ports()
    return ServiceStatus(
        name=service.name,
        url=service.url(ports),
        running=running,
        pid=record["pid"] if record is not None and running else None,
        ports=ports,
        log_file=service.log_file(),
    )


@contextmanager
def _locked(service: Service) -> Iterator[None]:
    service.folder().mkdir(parents=True, exist_ok=True)
    with open(service.folder() / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _record_file(service: Service) -> Path:
    return service.folder() / "service.json"


def _read_record(service: Service) -> dict | None:
    try:
        return json.loads(_record_file(service).read_text())
    except FileNotFoundError:
        return None


def _running_record(service: Service) -> dict | None:
    """The state file's record if its process is still ours; a stale one is removed."""
    record = _read_record(service)
    if record is not None and not _is_ours(record):
        _record_file(service).unlink()
        return None
    return record


def _is_ours(record: dict) -> bool:
    """Whether the recorded pid still runs the recorded command. An exited process is gone or
    a zombie, with another command line; so is one caught in the middle of its exec, which
    is why a process just started is watched through its Popen instead."""
    try:
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes()
    except OSError:
        return False
    return cmdline.split(b"\0")[:-1] == [arg.encode() for arg in record["command"]]


def _start(service: Service, ports: Mapping[str, int]) -> subprocess.Popen:
    for port in service.ports:
        _check_free(service, port, ports[port.role])
    folder = service.folder()
    service.prepare(folder)
    command = service.command(folder, ports)
    with open(service.log_file(), "w") as log:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env={**os.environ, **service.environment(folder)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the process that started it, and its Ctrl-C
        )
    record = {"pid": process.pid, "ports": dict(ports), "command": command}
    _record_file(service).write_text(json.dumps(record, indent=2))
    return process


def _check_free(service: Service, port: Port, number: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        try:
            probe.bind((HOST, number))
        except OSError as error:
            raise LocalStackError(
                f"Port {number} on {HOST} is taken by another program, so the local "
                f"{service.name} emulator cannot use it ({port.role}). Set {port.env_var} "
                "to a free port, or stop that program."
            ) from error


def _wait_until_ready(
    service: Service, ports: Mapping[str, int], is_alive: Callable[[], bool], *, gone: str
) -> None:
    """Poll until the service answers; fail at once if its process has gone, saying `gone`."""
    probe_url = service.url(ports) + service.ready_path
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(probe_url):
        if not is_alive():
            raise LocalStackError(f"The local {service.name} emulator {gone}. {_log_tail(service)}")
        if time.monotonic() > deadline:
            raise LocalStackError(
                f"The local {service.name} emulator did not answer at {probe_url} within "
                f"{READY_TIMEOUT_S:.0f} s. {_log_tail(service)}"
            )
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _log_tail(service: Service) -> str:
    lines = service.log_file().read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return f"Last lines of {service.log_file()}:\n" + "\n".join(lines)


def _stop_locked(service: Service) -> bool:
    record = _running_record(service)
    if record is None:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        os.kill(record["pid"], sig)
        if _wait_until_gone(record):
            break
    else:
        raise LocalStackError(
            f"The local {service.name} emulator (pid {record['pid']}) did not stop after SIGKILL."
        )
    _record_file(service).unlink()
    return True


def _wait_until_gone(record: dict) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        _reap(record["pid"])
        if not _is_ours(record):
            return True
        time.sleep(0.05)
    return False


def _reap(pid: int) -> None:
    """Collect the exit status if this process started the service, so no zombie stays."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
