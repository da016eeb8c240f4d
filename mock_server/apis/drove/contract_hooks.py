"""Drove's Schemathesis hooks (loaded by contract_tests/vendor_hooks.py, never by the mock itself):
generated data that reaches the fixtures' tasks and passes the controller's own checks.

* The spec cannot say which ``sourceAppName``/``taskId`` pairs exist: positive reads outside the
  stateful phase (where links supply them) address a task of ``fixtures/drove.yaml``.
* The spec's examples CREATE ``TEST_APP/T0012``, which the fixtures already hold (Drove refuses a
  duplicate in any state until DELETE: "Task already exists"), and KILL that finished task ("Either
  task does not exist or has already finished"). In the examples phase a CREATE gets a task id of
  its own and a KILL targets the fixtures' running task, so each example is the request it means.

Every operation of another API is left alone.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import schemathesis
import yaml

from mock_server import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "fixtures" / "drove.yaml"
TASK_READS = {"getTaskInstance", "deleteTaskInstance", "listTaskLogFiles", "readTaskLogFile", "downloadTaskLogFile"}


def _fixture_tasks() -> list[dict]:
    return [t["spec"] for t in (yaml.safe_load(FIXTURES.read_text()) or {}).get("tasks") or [] if "spec" in t]


TASKS = _fixture_tasks()
PAIRS = [(t["sourceAppName"], t["taskId"]) for t in TASKS]
# The fixture task still running while a run goes (the clock is frozen): what an example KILL stops.
RUNNING_TASK = ("reports-app", "nightly-export-20261201")
_fresh = itertools.count(1)


def _operation_id(case: Any) -> str | None:
    return case.operation.definition.raw.get("operationId")


def _positive(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _phase(case: Any) -> str:
    return case.meta.phase.name.value if case.meta is not None else ""


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if not case.operation.path.startswith("/apis/v1/") or not _positive(case):
        return
    operation_id, params, body = _operation_id(case), case.path_parameters, case.body
    if operation_id in TASK_READS and _phase(case) != "stateful" and PAIRS and params \
            and {"sourceAppName", "taskId"} <= set(params):
        digest = hashlib.sha256(repr(sorted(params.items())).encode("utf-8", "surrogatepass")).digest()
        params["sourceAppName"], params["taskId"] = PAIRS[digest[0] % len(PAIRS)]
    elif operation_id == "taskOperation" and _phase(case) == "examples" and isinstance(body, dict):
        spec = body.get("spec")
        if body.get("type") == "CREATE" and isinstance(spec, dict) and isinstance(spec.get("taskId"), str):
            spec["taskId"] = f"{spec['taskId']}-example-{next(_fresh)}"
        elif body.get("type") == "KILL":
            body["sourceAppName"], body["taskId"] = RUNNING_TASK
