"""Faults on the SQLite --state file: ``kill -9`` during writes, an admin import and a reset, then
a restart on the same file (every acknowledged write there, no half-applied import or reset);
a corrupt or foreign file refused in one line with exit 2, and left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from mock_server import PROJECT_ROOT

from .conftest import CLOCK_START, start_server

I3D = {"PRIVATE-TOKEN": "dev-token"}
TASK = "/v3/applicationInstance/task"
CREATE = {"taskTemplateId": "1", "applicationInstanceIds": ["1001", "1002"]}


def serve_on(state: Path):
    return start_server("--state", str(state), "--frozen-clock", "--clock-start", str(CLOCK_START))


def collections(server) -> dict:
    return server.client().get("/__admin/state", params={"secrets": "true"}).json()["collections"]


def big_snapshot(base: dict, records: int) -> dict:
    """``base`` plus ``records`` valid i3D tasks of another account (a long transaction to kill)."""
    snapshot = json.loads(json.dumps(base))
    tasks = {str(n): {"id": n, "account": "account-9", "batchId": 1, "templateId": 1, "entityId": 1001,
                      "createdAt": CLOCK_START, "history": {"start": CLOCK_START}} for n in range(1000, 1000 + records)}
    snapshot["collections"]["i3d/tasks@account-9"] = tasks
    snapshot["collections"]["i3d/batches@account-9"] = {"1": {
        "id": 1, "account": "account-9", "createdAt": CLOCK_START, "executeAt": CLOCK_START,
        "taskIds": [int(k) for k in tasks]}}
    snapshot["sequences"]["i3d/task"] = 1000 + records
    return snapshot


def test_every_acknowledged_create_survives_kill_9_in_the_middle_of_writes(tmp_state):
    server = serve_on(tmp_state)
    acked: list[dict] = []
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=server.url, headers=I3D, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(TASK, json=CREATE)
                except httpx.HTTPError:
                    return   # the server died under us: this write was never acknowledged
                if response.status_code == 200:
                    acked.append(response.json()[0])

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill(signal.SIGKILL)   # while the writers are still sending
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acked) >= 40, "the writers should have been acknowledged many times before the kill"

    restarted = serve_on(tmp_state)
    try:
        with restarted.client(headers=I3D) as client:
            for batch in acked:
                read = client.get(f"/v3/applicationInstance/taskBatch/{batch['id']}")
                assert read.status_code == 200, f"acknowledged batch {batch['id']} lost: {read.text}"
                assert read.json()[0]["taskIds"] == batch["taskIds"]
            newer = client.post(TASK, json=CREATE).json()[0]
            assert newer["id"] > max(b["id"] for b in acked), "no id handed out twice after the restart"
    finally:
        restarted.kill()


def kill_during(server, delay: float, method: str, path: str, **kwargs) -> None:
    """Send one admin request, SIGKILL the server ``delay`` s after it left, wait for the sender."""
    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.request(method, f"{server.url}{path}", timeout=30, **kwargs)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(delay)
    server.kill(signal.SIGKILL)
    sender.join(timeout=30)


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_an_import_killed_midway_is_all_or_nothing(tmp_state, delay):
    server = serve_on(tmp_state)
    before = collections(server)
    snapshot = big_snapshot(server.client().get("/__admin/state", params={"secrets": "true"}).json(), 20_000)
    body = json.dumps(snapshot).encode()

    kill_during(server, delay, "PUT", "/__admin/state", content=body, headers={"Content-Type": "application/json"})

    restarted = serve_on(tmp_state)
    try:
        after = collections(restarted)
        assert after in (before, snapshot["collections"]), \
            f"a half-applied import: {len(after.get('i3d/tasks@account-9', {}))} of 20000 records"
        assert restarted.client().get("/__admin/health").status_code == 200
    finally:
        restarted.kill()


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3])
def test_a_reset_killed_midway_is_all_or_nothing(tmp_state, delay):
    server = serve_on(tmp_state)
    seeded = collections(server)
    snapshot = big_snapshot(server.client().get("/__admin/state", params={"secrets": "true"}).json(), 20_000)
    assert server.client().put("/__admin/state", json=snapshot).status_code == 200
    grown = collections(server)

    kill_during(server, delay, "POST", "/__admin/reset")

    restarted = serve_on(tmp_state)
    try:
        after = collections(restarted)
        assert after in (grown, seeded), "a half-applied reset"
    finally:
        restarted.kill()


def serve_once(state: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--state", str(state)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_state_file_of_random_bytes_is_refused_in_one_line_and_left_alone(tmp_path):
    state = tmp_path / "state.sqlite"
    state.write_bytes(os.urandom(8192))
    before = digest(state)
    result = serve_once(state)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and ("not a mock-server state file" in lines[0] or "not a SQLite database" in lines[0]), \
        result.stderr
    assert digest(state) == before and sorted(p.name for p in tmp_path.iterdir()) == ["state.sqlite"]


def test_a_foreign_sqlite_database_is_refused_in_one_line_and_left_alone(tmp_path):
    state = tmp_path / "app.db"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('alice')")
    before = digest(state)
    result = serve_once(state)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a mock-server state file" in lines[0] and "users" in lines[0], result.stderr
    assert digest(state) == before, "the foreign database was written to"
    with sqlite3.connect(state) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["users"]
