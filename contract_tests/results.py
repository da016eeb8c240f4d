"""What one API's run found, read back from Schemathesis' own reports (its NDJSON event stream and
its JSON run report): operations tested, checks run, failures by check, links covered, warnings.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The warnings that say fuzzing did not reach the core logic (Schemathesis' names).
REACH_WARNINGS = ("missing_test_data", "validation_mismatch")


@dataclass
class ApiResult:
    api: str
    exit_code: int
    seconds: float
    operations_selected: int = 0
    operations_tested: int = 0
    test_cases: int = 0
    checks_run: Counter = field(default_factory=Counter)      # check name -> times run
    failures: Counter = field(default_factory=Counter)        # check name -> failed results
    failed_operations: dict[str, set[str]] = field(default_factory=dict)   # check -> operation labels
    links_selected: int = 0
    links_covered: set[str] = field(default_factory=set)
    warnings: dict[str, list[str]] = field(default_factory=dict)   # warning name -> operations
    errors: list[str] = field(default_factory=list)
    not_cleaned: list[str] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors and not self.not_cleaned

    @property
    def link_coverage(self) -> float:
        return len(self.links_covered) / self.links_selected if self.links_selected else 1.0

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [f"{self.api}: {verdict} in {self.seconds:.1f}s (Schemathesis exit code {self.exit_code})",
                 f"  operations tested: {self.operations_tested}/{self.operations_selected};"
                 f" test cases: {self.test_cases}",
                 f"  checks run: {len(self.checks_run)} kinds, {sum(self.checks_run.values())} results",
                 f"  links covered: {len(self.links_covered)}/{self.links_selected}"
                 f" ({self.link_coverage:.0%})"]
        if self.failures:
            lines.append("  failures by check: " + ", ".join(
                f"{name} x{count} ({', '.join(sorted(self.failed_operations.get(name, ())))})"
                for name, count in self.failures.most_common()))
        for name, operations in sorted(self.warnings.items()):
            lines.append(f"  warning {name}: {', '.join(operations)}")
        for error in self.errors:
            lines.append(f"  error: {error}")
        for line in self.not_cleaned:
            lines.append(f"  not cleaned up: {line}")
        return "\n".join(lines)


def read(api: str, exit_code: int, seconds: float, ndjson: Path, run_json: Path) -> ApiResult:
    result = ApiResult(api, exit_code, seconds)
    if ndjson.exists():
        _read_events(result, ndjson)
    if run_json.exists():
        document = json.loads(run_json.read_text())
        operations = document.get("operations") or {}
        result.operations_selected = operations.get("selected", 0)
        result.operations_tested = operations.get("tested", 0)
        result.test_cases = (document.get("test_cases") or {}).get("generated", 0)
        result.warnings = {name: sorted(labels if isinstance(labels, list) else [str(labels)])
                           for name, labels in (document.get("warnings") or {}).items() if labels}
        result.errors += [f"{e['title']} (x{e['count']})" for e in document.get("errors") or []]
    elif exit_code != 0:
        result.errors.append("Schemathesis wrote no run report")
    return result


def _read_events(result: ApiResult, ndjson: Path) -> None:
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        started = event.get("PhaseStarted")
        if started and started["phase"]["name"] == "stateful" and started.get("payload"):
            result.links_selected = max(result.links_selected, started["payload"].get("transitions_selected", 0))
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        for case in (recorder.get("cases") or {}).values():
            transition = case.get("transition")
            if transition and case.get("is_transition_applied"):
                result.links_covered.add(transition["id"])
        for checks in (recorder.get("checks") or {}).values():
            for check in checks:
                result.checks_run[check["name"]] += 1
                if check["status"] == "failure":
                    result.failures[check["name"]] += 1
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    result.failed_operations.setdefault(check["name"], set()).add(failure.get("operation", "?"))
