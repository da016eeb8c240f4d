"""``mock-server bench``: requests per second and latency of a real server on loopback.

Starts ``mock-server serve`` in a subprocess (frozen clock, fixed seed), warms it up, then runs
each scenario with a fixed number of requests over a few concurrent keep-alive clients, and
prints a Markdown table; then the replicas rows (``bench/replicas.py``). Bounded in count and
time; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

TOKEN = {"PRIVATE-TOKEN": "dev-token"}
BOLTTECH = {"Authorization": "Bearer dev-bearer", "Strategy-Secret": "ZGV2LXNlY3JldA=="}
STOP = [{"paramName": "methodId", "paramValue": "1"}, {"paramName": "timeout", "paramValue": "30"}]


@dataclass
class Scenario:
    name: str
    request: Callable[[httpx.Client, int], httpx.Response]
    expect: int


SCENARIOS = [
    Scenario("GET /__admin/health (no pipeline)", lambda c, i: c.get("/__admin/health"), 200),
    Scenario("i3D GET task list (≤100 tasks)", lambda c, i: c.get("/v3/applicationInstance/task", headers=TOKEN), 200),
    Scenario("i3D GET one task", lambda c, i: c.get("/v3/applicationInstance/task/1", headers=TOKEN), 200),
    Scenario("i3D POST create (1 task)", lambda c, i: c.post(
        "/v3/applicationInstance/task", headers=TOKEN,
        json={"taskTemplateId": "3", "applicationInstanceIds": [str(1001 + i % 20)], "taskActionParam": STOP}), 200),
    Scenario("i3D 422 (unknown template)", lambda c, i: c.post(
        "/v3/applicationInstance/task", headers=TOKEN, json={"taskTemplateId": "99"}), 422),
    Scenario("i3D 403 (no token)", lambda c, i: c.get("/v3/applicationInstance/task"), 403),
    Scenario("bolttech GET queue (secret of any strategy)", lambda c, i: c.get("/queue", headers=BOLTTECH), 200),
    Scenario("bolttech GET instance (settled, events replayed)", lambda c, i: c.get(
        "/execution-instance/00c974cd-8696-45db-9631-6cb5393f67c9", headers=BOLTTECH), 200),
    Scenario("bolttech GET get-tasks (open events, nested)", lambda c, i: c.get(
        "/execution-instance/00c974cd-8696-45db-9631-6cb5393f67c9/get-tasks", headers=BOLTTECH), 200),
]


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--frozen-clock",
                             "--clock-start", "1767225600", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, match.group(1)
        if time.time() > deadline:
            break
    proc.kill()
    raise SystemExit("bench: the server did not start")


def _run(url: str | list[str], scenario: Scenario, requests: int, clients: int) -> dict:
    """``clients`` keep-alive clients (spread over the servers when ``url`` lists several)."""
    urls = [url] if isinstance(url, str) else url
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        with httpx.Client(base_url=urls[offset % len(urls)], timeout=30) as client:
            for i in range(offset, requests, clients):
                started = time.perf_counter()
                response = scenario.request(client, i)
                elapsed = time.perf_counter() - started
                if response.status_code != scenario.expect:
                    raise SystemExit(f"bench: {scenario.name}: got {response.status_code}: {response.text[:200]}")
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {"rps": len(ms) / wall, "p50": statistics.median(ms), "p95": ms[int(len(ms) * 0.95) - 1],
            "p99": ms[int(len(ms) * 0.99) - 1]}


def main(requests: int = 1000, clients: int = 4, state: str | None = None, replicas: bool = True) -> int:
    args = ["--state", state] if state else []
    proc, url = _start(args)
    try:
        for scenario in SCENARIOS:  # warm-up: import paths, caches, first connections
            _run(url, scenario, 20, 1)
        print(f"mock-server bench: {requests} requests per scenario, {clients} concurrent clients, "
              f"{'SQLite --state' if state else 'in-memory store'}\n")
        print("| scenario | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
        for scenario in SCENARIOS:
            r = _run(url, scenario, requests, clients)
            print(f"| {scenario.name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} |")
    finally:
        proc.kill()
        proc.wait()
    if replicas:
        from bench import replicas as replica_rows

        return replica_rows.main(requests, clients)
    return 0
