"""Schemathesis, every check and every phase, on the PolarDB actions through the RPC wire: each case
generated on its virtual path is sent as the SDK sends it (POST /, x-acs-action, ACS3-signed) by
contract_tests/polardb_hooks.py, and the answers are checked against the virtual operation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mock_server import PROJECT_ROOT

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ACTIONS = {"CreateBatchTask", "DescribeBatchTasks", "DescribeBatchTask", "DescribePolarClawTask",
           "InstallPolarClawSkill"}


def test_polardb_actions_pass_every_schemathesis_check_through_the_rpc_wire(serve, tmp_path):
    # The clock is frozen at the wall time: the hooks sign with the wall clock, as the SDK does.
    server = serve("--strict", "--frozen-clock")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    result = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(PROJECT_ROOT / "schemathesis.toml"), "run",
         str(PROJECT_ROOT / "specs" / "openapi.yaml"), "--url", server.url,
         "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
         "--seed", "1", "--max-examples", "20", "--workers", "1", "--generation-database", "none",
         "--include-path-regex", "^/rpc/polardb/", "--suppress-health-check", "too_slow", "--no-color",
         "--report", "ndjson", "--report-dir", str(tmp_path), "--report-ndjson-path", str(tmp_path / "events.ndjson")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        env={**env, "SCHEMATHESIS_HOOKS": "contract_tests.polardb_hooks"},
    )
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 5" in summary, summary
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in summary, summary
    assert "Missing test data" not in result.stdout and "WARNINGS" not in result.stdout, result.stdout[-4000:]
    finished = [json.loads(line)["ScenarioFinished"] for line in (tmp_path / "events.ndjson").read_text().splitlines()
                if "ScenarioFinished" in line]
    failed = [check for event in finished for checks in (event["recorder"].get("checks") or {}).values()
              for check in checks if check["status"] == "failure"]
    assert finished and not failed, json.dumps(failed[:5], indent=1)[:3000]

    journal = server.client().get("/__admin/requests", params={"limit": 10000}).json()
    # Every request went over the wire, not to the virtual paths, and reached every action.
    assert journal and all(not entry["path"].startswith("/rpc/") for entry in journal), journal[:3]
    assert {entry["operationId"] for entry in journal} >= ACTIONS
    assert {entry["operationId"] for entry in journal if entry["status"] == 200} == ACTIONS
    # The mock checked its own answers (strict): none violated the spec.
    assert not [entry for entry in journal if entry["response"].startswith("invalid")]
    # The stateful phase followed CreateBatchTask's link to a batch it had just created.
    created = [e for e in journal if e["operationId"] == "CreateBatchTask" and e["status"] == 200]
    described = [e["query"] for e in journal if e["operationId"] == "DescribeBatchTask" and e["status"] == 200]
    assert created and any("BatchId=pcb-" in q and "seed" not in q for q in described), described[:10]
