"""Schemathesis (every check, every phase) against the admin API's own document, served by the
mock at /__admin/openapi.json: no failure at all, no server error, nothing excluded. State-changing
admin operations (reset, import, clock) may change the state during the run; that is their job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CLOCK_START, start_server
from .test_schemathesis_engine import failures

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    server = start_server("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    reports = tmp_path_factory.mktemp("schemathesis-admin")
    try:
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{server.url}/__admin/openapi.json", "--url", f"{server.url}/__admin",
             "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
             "--seed", "1", "--max-examples", "30", "--workers", "1", "--generation-database", "none",
             "--no-color", "--report", "ndjson,json", "--report-dir", str(reports),
             "--report-ndjson-path", str(reports / "events.ndjson"),
             "--report-json-path", str(reports / "run.json")],
            cwd=reports, capture_output=True, text=True, timeout=600,
        )
        healthy = server.client().get("/__admin/health").status_code
    finally:
        server.kill()
    return {"result": result, "events": reports / "events.ndjson", "summary": reports / "run.json",
            "healthy": healthy, "log": server.log}


def test_schemathesis_tested_every_admin_operation_in_every_phase(run):
    result = run["result"]
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(run["summary"].read_text())
    assert summary["complete"] and summary["stop_reason"] == "completed", summary["stop_reason"]
    assert summary["operations"]["tested"] == 9, summary["operations"]
    assert all(summary["phases"][phase]["status"] != "skipped"
               for phase in ("examples", "coverage", "fuzzing", "stateful")), summary["phases"]


def test_schemathesis_finds_no_failure_in_the_admin_api(run):
    found = failures(run["events"])
    assert not found, json.dumps(found[:10], indent=1) + run["result"].stdout[-3000:]
    assert run["result"].returncode == 0, run["result"].stdout[-3000:]


def test_the_mock_is_healthy_after_the_run_and_logged_no_traceback(run):
    assert run["healthy"] == 200
    assert "Traceback" not in run["log"], run["log"][-4000:]
