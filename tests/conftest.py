"""Shared fixtures: real mock servers (``python -m mock_server serve``) on loopback ports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mock_server import SPECS_DIR
from mock_server.process import CLOCK_START, Server
from mock_server.process import start as start_server

__all__ = ["CLOCK_START", "OFFICIAL_I3D", "Server", "start_server"]

OFFICIAL_I3D = SPECS_DIR / "reference" / "i3d-odp-v3-openapi.yaml"


@pytest.fixture
def serve():
    """``serve(*args)`` starts a real server; every server is killed at the end of the test."""
    servers: list[Server] = []

    def _serve(*args: str) -> Server:
        server = start_server(*args)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.kill()


@pytest.fixture(scope="module")
def frozen_server():
    """One strict server on the merged spec with a frozen clock, shared by a test module."""
    server = start_server("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    yield server
    server.kill()


@pytest.fixture
def tmp_state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


def start_redis(workdir: Path, *options: str, tls: bool = False) -> tuple[int, subprocess.Popen]:
    """Start ``redis-server`` (loopback, no persistence, a free port: TLS-only with ``tls``) in
    ``workdir`` with more server ``options``; return its port once it accepts connections."""
    import socket
    import time

    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ports = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    proc = subprocess.Popen(["redis-server", *ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir), "--logfile", "redis.log", *options], cwd=workdir)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            if not tls:
                with redis.Redis(port=port) as client:
                    client.ping()
            return port, proc
        except (OSError, redis.ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("redis-server did not start:\n" + (workdir / "redis.log").read_text()) from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A private redis-server for the session; `make test` installs it (skipped when missing)."""
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (`make redis` installs it)")
    port, proc = start_redis(tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=30)
