"""Replicas of the mock sharing one state through Redis: real ``mock-server serve`` processes on
loopback, on a real redis-server (the session's, a fresh ``?prefix=`` per test), driven over the
i3D API. Whatever replica answers, a client sees one mock: one set of tasks and ids, one clock."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from mock_server import PROJECT_ROOT

from .conftest import CLOCK_START, Server, start_server

TOKEN = {"PRIVATE-TOKEN": "dev-token"}
TASKS, BATCHES = "/v3/applicationInstance/task", "/v3/applicationInstance/taskBatch"
STOP = [{"paramName": "methodId", "paramValue": "1"}, {"paramName": "timeout", "paramValue": "30"}]
# What fixtures/i3d.yaml seeds: account-1's three earlier batches, account-2's one.
SEEDED_BATCHES, FIRST_NEW_BATCH = 3, 5


def create(client: httpx.Client, instance: str = "1001") -> dict:
    """One restart task on one instance; the batch as acknowledged (200)."""
    response = client.post(TASKS, headers=TOKEN, json={"taskTemplateId": "3", "applicationInstanceIds": [instance],
                                                       "taskActionParam": STOP})
    assert response.status_code == 200, response.text
    (batch,) = response.json()
    return batch


def task(client: httpx.Client, task_id: int) -> httpx.Response:
    response = client.get(f"{TASKS}/{task_id}", headers=TOKEN)
    assert response.status_code == 200, f"task {task_id} through {client.base_url}: {response.text}"
    return response


def start_replicas(url: str, count: int = 2, *extra: str) -> list[Server]:
    """``count`` replicas on one store URL, started at the same moment (frozen at CLOCK_START)."""
    args = ("--state", url, "--frozen-clock", "--clock-start", str(CLOCK_START), *extra)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: start_server(*args), range(count)))


@pytest.fixture
def store_url(redis_url: str) -> str:
    """A fresh, empty shared store on the session's redis-server."""
    return f"{redis_url}?prefix=replicas-{uuid.uuid4().hex}"


@pytest.fixture
def replicas(store_url: str):
    """Two replicas on one empty store, and a client for each."""
    servers = start_replicas(store_url)
    clients = [server.client() for server in servers]
    yield clients
    for client in clients:
        client.close()
    for server in servers:
        server.kill()


def test_tasks_created_alternately_are_read_identically_through_either_replica(replicas):
    a, b = replicas
    batches = [create((a, b)[n % 2], instance=str(1001 + n)) for n in range(6)]
    assert [x["id"] for x in batches] == list(range(FIRST_NEW_BATCH, FIRST_NEW_BATCH + 6)), \
        "one id sequence whichever replica creates"
    for batch in batches:
        (task_id,) = batch["taskIds"]
        assert task(a, task_id).content == task(b, task_id).content
        assert a.get(f"{BATCHES}/{batch['id']}", headers=TOKEN).content == \
            b.get(f"{BATCHES}/{batch['id']}", headers=TOKEN).content
    assert a.get(TASKS, headers=TOKEN).content == b.get(TASKS, headers=TOKEN).content
    assert a.get(BATCHES, headers=TOKEN).content == b.get(BATCHES, headers=TOKEN).content


def test_a_task_paused_through_one_replica_is_resumed_through_the_other(replicas):
    a, b = replicas
    (task_id,) = create(a)["taskIds"]
    assert a.put(f"{TASKS}/{task_id}", headers=TOKEN).status_code == 200
    assert task(b, task_id).json()[0]["resultCode"] == 2, "paused, as the other replica sees it"
    assert b.put(f"{TASKS}/{task_id}", headers=TOKEN).status_code == 200
    assert task(a, task_id).json()[0]["resultCode"] == 1, "resumed, as the first replica sees it"


def test_advancing_the_clock_through_one_replica_moves_lifecycles_on_both(replicas):
    a, b = replicas
    (task_id,) = create(a)["taskIds"]
    first = task(b, task_id).json()[0]
    assert (first["resultCode"], first["currentActionIdx"]) == (1, 0), first
    advanced = b.post("/__admin/clock/advance", json={"seconds": 3})
    assert advanced.status_code == 200 and advanced.json()["now"] == CLOCK_START + 3
    assert a.get("/__admin/clock").json() == {"now": CLOCK_START + 3, "frozen": True, "scale": 1.0}, \
        "the other replica's clock moved at once"
    for replica in (a, b):
        moved = task(replica, task_id).json()[0]
        assert (moved["resultCode"], moved["currentActionIdx"]) == (1, 1), f"{replica.base_url}: {moved}"
    assert task(a, task_id).content == task(b, task_id).content
    assert a.post("/__admin/clock/advance", json={"seconds": 60}).status_code == 200
    done = task(b, task_id).json()[0]
    assert done["resultCode"] in (126, 127) and done["finishedAt"] > 0, done
    assert task(a, task_id).content == task(b, task_id).content


def test_a_running_clock_unfrozen_through_one_replica_runs_on_both(replicas):
    a, b = replicas
    assert a.post("/__admin/clock/unfreeze").status_code == 200
    before = a.get("/__admin/clock").json()
    after = b.get("/__admin/clock").json()
    assert not before["frozen"] and not after["frozen"]
    assert 0 <= after["now"] - before["now"] < 5, (before, after)
    assert b.post("/__admin/clock/freeze").status_code == 200
    frozen = b.get("/__admin/clock").json()["now"]
    time.sleep(0.2)
    assert a.get("/__admin/clock").json() == {"now": frozen, "frozen": True, "scale": 1.0}


def test_four_writers_split_across_replicas_lose_and_duplicate_no_id(replicas):
    per_writer = 10

    def write(n: int) -> list[dict]:
        client = replicas[n % 2]
        return [create(client, instance=str(1001 + (n * per_writer + i) % 20)) for i in range(per_writer)]

    with ThreadPoolExecutor(4) as pool:
        made = [batch for batches in pool.map(write, range(4)) for batch in batches]
    batch_ids = [b["id"] for b in made]
    task_ids = [t for b in made for t in b["taskIds"]]
    assert len(set(batch_ids)) == len(batch_ids) == 4 * per_writer, "no batch id handed out twice"
    assert len(set(task_ids)) == len(task_ids) == 4 * per_writer, "no task id handed out twice"
    assert sorted(batch_ids) == list(range(FIRST_NEW_BATCH, FIRST_NEW_BATCH + 4 * per_writer)), "none skipped"
    listed = {t["id"] for t in replicas[1].get(TASKS, headers=TOKEN).json()}
    assert set(task_ids) <= listed, "every acknowledged create is listed"
    for task_id in task_ids:
        assert task(replicas[0], task_id).content == task(replicas[1], task_id).content


def test_each_replica_journals_what_it_served(replicas):
    a, b = replicas
    create(a)
    served = [e["operationId"] for e in a.get("/__admin/requests").json()]
    assert served and all(served), served
    assert b.get("/__admin/requests").json() == [], "the journal is per replica"


def test_a_reset_through_one_replica_resets_both_while_the_other_serves(replicas):
    a, b = replicas
    seeded = b.get(TASKS, headers=TOKEN).content
    create(b)
    failures: list[str] = []
    stop = threading.Event()

    def serve_meanwhile() -> None:
        with httpx.Client(base_url=str(b.base_url), timeout=30, headers=TOKEN) as client:
            while not stop.is_set():
                for response in (client.get(TASKS), client.post(TASKS, json={
                        "taskTemplateId": "3", "applicationInstanceIds": ["1002"], "taskActionParam": STOP})):
                    if response.status_code != 200:
                        failures.append(f"{response.request.method} {response.status_code}: {response.text[:200]}")

    worker = threading.Thread(target=serve_meanwhile)
    worker.start()
    try:
        for _ in range(5):
            assert a.post("/__admin/reset").status_code == 200
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive() and not failures, failures
    assert a.post("/__admin/reset").status_code == 200
    assert b.get(TASKS, headers=TOKEN).content == seeded, "the other replica sees the seeded state"
    assert create(b)["id"] == FIRST_NEW_BATCH, "and the seeded sequences"
    assert b.get("/__admin/clock").json()["now"] == CLOCK_START, "a reset keeps the clock"


def test_replicas_started_together_on_an_empty_store_seed_it_once(store_url: str):
    servers = start_replicas(store_url, 3)
    try:
        for server in servers:
            with server.client() as client:
                batches = client.get(BATCHES, headers=TOKEN).json()
                assert len(batches) == SEEDED_BATCHES, f"{server.url}: {[b['id'] for b in batches]}"
        with servers[0].client() as client:
            state = client.get("/__admin/state").json()
            assert create(client)["id"] == FIRST_NEW_BATCH
        seeded = [name for name, rows in state["collections"].items() if name.startswith("i3d/batches@")]
        assert sum(len(state["collections"][name]) for name in seeded) == FIRST_NEW_BATCH - 1, seeded
    finally:
        for server in servers:
            server.kill()


def test_killing_one_replica_with_sigkill_loses_no_acknowledged_write(store_url: str):
    # A short lease: a replica killed inside a transaction holds the store lock for at most 2 s.
    victim, survivor = start_replicas(store_url + "&lock_ttl=2000")
    acknowledged: list[dict] = []
    failed: list[BaseException] = []

    def write() -> None:
        with victim.client() as client:
            try:
                for n in range(10_000):
                    acknowledged.append(create(client, instance=str(1001 + n % 20)))
            except (httpx.HTTPError, AssertionError) as exc:
                failed.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 20:
            assert writer.is_alive() and time.monotonic() < deadline, f"the writer stopped: {failed}"
            time.sleep(0.01)
        victim.kill(signal.SIGKILL)
        writer.join(timeout=60)
        assert not writer.is_alive() and failed, "the writer ends with the replica"
        with survivor.client() as client:
            for batch in acknowledged:
                (task_id,) = batch["taskIds"]
                assert task(client, task_id).json()[0]["batchId"] == batch["id"]
            after = create(client)
            assert after["id"] > acknowledged[-1]["id"], "ids handed out before the kill are not reused"
    finally:
        victim.kill()
        survivor.kill()


def test_serving_on_an_unreachable_redis_exits_2_with_one_masked_line():
    result = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0",
                             "--state", "redis://:hunter2@127.0.0.1:1/0"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("mock-server: cannot serve: cannot use redis://:***@127.0.0.1:1/0"), result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
