"""One harness run: per API, prepare, run Schemathesis, read its reports, clean up; then the summary.

Schemathesis is driven through its own CLI (``schemathesis run``), one subprocess per API, with a
generated config file (the committed ``schemathesis.toml`` + the API's hooks, auth and settings)
and our hooks module. That keeps everything that is Schemathesis' native: its progress display,
its config and filters, its checks and phases, and every report (JUnit XML, HTML, HAR, VCR,
NDJSON, JSON) written by its own reporters from its one event stream. The harness only reads
the NDJSON and JSON reports back for its summary. Its Python API would give the same events but
not the CLI's display or report handlers, which we would then have to rewrite. One process per
API also isolates what differs per API: base URL, credentials, hooks, rate limit.

Against the mock the APIs run at once (``--jobs``, default: all of them), all on the one mock: each
API's state is its own namespace of the mock's store, so one API's requests never change another's
answers, and each run stays the same run whatever the others do. Each process's display then goes
to ``<report>/<api>/output.txt`` and is printed whole when that API is done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from contract_tests import apis, config, plan, results
from contract_tests.apis import Resource, Target
from contract_tests.targets import start_mock
from mock_server import DEFAULT_SPEC, PROJECT_ROOT
from mock_server.process import clean_env

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
REPORT_FORMATS = "junit,html,har,vcr,ndjson,json"
DEFAULT_PHASES = "examples,coverage,fuzzing,stateful"


@dataclass
class Options:
    apis: list[str] = field(default_factory=lambda: list(plan.APIS))
    targets: list[str] = field(default_factory=lambda: [plan.MOCK])
    max_examples: int | None = None   # None: the API's adapter's default
    seed: int = 1
    max_time: int | None = None
    workers: int | None = None
    jobs: int | None = None           # APIs run at once; None: every API against the mock, one elsewhere
    rate_limit: str | None = None
    report: Path = PROJECT_ROOT / "contract-report"
    allow_mutations: bool = False
    checks: str | None = None         # None: every check, per-operation exceptions of the config kept
    phases: str = DEFAULT_PHASES
    dry_run: bool = False
    spec: Path = DEFAULT_SPEC
    mock_args: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)    # passed to `schemathesis run` as they are


def credentials_env(adapter: apis.Adapter, is_mock: bool) -> dict[str, str]:
    """The credentials of an API for its run: the fixture ones against the mock, else the environment's."""
    env = dict(adapter.credentials) if is_mock else {k: os.environ.get(k, "") for k in adapter.credentials}
    env.update(adapter.derived_env(env))
    return env


def schemathesis_args(options: Options, api_plan: plan.ApiPlan, url: str, reports: Path, cfg: Path,
                      color: bool = False) -> list[str]:
    args = [str(SCHEMATHESIS), "--config-file", str(cfg), "run", str(options.spec), "--url", url,
            "--phases", options.phases, "--seed", str(options.seed),
            "--max-examples", str(options.max_examples or apis.get(api_plan.api).max_examples),
            "--workers", str(api_plan.workers),
            "--generation-database", "none", "--suppress-health-check", "too_slow",
            "--report", REPORT_FORMATS, "--report-dir", str(reports),
            "--report-ndjson-path", str(reports / "events.ndjson"),
            "--report-json-path", str(reports / "run.json"),
            "--report-junit-path", str(reports / "junit.xml"),
            "--report-har-path", str(reports / "requests.har"),
            "--report-vcr-path", str(reports / "cassette.yaml"),
            "--report-html-path", str(reports / "html")]
    if options.checks:
        # On the command line, Schemathesis lets --checks override the config's per-operation
        # exceptions; without it, the generated config enables every check and keeps them.
        args += ["--checks", options.checks]
    for op in api_plan.operations:
        args += ["--include-operation-id", op.operation_id]
    if api_plan.rate_limit:
        args += ["--rate-limit", api_plan.rate_limit]
    if api_plan.max_time:
        args += ["--max-time", str(api_plan.max_time)]
    if not color:
        args.append("--no-color")
    return args + options.extra


_print_lock = threading.Lock()


def run_api(options: Options, api_plan: plan.ApiPlan, url: str, is_mock: bool,
            capture: bool = False) -> results.ApiResult:
    """One API's Schemathesis run; with ``capture`` its display goes to ``output.txt``, printed when done."""
    adapter = apis.get(api_plan.api)
    reports = options.report / api_plan.api
    if reports.exists():
        shutil.rmtree(reports)
    reports.mkdir(parents=True)
    creds = credentials_env(adapter, is_mock)
    target = Target(api_plan.api, url, is_mock, creds, api_plan.mutations or is_mock)
    data = reports / "generation-data.json"
    data.write_text(json.dumps(adapter.prepare(target), indent=1, sort_keys=True))
    created = reports / "created.ndjson"
    cfg = config.write(config.build(adapter), reports / "schemathesis.toml")
    env = clean_env({**creds, "CONTRACT_TESTS_API": api_plan.api, "CONTRACT_TESTS_DATA": str(data),
                     "CONTRACT_TESTS_CREATED": str(created)})
    started = time.monotonic()
    header = f"\n=== {api_plan.api}: {len(api_plan.operations)} operations against {url}"
    args = schemathesis_args(options, api_plan, url, reports, cfg, color=not capture and sys.stdout.isatty())
    if capture:
        output = reports / "output.txt"
        with output.open("w") as out:
            code = subprocess.call(args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        with _print_lock:
            print(header + f" ({time.monotonic() - started:.1f}s; also in {output})", flush=True)
            sys.stdout.write(output.read_text())
            sys.stdout.flush()
    else:
        print(header, flush=True)
        code = subprocess.call(args, cwd=PROJECT_ROOT, env=env)
    result = results.read(api_plan.api, code, time.monotonic() - started, reports / "events.ndjson",
                          reports / "run.json")
    result.reports = {"junit": reports / "junit.xml", "html": reports / "html" / "index.html",
                      "har": reports / "requests.har", "vcr": reports / "cassette.yaml"}
    if not is_mock and created.exists():
        resources = [Resource(**json.loads(line)) for line in created.read_text().splitlines() if line]
        result.not_cleaned = adapter.cleanup(target, resources)
    return result


def run(options: Options) -> int:
    spec = plan.load_spec(options.spec)
    try:
        targets = plan.parse_targets(options.targets)
        plans = plan.build(spec, options.apis, targets, allow_mutations=options.allow_mutations,
                           rate_limit=options.rate_limit, max_time=options.max_time, workers=options.workers,
                           env=dict(os.environ))
    except ValueError as exc:
        print(f"contract-tests: {exc}", file=sys.stderr)
        return 2
    if options.dry_run:
        print(plan.describe(plans))
        return 0
    started = time.monotonic()
    mock = start_mock(*options.mock_args, spec=options.spec) if targets is None else None
    jobs = max(1, min(len(plans), options.jobs or (len(plans) if mock is not None else 1)))
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            found = list(pool.map(
                lambda api_plan: run_api(options, api_plan, mock.url if mock is not None else api_plan.url,
                                         mock is not None, capture=jobs > 1), plans))
    finally:
        if mock is not None:
            mock.stop()
    print("\n" + "=" * 30 + " contract-tests summary " + "=" * 30)
    for result in found:
        print(result.summary())
    total = time.monotonic() - started
    failed = [r.api for r in found if not r.passed]
    print(f"reports: {options.report}")
    print(f"{len(found)} APIs in {total:.1f}s: " + (f"FAILED: {', '.join(failed)}" if failed else "all passed"))
    return 1 if failed else 0
