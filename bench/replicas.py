"""The replicas rows of ``make bench``: two replicas on one Redis against one server on SQLite.

The same two scenarios (GET the task list, POST a create) over the same concurrent clients; with
two replicas the clients are split between them. redis-server is a private one on a free loopback
port (``mock_server/cluster.py``); without redis-server the rows are skipped, with a note.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench import loopback
from mock_server.cluster import start_redis, stop

SCENARIOS = [s for s in loopback.SCENARIOS if s.name.startswith(("i3D GET task list", "i3D POST create"))]


def _measure(label: str, state_args: list[list[str]], requests: int, clients: int) -> list[str]:
    started = [loopback._start(args) for args in state_args]
    urls = [url for _, url in started]
    try:
        for scenario in SCENARIOS:
            loopback._run(urls, scenario, 20, len(urls))
        rows = []
        for scenario in SCENARIOS:
            r = loopback._run(urls, scenario, requests, clients)
            rows.append(f"| {label}: {scenario.name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
                        f"| {r['p99']:.1f} |")
        return rows
    finally:
        stop([proc for proc, _ in started], grace=5)


def main(requests: int, clients: int) -> int:
    print(f"\nreplicas: {requests} requests per scenario, {clients} concurrent clients (split between replicas)\n")
    print("| setup: scenario | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="mock-bench-") as workdir:
        for row in _measure("1 server, SQLite", [["--state", str(Path(workdir) / "state.sqlite")]], requests, clients):
            print(row, flush=True)
        if shutil.which("redis-server") is None:
            print("\n(two replicas on Redis: skipped, redis-server is not installed; `make redis` installs it)")
            return 0
        redis_proc, port = start_redis(Path(workdir))
        try:
            url = f"redis://127.0.0.1:{port}/0"
            for count, label in ((1, "1 replica, Redis"), (2, "2 replicas, one Redis")):
                prefix = [["--state", f"{url}?prefix=bench-{count}"]] * count
                for row in _measure(label, prefix, requests, clients):
                    print(row, flush=True)
        finally:
            stop([redis_proc])
    return 0
