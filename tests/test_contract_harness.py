"""The contract harness (``contract-tests run``): the mock passes through it, and it fails -- naming
the right Schemathesis check -- against servers that drift from the contract."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mock_server import PROJECT_ROOT
from mock_server.process import clean_env

from .conftest import start_server
from .drift_proxy import Drift, DriftProxy, Exchange

I3D = "/v3/applicationInstance"
# Small budgets: every test here runs Schemathesis over real servers on a shared 2-core machine.
QUICK = ["--max-examples", "10", "--phases", "examples,coverage,fuzzing"]


def harness(report: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, dict]:
    """``python -m contract_tests run --report REPORT ARGS``: exit code, output, {api: run.json}."""
    result = subprocess.run([sys.executable, "-m", "contract_tests", "run", "--report", str(report), *args],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, env=clean_env(env))
    runs = {p.parent.name: json.loads(p.read_text()) for p in report.glob("*/run.json")}
    return result.returncode, result.stdout + result.stderr, runs


def failed_checks(report: Path, api: str) -> dict[str, set[str]]:
    """Check name -> operations it failed on, from the run's NDJSON event stream."""
    found: dict[str, set[str]] = {}
    for line in (report / api / "events.ndjson").read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        for checks in ((finished or {}).get("recorder", {}).get("checks") or {}).values():
            for check in checks:
                if check["status"] == "failure":
                    found.setdefault(check["name"], set()).add(check["failure_info"]["failure"]["operation"])
    return found


@pytest.fixture(scope="module")
def i3d_run(tmp_path_factory):
    """The CI run of i3D against the mock the harness starts itself, every phase, fixed seed."""
    report = tmp_path_factory.mktemp("i3d")
    code, output, runs = harness(report, "--api", "i3d", "--seed", "1")
    return {"code": code, "output": output, "run": runs.get("i3d"), "report": report}


def test_i3d_passes_every_check_and_phase_against_the_mock(i3d_run):
    run, output = i3d_run["run"], i3d_run["output"]
    assert i3d_run["code"] == 0, output[-6000:]
    assert run["operations"]["tested"] == 8, run["operations"]
    assert all(run["phases"][p]["status"] == "success" for p in ("coverage", "fuzzing", "stateful")), run["phases"]
    suites = ET.parse(i3d_run["report"] / "i3d" / "junit.xml").getroot()
    assert len(suites.findall(".//testcase")) >= 8
    assert not suites.findall(".//failure") and not suites.findall(".//error"), output[-4000:]
    assert "i3d: PASS" in output and "links covered:" in output


def test_i3d_fuzzing_reaches_the_core_logic_no_missing_data_or_mismatch_warning(i3d_run):
    warnings = i3d_run["run"]["warnings"]
    assert not warnings["missing_test_data"] and not warnings["validation_mismatch"], warnings
    created = i3d_run["run"]["valid_rates"]["POST /v3/applicationInstance/task"]
    assert all(rate["accepted"] > 0 for rate in created.values()), created


def test_reports_are_written_by_schemathesis_and_hold_no_secret(i3d_run):
    folder = i3d_run["report"] / "i3d"
    for name in ("junit.xml", "html/index.html", "requests.har", "cassette.yaml", "events.ndjson", "run.json"):
        assert (folder / name).stat().st_size > 0, name
    leaks = [str(p) for p in folder.rglob("*") if p.is_file() and b"dev-token" in p.read_bytes()]
    assert not leaks, leaks
    assert "dev-token" not in i3d_run["output"]


# -- the other three APIs against the mock: one run each, the CI figures ---------------------------
# Every check of Schemathesis 4 but max_response_time (which needs a limit to mean anything).
EVERY_CHECK = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
               "positive_data_acceptance", "missing_required_header", "unsupported_method",
               "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth",
               "object_level_authorization"}
OPERATIONS = {"polardb": 5, "drove": 10, "bolttech": 15}


@pytest.fixture(scope="module")
def vendor_runs(tmp_path_factory, i3d_run):
    """Each API's CI run against the mock the harness starts, run once the first time one is asked for
    (i3D's is ``i3d_run``)."""
    found: dict[str, dict] = {"i3d": {**i3d_run, "report": i3d_run["report"] / "i3d"}}

    def run(api: str) -> dict:
        if api not in found:
            report = tmp_path_factory.mktemp(api)
            code, output, runs = harness(report, "--api", api, "--seed", "1")
            found[api] = {"code": code, "output": output, "run": runs.get(api), "report": report / api}
        return found[api]

    return run


def links_line(output: str, api: str) -> tuple[int, int, str]:
    block = output.split("contract-tests summary")[-1].split(f"{api}: ", 1)[1]
    line = next(line for line in block.splitlines() if "links covered:" in line)
    covered, selected = (int(n) for n in line.split(":")[1].split("(")[0].split("/"))
    return covered, selected, line


def har_entries(report: Path) -> list[dict]:
    return json.loads((report / "requests.har").read_text())["log"]["entries"]


@pytest.mark.parametrize("api", list(OPERATIONS))
def test_each_api_passes_every_check_and_phase_against_the_mock_with_no_reach_warning(api, vendor_runs):
    found = vendor_runs(api)
    run, output = found["run"], found["output"]
    assert found["code"] == 0 and f"{api}: PASS" in output, output[-6000:]
    assert run["operations"]["tested"] == OPERATIONS[api], run["operations"]
    assert all(run["phases"][p]["status"] == "success" for p in ("examples", "coverage", "fuzzing", "stateful")), \
        run["phases"]
    warnings = run["warnings"]
    assert not warnings["missing_test_data"] and not warnings["validation_mismatch"], warnings
    assert not warnings["missing_auth"], warnings
    assert not failed_checks(found["report"].parent, api)
    suites = ET.parse(found["report"] / "junit.xml").getroot()
    assert len(suites.findall(".//testcase")) >= OPERATIONS[api]
    assert not suites.findall(".//failure") and not suites.findall(".//error"), output[-4000:]
    ran = {check for check, _ in _checks_run(found["report"])}
    assert not EVERY_CHECK - ran, f"checks that never ran: {EVERY_CHECK - ran}"
    # The mock runs --strict: an answer of its own that violates the spec goes out as a 500 with
    # x-mock-violation. Drove's log proxy documents 500s, so the header itself is looked for.
    entries = har_entries(found["report"])
    assert len(entries) > 300
    violations = [(e["request"]["url"], h["value"]) for e in entries for h in e["response"]["headers"]
                  if h["name"].lower() == "x-mock-violation"]
    assert not violations, violations[:5]


# The links each API's stateful phase selects (declared in specs/overlays/<api>-links.yaml, plus what
# Schemathesis infers): fewer would mean links were lost, not that coverage improved.
LINKS_SELECTED = {"i3d": 17, "polardb": 1, "drove": 11, "bolttech": 26}


@pytest.mark.parametrize("api", list(LINKS_SELECTED))
def test_each_api_stateful_phase_covers_at_least_90_percent_of_its_links(api, vendor_runs):
    covered, selected, line = links_line(vendor_runs(api)["output"], api)
    assert selected >= LINKS_SELECTED[api], f"{api}: {selected} links selected, expected {LINKS_SELECTED[api]}"
    assert covered / selected >= 0.9, line


def _checks_run(report: Path):
    for line in (report / "events.ndjson").read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        for checks in ((finished or {}).get("recorder", {}).get("checks") or {}).values():
            for check in checks:
                yield check["name"], check["status"]


def test_polardb_goes_out_on_the_rpc_wire_reaches_every_action_and_follows_the_batch_link(vendor_runs):
    found = vendor_runs("polardb")
    assert not any(found["run"]["warnings"].values()), found["run"]["warnings"]
    # The mock runs --strict: an answer of its own that violated the spec would have been a 500, which
    # not_a_server_error fails on for every PolarDB action.
    entries = har_entries(found["report"])
    assert entries and not [e["request"]["url"] for e in entries if "/rpc/" in e["request"]["url"]]
    action = {id(e): next((h["value"] for h in e["request"]["headers"] if h["name"].lower() == "x-acs-action"), None)
              for e in entries}
    assert {action[id(e)] for e in entries if e["response"]["status"] == 200} == {
        "CreateBatchTask", "DescribeBatchTasks", "DescribeBatchTask", "DescribePolarClawTask",
        "InstallPolarClawSkill"}
    # The stateful phase followed CreateBatchTask's link to a batch it had just created (not a seeded one).
    described = [e["request"]["url"] for e in entries
                 if action[id(e)] == "DescribeBatchTask" and e["response"]["status"] == 200]
    assert any("BatchId=pcb-" in url and "seed" not in url for url in described), described[:10]


def test_drove_and_bolttech_generation_reaches_the_fixtures(vendor_runs):
    # Drove answers 200 even for a task it lacks; a log read answers 200 only for a task that ran.
    drove = har_entries(vendor_runs("drove")["report"])
    ok = [(e["request"]["method"], e["request"]["url"].split("?")[0]) for e in drove
          if 200 <= e["response"]["status"] < 300]
    assert any(method == "GET" and "/logfiles/tasks/" in url and "/read/" in url for method, url in ok), ok[:20]
    assert any(method == "POST" and url.endswith("/apis/v1/tasks/operations") for method, url in ok)
    assert {method for method, url in ok if "/apis/v1/tasks/" in url and "/instances/" in url} >= {"GET", "DELETE"}
    bolttech = har_entries(vendor_runs("bolttech")["report"])
    assert not [e["request"]["url"] for e in bolttech if e["response"]["status"] >= 500]
    tasks = {e["response"]["status"] for e in bolttech
             if e["request"]["method"] == "GET" and e["request"]["url"].split("?")[0].endswith("/get-tasks")}
    assert 200 in tasks, tasks


# -- it must be able to fail ------------------------------------------------------------------------
def _drop_required_field(exchange: Exchange) -> None:
    if exchange.method == "GET" and exchange.route == f"{I3D}/task/template" and exchange.status == 200:
        exchange.set_json([{k: v for k, v in t.items() if k != "name"} for t in exchange.json()])


def _wrong_type(exchange: Exchange) -> None:
    if exchange.method == "GET" and exchange.route == f"{I3D}/taskBatch" and exchange.status == 200:
        exchange.set_json([{**b, "id": str(b["id"])} for b in exchange.json()])


def _undocumented_status(exchange: Exchange) -> None:
    if exchange.method == "GET" and exchange.route == f"{I3D}/task" and exchange.status == 200:
        exchange.status = 202


def _server_error(exchange: Exchange) -> None:
    if exchange.route == f"{I3D}/task/template":
        exchange.status = 500
        exchange.response_headers = {"Content-Type": "application/json"}
        exchange.set_json({"errorCode": 500, "errorMessage": "Internal Server Error", "errors": []})


def _accepts_anonymous(exchange: Exchange) -> None:
    if not any(k.lower() == "private-token" for k in exchange.headers):
        exchange.headers["PRIVATE-TOKEN"] = "dev-token"


def _shares_accounts(exchange: Exchange) -> None:
    for name, value in list(exchange.headers.items()):
        if name.lower() == "private-token" and value == "dev-token-2":
            exchange.headers[name] = "dev-token"


DRIFTS = {
    "drops_a_required_field": (Drift(response=_drop_required_field), "response_schema_conformance",
                               f"GET {I3D}/task/template"),
    "returns_a_wrong_type": (Drift(response=_wrong_type), "response_schema_conformance", f"GET {I3D}/taskBatch"),
    "answers_an_undocumented_status": (Drift(response=_undocumented_status), "status_code_conformance",
                                       f"GET {I3D}/task"),
    "returns_500_on_one_path": (Drift(response=_server_error), "not_a_server_error", f"GET {I3D}/task/template"),
    "accepts_requests_without_credentials": (Drift(request=_accepts_anonymous), "ignored_auth", None),
    "lets_one_account_read_another_accounts_task": (Drift(request=_shares_accounts), "cross_account_read",
                                                    f"GET {I3D}/task/{{taskId}}"),
}
PEER = {"I3D_PEER_PRIVATE_TOKEN": "dev-token-2"}


@pytest.fixture(scope="module")
def upstream():
    server = start_server("--strict", "--frozen-clock")
    yield server
    server.kill()


@pytest.mark.parametrize("name", list(DRIFTS))
def test_the_harness_fails_against_a_drifting_server_and_names_the_check(name, upstream, tmp_path):
    drift, check, operation = DRIFTS[name]
    with DriftProxy(upstream.url, drift) as proxy:
        code, output, _ = harness(tmp_path, "--api", "i3d", "--target", f"i3d={proxy.url}", *QUICK,
                                  env={"I3D_PRIVATE_TOKEN": "dev-token", **PEER})
    assert code == 1, output[-3000:]
    failed = failed_checks(tmp_path, "i3d")
    assert check in failed, f"{name}: expected {check} to fail, got {sorted(failed)}"
    if operation is not None:
        assert operation in failed[check], failed[check]
    assert "i3d: FAIL" in output and check in output.split("contract-tests summary")[-1]


def test_the_proxy_without_a_drift_passes_so_each_failure_above_is_the_drift(upstream, tmp_path):
    with DriftProxy(upstream.url, Drift()) as proxy:
        code, output, _ = harness(tmp_path, "--api", "i3d", "--target", f"i3d={proxy.url}", *QUICK,
                                  env={"I3D_PRIVATE_TOKEN": "dev-token", "I3D_INSTANCE_IDS": "1001,1002", **PEER})
    assert code == 0, output[-3000:]
    assert not failed_checks(tmp_path, "i3d")
    # The cross-account check did probe (and pass) here, so its failure above is the drift's.
    assert ("cross_account_read", "success") in set(_checks_run(tmp_path / "i3d"))


# -- staging-like targets -----------------------------------------------------------------------------
def test_a_separately_started_mock_on_a_loopback_url_passes_and_is_cleaned_up(upstream, tmp_path):
    code, output, runs = harness(tmp_path, "--api", "i3d", "--target", f"i3d={upstream.url}",
                                 "--max-examples", "10",
                                 env={"I3D_PRIVATE_TOKEN": "dev-token", "I3D_INSTANCE_IDS": "1001,1002"})
    assert code == 0, output[-4000:]
    created = [json.loads(line) for line in (tmp_path / "i3d" / "created.ndjson").read_text().splitlines()]
    assert created and all(r["kind"] == "task" for r in created)
    # Cleanup cancelled what the run created: none of those tasks is still running.
    client = upstream.client(headers={"PRIVATE-TOKEN": "dev-token"})
    codes = {client.get(f"{I3D}/task/{r['id']}").json()[0]["resultCode"] for r in created}
    assert not codes & {0, 1, 2}, codes
    assert "not cleaned up" not in output
    # The mock checked every answer it gave the run (--strict): none violated the spec.
    journal = upstream.client().get("/__admin/requests", params={"limit": 10000}).json()
    assert len(journal) > 300
    assert not [e for e in journal if e["response"].startswith("invalid")]


def test_a_non_loopback_target_plans_only_reads_unless_mutations_are_allowed(tmp_path):
    code, output, _ = harness(tmp_path, "--target", "i3d=https://staging.example", "--target",
                              "polardb=https://polardb.example", "--api", "i3d", "--api", "polardb", "--dry-run")
    assert code == 0, output
    runs = [line.split()[1] for line in output.splitlines() if line.strip().startswith("run ")]
    skips = [line.split()[1] for line in output.splitlines() if line.strip().startswith("skip ")]
    assert set(runs) == {"GET", "POST"} and "POST" in skips and "PUT" in skips and "DELETE" in skips, output
    assert f"run   GET {I3D}/task/{{taskId}}" in output and f"skip  POST {I3D}/task" in output
    assert "run   POST /rpc/polardb/DescribeBatchTasks" in output
    assert "skip  POST /rpc/polardb/CreateBatchTask" in output
    assert "rate limit: 5/s" in output and "time budget: 300s" in output
    # No peer token only skips the cross-account check; no token at all sends requests without credentials.
    assert "I3D_PEER_PRIVATE_TOKEN unset: the cross_account_read check is skipped" in output, output
    assert "missing credentials: I3D_PRIVATE_TOKEN" in output and "missing credentials: I3D_PEER" not in output
    code, allowed, _ = harness(tmp_path, "--target", "i3d=https://staging.example", "--api", "i3d", "--dry-run",
                               "--allow-mutations")
    assert code == 0 and "skip " not in allowed and f"run   DELETE {I3D}/task/{{taskId}}" in allowed


def test_every_api_runs_through_the_harness_and_no_credential_reaches_a_report(upstream, tmp_path):
    """All four APIs against a loopback URL with credentials from the environment. Drove, PolarDB and
    bolttech are being rebuilt as vendor profiles: their verdict is not asserted, only that they ran."""
    secrets = {"DROVE_USERNAME": "harness-user", "DROVE_PASSWORD": "harness-drove-password-7q",
               "ALIBABA_CLOUD_ACCESS_KEY_ID": "harnessKeyId7q",
               "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "harness-acs-secret-7q",
               "BOLTTECH_BEARER": "harness-bearer-7q", "BOLTTECH_STRATEGY_SECRET": "harness-strategy-secret-7q"}
    targets = [arg for api in ("polardb", "drove", "bolttech") for arg in ("--target", f"{api}={upstream.url}")]
    code, output, runs = harness(tmp_path, *targets, "--api", "polardb", "--api", "drove", "--api", "bolttech",
                                 "--max-examples", "3", "--phases", "coverage,fuzzing", env=secrets)
    assert code in (0, 1), output[-3000:]
    assert set(runs) == {"polardb", "drove", "bolttech"} and all(r["operations"]["tested"] for r in runs.values())
    forms = set(secrets.values()) - {"harness-user"}
    forms |= {base64.b64encode(b"harness-user:harness-drove-password-7q").decode(),
              base64.b64encode(b"harness-strategy-secret-7q").decode().rstrip("=")}
    leaks = {(str(p.relative_to(tmp_path)), s) for p in tmp_path.rglob("*") if p.is_file()
             for s in forms if s.encode() in p.read_bytes()}
    assert not leaks, sorted(leaks)
    assert not [s for s in forms if s in output]
