"""One pure function per Drove operationId: the controller's answer, given the vendor's store, the
virtual time and the request's parts. No HTTP, no framework: a seam handler only unpacks its
context, calls one of these and returns the ``Answer`` as its reply.

Store: anything with ``get/put/delete/items(collection, ...)`` (the engine's Store, or a vendor's
namespace of it); task records live in ``TASKS`` under ``<sourceAppName>/<taskId>``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Protocol

from . import logs, render, tasks
from .cluster import Cluster
from .lifecycle import ACTIVE, status_of
from .render import Answer
from .validation import (
    JSON_FAILURE,
    check_operation,
    check_spec,
    duplicate_message,
    kill_target_message,
    log_read_violations,
    required_resources,
    search_violations,
)

TASKS = "tasks"
KEY = "{sourceAppName}/{taskId}"   # a task record's key, from its fields
WRITE_ROLES = frozenset({"DROVE_EXTERNAL_READ_WRITE", "DROVE_EXTERNAL_ROOT"})
LOG_ROLES = frozenset({"DROVE_EXTERNAL_READ_WRITE", "DROVE_EXTERNAL_ROOT", "DROVE_EXTERNAL_READ_ONLY"})


class Store(Protocol):
    def get(self, collection: str, key: str) -> dict | None: ...
    def put(self, collection: str, key: str, value: dict) -> None: ...
    def delete(self, collection: str, key: str) -> bool: ...
    def items(self, collection: str) -> list[tuple[str, dict]]: ...


def key(source_app: str, task_id: str) -> str:
    return KEY.format(sourceAppName=source_app, taskId=task_id)


def _records(store: Store) -> list[dict]:
    return [record for _, record in store.items(TASKS)]


# -- auth -----------------------------------------------------------------------------------------
def authenticate(users: list[dict], authorization: str | None) -> dict | None:
    """The fixture user named by an ``Authorization: Basic`` header (PLAIN passwords), else None -> 401."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return next((u for u in users if u["username"] == username and str(u["password"]) == password), None)


def may_operate(role: str) -> bool:
    """``@RolesAllowed`` on task operations (Drove's authorizer compares the role exactly)."""
    return role in WRITE_ROLES


def may_read_logs(role: str) -> bool:
    """``@RolesAllowed`` on the log-file resource class."""
    return role in LOG_ROLES


# -- operations -----------------------------------------------------------------------------------
def ping() -> Answer:
    return Answer(200, render.success("pong"))


def task_operation(store: Store, body: Any, *, now: float, seed: int, cluster: Cluster) -> Answer:
    """``POST /apis/v1/tasks/operations`` (CREATE / KILL), after the role check."""
    verdict = check_operation(body, cluster, tasks.in_use(_records(store), now))
    if not verdict.ok:
        return _refusal(verdict)
    op = verdict.bound
    if op["type"] == "KILL":
        record = store.get(TASKS, key(op["sourceAppName"], op["taskId"]))
        killed = tasks.kill(record, now) if record is not None else None
        if killed is None:
            return render.command_failure([kill_target_message(op["sourceAppName"], op["taskId"])])
        store.put(TASKS, key(op["sourceAppName"], op["taskId"]), killed)
        return Answer(200, render.success({"taskId": op["taskId"]}))
    spec = op["spec"]
    app, task_id = spec["sourceAppName"], spec["taskId"]
    if store.get(TASKS, key(app, task_id)) is not None:
        return render.command_failure([duplicate_message(app, task_id)])
    cores, memory = required_resources(spec)
    allocation = cluster.allocate(spec.get("placementPolicy"), cores, memory, tasks.in_use(_records(store), now))
    if allocation is not None:  # else the start job never places it: accepted, but no task appears
        store.put(TASKS, key(app, task_id), tasks.new_record(spec, allocation, created=now, seed=seed))
    return Answer(200, render.success({"taskId": f"{app}-{task_id}"}))


def validate_spec(store: Store, body: Any, *, now: float, cluster: Cluster) -> Answer:
    """``POST /apis/v1/tasks/validate/spec``: success has no ``data``."""
    verdict = check_spec(body, cluster, tasks.in_use(_records(store), now))
    return Answer(200, render.success()) if verdict.ok else _refusal(verdict)


def _refusal(verdict) -> Answer:
    if verdict.status == 500:
        return render.server_error(verdict.messages[0])
    if verdict.message == JSON_FAILURE:
        return render.json_failure(verdict.messages[0])
    return render.command_failure(verdict.messages)


def list_tasks(store: Store, *, now: float) -> Answer:
    """``GET /apis/v1/tasks``: the tasks in an active state (the ones with a runner), oldest first."""
    out = []
    for record in _records(store):
        status = status_of(record, now)
        if status.state in ACTIVE:
            out.append(render.task_info(record, status, now))
    return Answer(200, render.success(out))


def get_task(store: Store, source_app: str, task_id: str, *, now: float) -> Answer:
    record = store.get(TASKS, key(source_app, task_id))
    if record is None:
        return render.no_such_task(source_app, task_id)
    return Answer(200, render.success(render.task_info(record, status_of(record, now), now)))


def delete_task(store: Store, source_app: str, task_id: str) -> Answer:
    """DELETE removes the record in any state (the server's ``taskDB.deleteTask``)."""
    if store.delete(TASKS, key(source_app, task_id)):
        return Answer(200, render.success({"deleted": True}))
    return render.delete_failed(source_app, task_id)


def search_task(store: Store, form: dict[str, str]) -> Answer:
    app, task_id = form.get("taskSearchAppName"), form.get("taskSearchTaskID")
    problems = search_violations(app, task_id)
    if problems:
        return render.command_failure(problems)
    return render.search_redirect(store.get(TASKS, key(app, task_id)) is not None, app, task_id)


# -- log files ------------------------------------------------------------------------------------
def _log_target(store: Store, cluster: Cluster, source_app: str, task_id: str) -> dict | None:
    """The record when the controller can reach its executor (else the endpoints answer 204)."""
    record = store.get(TASKS, key(source_app, task_id))
    if record is None or cluster.executor(record["allocation"]["executorId"]) is None:
        return None
    return record


def list_log_files(store: Store, source_app: str, task_id: str, *, now: float, seed: int,
                   cluster: Cluster) -> Answer:
    record = _log_target(store, cluster, source_app, task_id)
    if record is None:
        return logs.no_content()
    if not logs.log_bytes(record, status_of(record, now), now, seed):
        return logs.missing_dir(logs.log_dir(cluster.log_path, source_app, task_id))
    return logs.list_answer()


def read_log_file(store: Store, source_app: str, task_id: str, file_name: str, *, offset: int = -1,
                  length: int = -1, now: float, seed: int, cluster: Cluster) -> Answer:
    problems = log_read_violations(offset, length)
    if problems:
        return render.command_failure(problems)
    record = _log_target(store, cluster, source_app, task_id)
    if record is None:
        return logs.no_content()
    folder = logs.log_dir(cluster.log_path, source_app, task_id)
    content = logs.log_bytes(record, status_of(record, now), now, seed)
    if file_name != logs.LOG_FILE or not content:
        return logs.missing_file(folder, file_name)
    return logs.read_answer(content, offset, length, f"{folder}/{file_name}")


def download_log_file(store: Store, source_app: str, task_id: str, file_name: str, *, rename: bool = False,
                      now: float, seed: int, cluster: Cluster) -> Answer:
    record = _log_target(store, cluster, source_app, task_id)
    if record is None:
        return logs.no_content()
    content = logs.log_bytes(record, status_of(record, now), now, seed)
    if file_name != logs.LOG_FILE or not content:
        return logs.missing_file(logs.log_dir(cluster.log_path, source_app, task_id), file_name)
    return logs.download_answer(content, file_name, rename=rename, source_app=source_app, task_id=task_id, now=now)


def load_fixtures(store: Store, settings: dict, *, now: float, seed: int) -> Cluster:
    """Load fixtures/drove.yaml: the cluster (returned) and the earlier tasks (stored)."""
    cluster = Cluster.from_settings(settings.get("cluster") or {})
    for record in tasks.seed_tasks(settings, cluster, now, seed):
        store.put(TASKS, key(record["sourceAppName"], record["taskId"]), record)
    return cluster
