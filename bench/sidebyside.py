"""``make bench``: the mock beside Stoplight Prism, Connexion's own mock and the stack's ceiling.

Each server runs pinned to one core (``taskset``), the load generator (``wrk``) on the other,
on loopback. For each target and each of i3D's ``GET /v3/applicationInstance/task``,
``GET /v3/applicationInstance/task/{id}`` and ``POST /v3/applicationInstance/task``, at 1 and 32
connections: a warm-up, then ``--runs`` measured runs of ``--duration`` seconds, alternating
between targets so a drift of the machine hits all of them alike. Reported: requests per second
(the median of the runs), p50 and p99 latency, non-2xx answers, start-up time and RSS after the
load; a Markdown table with the ratios mock/Prism and mock/ceiling, and JSON under
``bench/results/``. Then the mock alone with 10, 1,000 and 100,000 tasks stored in the account,
and the replicas rows (``bench/replicas.py``: two replicas on one Redis against one SQLite server).

Prism (``@stoplight/prism-cli``, static examples, ``-v silent``) is installed with npm under
``bench/.prism/`` on first use; without npm it is skipped with a message. ``wrk`` comes from
Debian (installed with apt-get when missing and root). Everything talks to 127.0.0.1 only, and
every run is bounded in time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mock_server import DEFAULT_SPEC, PROJECT_ROOT

HERE = Path(__file__).resolve().parent
PRISM_DIR = HERE / ".prism"
PRISM_VERSION = "5.16.0"
RESULTS = HERE / "results"
CLOCK_START = "1767225600"
TOKEN = "PRIVATE-TOKEN: dev-token"
CREATE = {"taskTemplateId": "3", "applicationInstanceIds": ["1001"],
          "taskActionParam": [{"paramName": "methodId", "paramValue": "1"},
                              {"paramName": "timeout", "paramValue": "30"}]}
SCENARIOS = {  # name -> (method, path)
    "GET task list": ("GET", "/v3/applicationInstance/task"),
    "GET one task": ("GET", "/v3/applicationInstance/task/1"),
    "POST create": ("POST", "/v3/applicationInstance/task"),
}
SERVER_CORE, LOAD_CORE = "1", "0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Target:
    name: str
    command: list[str]
    env: dict = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = None
    startup: float = 0.0

    def start(self, pin: bool) -> None:
        self.port = _free_port()
        command = [c.replace("{port}", str(self.port)) for c in self.command]
        if pin:
            command = ["taskset", "-c", SERVER_CORE, *command]
        began = time.perf_counter()
        self.proc = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **self.env})
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited during start-up ({' '.join(command)})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if _probe(self.url + SCENARIOS["GET one task"][1]):
                    self.startup = time.perf_counter() - began
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"bench: {self.name} did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0.0
        found = re.search(r"VmRSS:\s+(\d+) kB", text)
        return int(found.group(1)) / 1024 if found else 0.0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _probe(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, headers=dict([TOKEN.split(": ")]), timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def _wrk(url: str, method: str, connections: int, seconds: float, pin: bool, script: Path) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-H", TOKEN,
               "-s", str(script), url]
    if pin:
        command = ["taskset", "-c", LOAD_CORE, *command]
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": json.dumps(CREATE) if method == "POST" else ""}
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, env=env).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)

    def percentile(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": percentile("50"), "p99": percentile("99"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(0) if errors else ""}


WRK_SCRIPT = """
wrk.method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
"""


def _ensure_tools(skip_prism: bool) -> Path | None:
    if shutil.which("wrk") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print("bench: installing wrk (apt-get)", flush=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        if shutil.which("wrk") is None:
            raise SystemExit("bench: wrk is missing (apt-get install wrk)")
    if skip_prism:
        return None
    prism = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        if shutil.which("npm") is None:
            print("bench: npm is missing: Prism is skipped", flush=True)
            return None
        print(f"bench: installing @stoplight/prism-cli@{PRISM_VERSION} under bench/.prism/", flush=True)
        PRISM_DIR.mkdir(exist_ok=True)
        done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR),
                               f"@stoplight/prism-cli@{PRISM_VERSION}"], capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or not prism.exists():
            print(f"bench: Prism could not be installed: Prism is skipped ({done.stderr.strip()[-200:]})", flush=True)
            return None
    return prism


def _document_without_security(folder: Path) -> Path:
    """The merged document with no security requirements, for Connexion's mock, which would
    otherwise need a security handler per scheme (it then does less work than the others)."""
    doc = yaml.safe_load(DEFAULT_SPEC.read_text())
    doc.pop("security", None)
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)
    out = folder / "openapi-nosecurity.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def _mock_command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "mock_server", "serve", "--port", "{port}", "--frozen-clock", "--clock-start",
            CLOCK_START, *extra]


def targets(prism: Path | None, folder: Path) -> list[Target]:
    found = [Target("mock", _mock_command([]))]
    if prism is not None:
        found.append(Target("prism", [str(prism), "mock", str(DEFAULT_SPEC), "-h", "127.0.0.1", "-p", "{port}",
                                      "-v", "silent"]))
    found.append(Target("connexion --mock=all", [sys.executable, "-m", "connexion", "run",
                                                 str(_document_without_security(folder)), "--mock", "all", "-p",
                                                 "{port}", "-H", "127.0.0.1"]))
    found.append(Target("ceiling (Starlette)", [sys.executable, "-m", "bench.ceiling", "{port}"]))
    return found


def seeded_state(folder: Path, tasks: int) -> Path:
    """A SQLite state file whose account holds ``tasks`` tasks, made by the mock's own code."""
    from mock_server.runtime import Runtime, ServeConfig

    path = folder / f"state-{tasks}.sqlite"
    from mock_server.apis import i3d

    runtime = Runtime(ServeConfig(state=path, frozen_clock=True, clock_start=float(CLOCK_START)))
    services = runtime.services("i3d")
    have = sum(len(b["taskIds"]) for _, b in services.store.items("batches@account-1"))
    with runtime.store.transaction():
        while have < tasks:
            fleet = {"taskTemplateId": "1", "fleetId": "1"} if tasks - have >= 10 else \
                {"taskTemplateId": "1", "applicationInstanceIds": ["1001"]}
            batch = i3d.create_batch(services, "account-1", fleet, float(CLOCK_START))
            have += len(batch["taskIds"])
    runtime.store.close()
    return path


def _measure(target: Target, scenario: str, connections: int, seconds: float, pin: bool, script: Path) -> dict:
    method, path = SCENARIOS[scenario]
    return _wrk(target.url + path, method, connections, seconds, pin, script)


def main(duration: float = 10, runs: int = 2, connections: tuple[int, ...] = (1, 32), skip_prism: bool = False,
         scales: tuple[int, ...] = (10, 1000, 100_000), pin: bool = True, replicas: bool = True,
         workers: bool = True) -> int:
    prism = _ensure_tools(skip_prism)
    pin = pin and shutil.which("taskset") is not None and os.cpu_count() and os.cpu_count() >= 2
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "bench.lua"
        script.write_text(WRK_SCRIPT)
        started = [t for t in targets(prism, folder)]
        for target in started:
            target.start(pin)
        results: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "duration": duration,
                         "runs": runs, "pinned": bool(pin), "rows": [], "scale": [], "workers": []}
        try:
            for target in started:   # warm-up: imports, caches, first connections, JIT
                for scenario in SCENARIOS:
                    _measure(target, scenario, 8, 2, pin, script)
            samples: dict[tuple[str, str, int], list[dict]] = {}
            for _ in range(runs):
                for scenario in SCENARIOS:
                    for count in connections:
                        for target in started:
                            key = (target.name, scenario, count)
                            samples.setdefault(key, []).append(_measure(target, scenario, count, duration, pin, script))
            for (name, scenario, count), runs_of in samples.items():
                target = next(t for t in started if t.name == name)
                results["rows"].append({
                    "target": name, "scenario": scenario, "connections": count,
                    "rps": statistics.median(r["rps"] for r in runs_of),
                    "p50": statistics.median(r["p50"] for r in runs_of),
                    "p99": statistics.median(r["p99"] for r in runs_of),
                    "non2xx": sum(r["non2xx"] for r in runs_of), "runs": [r["rps"] for r in runs_of],
                    "startup_s": round(target.startup, 2), "rss_mb": round(target.rss_mb(), 1)})
        finally:
            for target in started:
                target.stop()
        for tasks in scales:
            state = seeded_state(folder, tasks)
            target = Target(f"mock, {tasks} tasks", _mock_command(["--state", str(state)]))
            target.start(pin)
            try:
                for scenario in SCENARIOS:
                    _measure(target, scenario, 8, 2, pin, script)
                for scenario in SCENARIOS:
                    measured = _measure(target, scenario, 32, duration, pin, script)
                    results["scale"].append({"tasks": tasks, "scenario": scenario, **measured})
            finally:
                target.stop()
        if workers and (os.cpu_count() or 1) >= 2:
            results["workers"] = workers_rows(folder, duration, runs, script)
    out = RESULTS / f"bench-{results['date'].replace(':', '')}.json"
    out.write_text(json.dumps(results, indent=1))
    print(render(results))
    print(f"\n(written to {out.relative_to(PROJECT_ROOT)})")
    if replicas:   # two replicas on one Redis against one server on SQLite (bench/replicas.py)
        from bench import replicas as replica_rows

        replica_rows.main(requests=1000, clients=4)
    return 0


WORKER_TARGETS = {   # name -> serve flags; unpinned, wrk beside them: every process shares both cores
    "1 worker, memory": [],
    "1 worker, SQLite": ["--state", "{state}"],
    "2 workers, SQLite": ["--workers", "2", "--state", "{state}"],
}


def workers_rows(folder: Path, duration: float, runs: int, script: Path) -> list[dict]:
    """``--workers 2`` against one worker, measured the same way: nothing pinned, 32 connections,
    alternating runs (the state file of each SQLite target is its own)."""
    started = []
    for name, flags in WORKER_TARGETS.items():
        state = folder / f"workers-{len(started)}.sqlite"
        started.append(Target(name, _mock_command([f.replace("{state}", str(state)) for f in flags])))
    samples: dict[tuple[str, str], list[dict]] = {}
    try:
        for target in started:
            target.start(False)
            for scenario in SCENARIOS:
                _measure(target, scenario, 8, 2, False, script)
        for _ in range(runs):
            for scenario in SCENARIOS:
                for target in started:
                    samples.setdefault((target.name, scenario), []).append(
                        _measure(target, scenario, 32, duration, False, script))
    finally:
        for target in started:
            target.stop()
    return [{"target": name, "scenario": scenario, "rps": statistics.median(r["rps"] for r in found),
             "p99": statistics.median(r["p99"] for r in found), "non2xx": sum(r["non2xx"] for r in found),
             "runs": [r["rps"] for r in found]} for (name, scenario), found in samples.items()]


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    flag = f", {row['non2xx']} non-2xx" if row["non2xx"] else ""
    return f"{row['rps']:.0f} ({row['p99']:.2f}{flag})"


def render(results: dict) -> str:
    rows = results["rows"]

    def find(target: str, scenario: str, count: int) -> dict | None:
        return next((r for r in rows if r["target"] == target and r["scenario"] == scenario
                     and r["connections"] == count), None)

    names = list(dict.fromkeys(r["target"] for r in rows))
    ceiling = next((n for n in names if n.startswith("ceiling")), None)
    lines = [f"{results['date']}: {results['runs']} × {results['duration']} s per cell, alternating"
             f"{', server on one core and wrk on the other' if results['pinned'] else ''}", "",
             "| request | conn | " + " | ".join(f"{n} req/s (p50 / p99 ms)" for n in names)
             + " | mock/Prism | mock/ceiling |", "|---|---:|" + "---:|" * (len(names) + 2)]
    for scenario in SCENARIOS:
        for count in sorted({r["connections"] for r in rows}):
            cells, mock, prism, top = [], find("mock", scenario, count), find("prism", scenario, count), None
            for name in names:
                row = find(name, scenario, count)
                top = row if name == ceiling else top
                flag = f", {row['non2xx']} non-2xx" if row and row["non2xx"] else ""
                cells.append(f"{row['rps']:.0f} ({row['p50']:.2f} / {row['p99']:.2f}{flag})" if row else "–")
            ratio = f"{mock['rps'] / prism['rps']:.2f}" if mock and prism and prism["rps"] else "–"
            ceiling_ratio = f"{mock['rps'] / top['rps']:.2f}" if mock and top and top["rps"] else "–"
            lines.append(f"| {scenario} | {count} | " + " | ".join(cells) + f" | {ratio} | {ceiling_ratio} |")
    lines += ["", "| target | start-up s | RSS after load MB |", "|---|---:|---:|"]
    for name in names:
        row = next(r for r in rows if r["target"] == name)
        lines.append(f"| {name} | {row['startup_s']} | {row['rss_mb']} |")
    if results["scale"]:
        lines += ["", "| tasks in the account | " + " | ".join(f"{s} req/s (p99 ms)" for s in SCENARIOS) + " |",
                  "|---:|" + "---:|" * len(SCENARIOS)]
        for tasks in dict.fromkeys(r["tasks"] for r in results["scale"]):
            cells = [next(f"{r['rps']:.0f} ({r['p99']:.2f})" for r in results["scale"]
                          if r["tasks"] == tasks and r["scenario"] == s) for s in SCENARIOS]
            lines.append(f"| {tasks:,} | " + " | ".join(cells) + " |")
    if results.get("workers"):
        found = {(r["target"], r["scenario"]): r for r in results["workers"]}
        base = "1 worker, memory"
        lines += ["", "Workers (nothing pinned, 32 connections): req/s (p99 ms)", "",
                  "| request | " + " | ".join(WORKER_TARGETS) + " | 2 workers / 1 worker (memory, SQLite) |",
                  "|---|" + "---:|" * (len(WORKER_TARGETS) + 1)]
        for scenario in SCENARIOS:
            rows = [found.get((name, scenario)) for name in WORKER_TARGETS]
            cells = [_cell(r) for r in rows]
            two, one, one_sql = found.get(("2 workers, SQLite", scenario)), found.get((base, scenario)), \
                found.get(("1 worker, SQLite", scenario))
            ratio = (f"{two['rps'] / one['rps']:.2f}, {two['rps'] / one_sql['rps']:.2f}"
                     if two and one and one_sql and one["rps"] and one_sql["rps"] else "–")
            lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":   # the one parser of these flags is `mock-server bench`
    from mock_server.__main__ import main as mock_server_main

    sys.exit(mock_server_main(["bench", *sys.argv[1:]]))
