"""Drove: HTTP Basic auth, the fixtures' app names and task ids in positive reads, KILL what a run created.

The spec cannot say which ``sourceAppName``/``taskId`` pairs exist; positive cases outside the
stateful phase use the pairs of ``fixtures/drove.yaml`` (its ``tasks:``) against the mock, else the
spec's own example pair. Search and spec validation are POSTs that change nothing.
"""

from __future__ import annotations

from pathlib import Path

import requests
import yaml

from contract_tests.apis import Adapter, Resource, Target, is_positive
from mock_server import PROJECT_ROOT

USERNAME, PASSWORD = "DROVE_USERNAME", "DROVE_PASSWORD"
FIXTURES = PROJECT_ROOT / "fixtures" / "drove.yaml"
READ_ONLY_POSTS = {"searchTask", "validateTaskSpec"}
KILL_SPEC = {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}


def _fixtures(path: Path = FIXTURES) -> dict:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def _mock_user() -> tuple[str, str]:
    users = _fixtures().get("users") or [{"username": "admin", "password": "admin"}]
    writer = next((u for u in users if "READ_ONLY" not in str(u.get("role", ""))), users[0])
    return writer["username"], writer["password"]


class Drove(Adapter):
    def read_only(self, method: str, operation: dict) -> bool:
        return super().read_only(method, operation) or operation.get("operationId") in READ_ONLY_POSTS

    def prepare(self, target: Target) -> dict:
        tasks = _fixtures().get("tasks") or [] if target.is_mock else []
        pairs = [[t["spec"]["sourceAppName"], t["spec"]["taskId"]] for t in tasks if "spec" in t]
        return {"tasks": pairs or [["TEST_APP", "T0012"]]}

    def map_case(self, case, data: dict):
        params = case.path_parameters or {}
        if (is_positive(case) and case.meta.phase.name.value != "stateful" and "sourceAppName" in params
                and "taskId" in params and data.get("tasks")):
            app, task = data["tasks"][hash(repr(sorted(params.items()))) % len(data["tasks"])]
            params["sourceAppName"], params["taskId"] = app, task
        return case

    def created(self, case, response) -> list[Resource]:
        body = case.body if isinstance(case.body, dict) else {}
        if (case.path.endswith("/tasks/operations") and body.get("type") == "CREATE"
                and 200 <= response.status_code < 300 and isinstance(body.get("spec"), dict)):
            spec = body["spec"]
            return [Resource("task", f"{spec.get('sourceAppName')}/{spec.get('taskId')}")]
        return []

    def cleanup(self, target: Target, resources: list[Resource]) -> list[str]:
        """KILL every task the run created; a KILL of a finished task is refused, which is fine."""
        left = []
        session = requests.Session()
        session.trust_env = False
        session.auth = (target.env.get(USERNAME, ""), target.env.get(PASSWORD, ""))
        for resource in resources:
            app, _, task = resource.id.partition("/")
            try:
                answer = session.post(target.url + "/apis/v1/tasks/operations", timeout=30,
                                      json={"type": "KILL", "sourceAppName": app, "taskId": task, "opSpec": KILL_SPEC})
            except requests.RequestException as exc:
                left.append(f"task {resource.id}: {exc.__class__.__name__}")
                continue
            if answer.status_code >= 500 or answer.status_code in (401, 403):
                left.append(f"task {resource.id}: KILL answered {answer.status_code}")
        return left


_user = _mock_user()
adapter = Drove(
    "drove",
    credentials={USERNAME: _user[0], PASSWORD: _user[1]},
    auth={"openapi": {"basicAuth": {"username": "${" + USERNAME + "}", "password": "${" + PASSWORD + "}"}}},
)
