"""``mock-server cluster`` (``make serve-cluster``): a private redis-server and two replicas that a
person can try, all stopped by one Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from mock_server import PROJECT_ROOT
from mock_server.cluster import free_port

from .conftest import CLOCK_START

TOKEN = {"PRIVATE-TOKEN": "dev-token"}
TASKS = "/v3/applicationInstance/task"
_SUMMARY = re.compile(r"redis-server on 127\.0\.0\.1:(\d+) \(in (\S+)\)")

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (`make redis` installs it)")


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_cluster_serves_two_replicas_on_one_state_and_ctrl_c_stops_everything():
    ports = [free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "mock_server", "cluster", "--ports", ",".join(map(str, ports)),
                             "--", "--frozen-clock", "--clock-start", str(CLOCK_START)],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # its own process group: nothing outlives the test
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line)
            if sum("listening on" in seen for seen in lines) == len(ports) and any(map(_SUMMARY.search, lines)):
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert ready.wait(90) and proc.poll() is None, "the cluster did not start:\n" + "".join(lines)
        redis_port, workdir = next(m.groups() for m in map(_SUMMARY.search, lines) if m)
        first, second = (httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports)
        with first, second:
            created = first.post(TASKS, headers=TOKEN, json={
                "taskTemplateId": "3", "applicationInstanceIds": ["1001"],
                "taskActionParam": [{"paramName": "methodId", "paramValue": "1"},
                                    {"paramName": "timeout", "paramValue": "30"}]})
            assert created.status_code == 200, created.text
            (task_id,) = created.json()[0]["taskIds"]
            assert second.get(f"{TASKS}/{task_id}", headers=TOKEN).status_code == 200, "one state"
            assert second.post("/__admin/clock/advance", json={"seconds": 7}).status_code == 200
            assert first.get("/__admin/clock").json()["now"] == CLOCK_START + 7, "one clock"
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (here to the cluster process alone)
        assert proc.wait(timeout=60) == 0, "".join(lines)
        for port in [*ports, int(redis_port)]:
            assert not accepts(port), f"port {port} is still served after the stop"
        assert not Path(workdir).exists(), "the private redis directory is removed"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of the group a failed stop left behind
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
