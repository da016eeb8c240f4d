"""Schemathesis, every check and every phase, against the served mock's i3D operations: zero failures."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mock_server import PROJECT_ROOT

from .conftest import CLOCK_START

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def run_schemathesis(url: str, report_dir: Path, *extra: str, checks: tuple[str, ...] = ("--checks", "all"),
                     workers: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(PROJECT_ROOT / "schemathesis.toml"), "run",
         str(PROJECT_ROOT / "specs" / "openapi.yaml"), "--url", url,
         *checks, "--phases", "examples,coverage,fuzzing,stateful",
         "--seed", "1", "--workers", str(workers), "--suppress-health-check", "too_slow",
         "--report", "junit", "--report-dir", str(report_dir), *extra],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )


def test_i3d_operations_pass_every_schemathesis_check_including_stateful(serve, tmp_path):
    server = serve("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    result = run_schemathesis(server.url, tmp_path, "--include-path-regex", "^/v3/applicationInstance/",
                              "--max-examples", "40", "-H", "PRIVATE-TOKEN: dev-token")
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 8" in summary, summary
    assert "✅ Stateful" in summary and "✅ Fuzzing" in summary and "✅ Coverage" in summary, summary
    suites = ET.parse(next(tmp_path.glob("*.xml"))).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 8
    assert not suites.findall(".//failure") and not suites.findall(".//error"), summary
    # The mock checked its own responses too (strict): nothing it sent violated the spec.
    journal = server.client().get("/__admin/requests", params={"limit": 10000}).json()
    assert len(journal) > 300
    assert not [e for e in journal if e["response"].startswith("invalid")]
