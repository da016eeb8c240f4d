"""Drove: HTTP Basic auth, the stateful settings that reach every link, KILL what a run created.

Which ``sourceAppName``/``taskId`` pairs exist, and what the spec's examples need to be accepted, is
Drove's own generation knowledge: ``mock_server/apis/drove/contract_hooks.py``, loaded with every
vendor's hooks. Search and spec validation are POSTs that change nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from contract_tests.apis import Adapter, Resource, Undo, fixtures

USERNAME, PASSWORD = "DROVE_USERNAME", "DROVE_PASSWORD"
READ_ONLY_POSTS = {"searchTask", "validateTaskSpec"}
KILL_SPEC = {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}


def _kill(task: str) -> dict:
    app, _, task_id = task.partition("/")
    return {"type": "KILL", "sourceAppName": app, "taskId": task_id, "opSpec": KILL_SPEC}


def _mock_user() -> tuple[str, str]:
    users = fixtures("drove").get("users") or [{"username": "admin", "password": "admin"}]
    writer = next((u for u in users if "READ_ONLY" not in str(u.get("role", ""))), users[0])
    return writer["username"], writer["password"]


class Drove(Adapter):
    def read_only(self, method: str, operation: dict) -> bool:
        return super().read_only(method, operation) or operation.get("operationId") in READ_ONLY_POSTS

    def target_headers(self, env: Mapping[str, str]) -> dict[str, str]:
        pair = f"{env.get(USERNAME, '')}:{env.get(PASSWORD, '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def created(self, case, response) -> list[Resource]:
        # The task's id is the one the CREATE named (Drove answers only {"taskId": ...} for it).
        body = case.body if isinstance(case.body, dict) else {}
        if (case.path.endswith("/tasks/operations") and body.get("type") == "CREATE"
                and 200 <= response.status_code < 300 and isinstance(body.get("spec"), dict)):
            spec = body["spec"]
            return [Resource("task", f"{spec.get('sourceAppName')}/{spec.get('taskId')}")]
        return []


_user = _mock_user()
adapter = Drove(
    "drove",
    credentials={USERNAME: _user[0], PASSWORD: _user[1]},
    auth={"openapi": {"basicAuth": {"username": "${" + USERNAME + "}", "password": "${" + PASSWORD + "}"}}},
    # A KILL of a finished task is refused (400), which is fine: only a server error or a refused
    # login leaves it running.
    undo={"task": Undo("POST", "/apis/v1/tasks/operations", body=_kill,
                       done=set(range(200, 500)) - {401, 403})},
    settings={"phases": {"stateful": {
        # A KILL of a finished task or a read of a deleted one is Drove's documented answer, not a
        # broken link: keep every link in play instead of letting calibration starve them.
        "link-calibration": False,
        # Sequences of valid requests reach the tasks; invalid data is the other phases' job.
        "max-steps": 12, "generation": {"max-examples": 40, "mode": "positive"},
    }}},
)
