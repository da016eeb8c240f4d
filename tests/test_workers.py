"""``mock-server serve --workers N``: several processes on one port, their state shared through the
store. Real servers on loopback; writers on fresh connections so the kernel hands them to every
worker (``/__admin/health`` names the process that answered). Nothing here times anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mock_server import PROJECT_ROOT

from .conftest import CLOCK_START, start_server

I3D = {"PRIVATE-TOKEN": "dev-token"}
TASK = "/v3/applicationInstance/task"
CREATE = {"taskTemplateId": "1", "applicationInstanceIds": ["1001"]}
WRITERS, EACH = 4, 30


def fresh(url: str, method: str, path: str, **kwargs) -> httpx.Response:
    """One request on its own connection (``Connection: close``), so any worker may take it."""
    headers = {**I3D, "Connection": "close", **kwargs.pop("headers", {})}
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.request(method, path, headers=headers, **kwargs)


def workers_seen(url: str, tries: int = 400) -> set[int]:
    """The worker processes that answered, asking until two different ones did (or ``tries`` ran out)."""
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(fresh(url, "GET", "/__admin/health").json()["pid"])
        if len(seen) > 1:
            break
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def two_workers(tmp_path):
    server = start_server("--workers", "2", "--frozen-clock", "--clock-start", str(CLOCK_START), "--strict",
                          "--state", str(tmp_path / "state.sqlite"))
    yield server
    server.kill(signal.SIGTERM)


def test_concurrent_writers_across_two_workers_lose_and_duplicate_nothing(two_workers):
    url = two_workers.url
    health = fresh(url, "GET", "/__admin/health").json()
    assert health["workers"] == 2
    assert len(workers_seen(url)) == 2, "only one worker ever answered"
    before = fresh(url, "GET", "/__admin/state", params={"secrets": "true"}).json()
    tasks_before = len(before["collections"]["i3d/tasks@account-1"])

    def writer(_: int) -> list[dict]:
        made = []
        for _ in range(EACH):
            answer = fresh(url, "POST", TASK, json=CREATE)
            assert answer.status_code == 200, answer.text
            made.append(answer.json()[0])
        return made

    with ThreadPoolExecutor(WRITERS) as pool:
        batches = [b for made in pool.map(writer, range(WRITERS)) for b in made]
    assert len(batches) == WRITERS * EACH
    batch_ids = [b["id"] for b in batches]
    task_ids = [t for b in batches for t in b["taskIds"]]
    assert len(set(batch_ids)) == len(batch_ids), "a batch id was handed out twice"
    assert len(set(task_ids)) == len(task_ids) == WRITERS * EACH, "a task id was handed out twice"

    after = fresh(url, "GET", "/__admin/state", params={"secrets": "true"}).json()
    stored = after["collections"]["i3d/tasks@account-1"]
    assert len(stored) == tasks_before + WRITERS * EACH, "a write was lost"
    assert {str(t) for t in task_ids} <= set(stored)
    # Every created task reads back, through whichever worker takes the connection.
    for task in task_ids[::7]:
        read = fresh(url, "GET", f"{TASK}/{task}")
        assert read.status_code == 200 and read.json()[0]["id"] == task, read.text


def test_a_task_reads_the_same_through_every_worker_as_the_clock_moves(two_workers):
    url = two_workers.url
    made = fresh(url, "POST", TASK, json=CREATE).json()[0]["taskIds"][0]
    seen_states = []
    for seconds in (0, 5, 60, 3600):
        if seconds:
            moved = fresh(url, "POST", "/__admin/clock/advance", json={"seconds": seconds})
            assert moved.status_code == 200, moved.text
        answers, pids = set(), set()
        for _ in range(40):   # fresh connections: both workers answer (checked below)
            answers.add(fresh(url, "GET", f"{TASK}/{made}").text)
            pids.add(fresh(url, "GET", "/__admin/health").json()["pid"])
        assert len(answers) == 1, f"workers disagree after {seconds} s: {answers}"
        assert len(pids | workers_seen(url)) == 2
        seen_states.append(answers.pop())
    assert len(set(seen_states)) > 1, "the task never moved on as the shared clock advanced"


def test_workers_stop_with_their_supervisor_and_a_private_state_is_removed():
    server = start_server("--workers", "2", "--frozen-clock")
    url = server.url
    health = fresh(url, "GET", "/__admin/health").json()
    state = Path(health["state"])
    assert state.exists(), "without --state the workers share a private SQLite file"
    pids = workers_seen(url)
    assert len(pids) == 2
    server.kill(signal.SIGTERM)
    assert server.proc.returncode == 0, server.log
    deadline = time.monotonic() + 30
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, "a worker outlived its supervisor's SIGTERM"
        time.sleep(0.1)
    assert not state.exists() and not state.parent.exists()


def test_workers_end_when_their_supervisor_is_killed():
    server = start_server("--workers", "2")
    pids = workers_seen(server.url)
    server.kill(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, "a worker outlived its supervisor's SIGKILL"
        time.sleep(0.1)
    with pytest.raises(httpx.ConnectError):
        fresh(server.url, "GET", "/__admin/health")


def test_workers_refuse_bad_input_once_with_one_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.3\ninfo: [\n")
    run = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--workers", "2",
                          "--spec", str(broken)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mock-server: cannot serve:") and "broken.yaml" in lines[0], \
        run.stderr
    zero = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--workers", "0"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert zero.returncode == 2 and "--workers" in zero.stderr and "Traceback" not in zero.stderr
