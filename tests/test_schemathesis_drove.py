"""Schemathesis, every check and every phase (stateful with the links of specs/overlays/drove-links.yaml),
against the served mock's Drove operations, authenticated as admin:admin: zero failures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .conftest import CLOCK_START
from .schemathesis_run import run_schemathesis

DROVE_OPERATIONS = 10
# Every check of Schemathesis 4 but max_response_time (which needs a limit to mean anything).
EVERY_CHECK = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
               "positive_data_acceptance", "missing_required_header", "unsupported_method",
               "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth",
               "object_level_authorization"}


def test_drove_operations_pass_every_schemathesis_check_including_stateful(serve, tmp_path):
    server = serve("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    # Every check runs (Schemathesis' default): naming them with `--checks all` would override the
    # per-operation entries of schemathesis.toml. Credentials come from --auth, so generating (and
    # mutating) them would only make cases that --auth then undoes. One worker: on CPython 3.11,
    # Hypothesis describing the deep TaskSpec strategies in two threads at once trips
    # "SystemError: AST constructor recursion depth mismatch" in ast.parse (not thread-safe there).
    result = run_schemathesis(server.url, tmp_path, "--include-path-regex", "^/apis/v1/",
                              "--max-examples", "25", "--auth", "admin:admin",
                              "--generation-with-security-parameters", "false", "--report", "junit,ndjson",
                              checks=(), workers=1)
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert f"Tested: {DROVE_OPERATIONS}" in summary, summary
    assert "✅ Examples" in summary and "✅ Coverage" in summary, summary
    assert "✅ Fuzzing" in summary and "✅ Stateful" in summary, summary
    assert "missing test data" not in result.stdout.lower(), result.stdout[-4000:]
    links = result.stdout[result.stdout.find("API Links:"):].splitlines()[0]
    covered = int(links.split()[2])
    assert covered >= 5, f"the stateful phase follows the CREATE links: {links}"
    suites = ET.parse(next(tmp_path.glob("*.xml"))).getroot()
    assert len(suites.findall(".//testcase")) >= DROVE_OPERATIONS
    assert not suites.findall(".//failure") and not suites.findall(".//error"), summary
    ran = {check["name"] for line in next(tmp_path.glob("*.ndjson")).read_text().splitlines()
           for scenario in [json.loads(line).get("ScenarioFinished")] if scenario
           for checks in (scenario["recorder"].get("checks") or {}).values() for check in checks}
    assert not EVERY_CHECK - ran, f"checks that never ran: {EVERY_CHECK - ran}"
    # The mock checked its own responses too (strict): nothing it sent violated the spec.
    journal = server.client().get("/__admin/requests", params={"limit": 10000}).json()
    assert len(journal) > 300
    assert not [e for e in journal if e["response"].startswith("invalid")]
    operations = {e["operationId"] for e in journal}
    assert {"taskOperation", "getTaskInstance", "deleteTaskInstance", "readTaskLogFile"} <= operations
