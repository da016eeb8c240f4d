"""Running the Schemathesis 4 CLI the way the suite does: the committed config, every phase, a
fixed seed, a JUnit report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mock_server import PROJECT_ROOT

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
