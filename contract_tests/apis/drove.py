"""Drove: HTTP Basic auth, the stateful settings that reach every link, KILL what a run created.

Which ``sourceAppName``/``taskId`` pairs exist, and what the spec's examples need to be accepted, is
Drove's own generation knowledge: ``mock_server/apis/drove/contract_hooks.py``, loaded with every
vendor's hooks. Search and spec validation are POSTs that change nothing.
"""

from __future__ import annotations

from pathlib import Path

import requests
import yaml

from contract_tests.apis import Adapter, Resource, Target
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
    settings={"phases": {"stateful": {
        # A KILL of a finished task or a read of a deleted one is Drove's documented answer, not a
        # broken link: keep every link in play instead of letting calibration starve them.
        "link-calibration": False,
        # Sequences of valid requests reach the tasks; invalid data is the other phases' job.
        "max-steps": 12, "generation": {"max-examples": 40, "mode": "positive"},
    }}},
)
