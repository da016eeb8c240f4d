"""Schemathesis, every check and every phase (links included), against the served mock's bolttech
operations with the fixture credentials: zero failures, and generation that reaches the fixtures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .conftest import CLOCK_START
from .schemathesis_run import run_schemathesis

CREDENTIALS = ("-H", "Authorization: Bearer dev-bearer", "-H", "Strategy-Secret: ZGV2LXNlY3JldA==")


def test_bolttech_operations_pass_every_schemathesis_check_including_stateful(serve, tmp_path):
    server = serve("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    # One worker: two threads parsing Hypothesis' lambda sources at once trip CPython 3.11's
    # "AST constructor recursion depth mismatch" SystemError inside Schemathesis' coverage phase.
    result = run_schemathesis(server.url, tmp_path, "--include-path-regex", "^/(execution-|queue)",
                              "--max-examples", "10", "--workers", "1", *CREDENTIALS)
    out = result.stdout
    summary = out[out.find("SUMMARY"):]
    assert result.returncode == 0, out[-6000:] + result.stderr[-2000:]
    assert "Tested: 15" in summary, summary
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in summary, summary
    assert "Missing test data" not in out, out[out.find("WARNINGS"):]
    assert "Authentication failed" not in out, out[out.find("WARNINGS"):]
    links = next(line for line in out.splitlines() if "API Links:" in line)
    assert int(links.split("API Links:")[1].split("covered")[0]) >= 5, links
    suites = ET.parse(next(tmp_path.glob("*.xml"))).getroot()
    assert len(suites.findall(".//testcase")) >= 15
    assert not suites.findall(".//failure") and not suites.findall(".//error"), summary
    # The mock checked its own responses too (strict): nothing it sent violated the spec, and the
    # fixture instance was reached (not only 404s).
    journal = server.client().get("/__admin/requests", params={"limit": 10000}).json()
    assert len(journal) > 300
    assert not [e for e in journal if e["response"].startswith("invalid") or e["status"] >= 500]
    statuses = {e["status"] for e in journal if e["operationId"] == "ExecutionInstanceController_getTasks"}
    assert 200 in statuses, statuses
