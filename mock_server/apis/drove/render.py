"""What the Drove controller writes: TaskInfo per state, the ``ApiResponse`` envelope, error answers.

Drove's mapper omits nulls (``NON_NULL``) and keeps empty maps and lists; dates are epoch
milliseconds. A TaskInfo field appears exactly when the executor has set it (drove-executor
``TaskInstanceEngine``, ``TaskRunAction``, ``TaskMonitoringAction``): ``hostname`` once the container
runs, ``taskResult`` and the failure's ``errorMessage`` once the run is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mock_server.lifecycle import last_tick

from .cluster import Allocation
from .lifecycle import RUN_OVER, Status
from .validation import COMMAND_FAILURE, JSON_FAILURE, SERVER_ERROR

UNAUTHORIZED_TEXT = "Credentials are required to access this resource."
CHALLENGE = 'Basic realm="realm"'
# The executor re-sends every instance's info (``updated`` = now) on its periodic snapshot; the
# mock's period. The controller marks a task LOST after a minute without one, so it must be shorter.
REPORT_SECONDS = 20
_RESULT = {"done": "SUCCESSFUL", "failed": "FAILED", "cancelled": "CANCELLED"}


@dataclass(frozen=True)
class Answer:
    """One HTTP answer; the same fields as the engine's ``Reply``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = "application/json"


# -- the envelope ---------------------------------------------------------------------------------
def success(data: Any = None) -> dict:
    """``ApiResponse.success``: no ``data`` key when there is none (validate/spec)."""
    return _envelope("SUCCESS", data, "success")


def failure(message: str, data: Any = None) -> dict:
    """``ApiResponse.failure``: ``status FAILED``; no ``data`` key when there is none."""
    return _envelope("FAILED", data, message)


def _envelope(status: str, data: Any, message: str) -> dict:
    body: dict[str, Any] = {"status": status}
    if data is not None:
        body["data"] = data
    body["message"] = message
    return body


# -- error answers (the server's statuses and bodies) ---------------------------------------------
def unauthorized() -> Answer:
    """Dropwizard's basic-auth handler: plain text and a challenge, for a missing or wrong credential."""
    return Answer(401, UNAUTHORIZED_TEXT, {"WWW-Authenticate": CHALLENGE}, "text/plain")


def forbidden() -> Answer:
    """Jersey's RolesAllowed refusal, passed through unchanged by Drove's WebApplicationException mapper."""
    return Answer(403, None, {}, None)


def command_failure(messages: list[str]) -> Answer:
    return Answer(400, failure(COMMAND_FAILURE, {"validationErrors": list(messages)}))


def json_failure(message: str) -> Answer:
    return Answer(400, failure(JSON_FAILURE, {"validationErrors": [message]}))


def server_error(text: str) -> Answer:
    """Drove's catch-all mapper (``CatchAllErrorHandler``)."""
    return Answer(500, failure(SERVER_ERROR, {"failure": text}))


def no_such_task(source_app: str, task_id: str) -> Answer:
    """GET show of an unknown task: HTTP 200 with ``status FAILED`` and no ``data``."""
    return Answer(200, failure(f"No such task instance {source_app}/{task_id}"))


def delete_failed(source_app: str, task_id: str) -> Answer:
    return Answer(200, failure(f"Could not delete {source_app}/{task_id}", {"deleted": False}))


def search_redirect(found: bool, source_app: str, task_id: str) -> Answer:
    """``POST /apis/v1/tasks/search``: 303 to the task's UI page, or to ``/``; no body."""
    location = f"/tasks/{source_app}/{task_id}" if found else "/"
    return Answer(303, None, {"Location": location}, None)


def error_body(kind: str, message: str, details: list[str] | None = None) -> tuple[Any, str | None]:
    """(body, media type) of a rejection the engine raised, by kind: the seam's ErrorStyle.

    Statuses stay the error layer's; these are the bodies Drove sends with them. Jersey's own
    refusals (403, 404 unknown path, 405, 413, 415) pass through Drove's WebApplicationException
    mapper with no entity: an empty body.
    """
    if kind == "unauthenticated":
        return UNAUTHORIZED_TEXT, "text/plain"
    if kind in ("invalid", "invalid_path", "conflict", "gone"):
        return failure(COMMAND_FAILURE, {"validationErrors": list(details or [message])}), "application/json"
    if kind in ("unavailable", "server_error"):
        return failure(SERVER_ERROR, {"failure": message}), "application/json"
    return None, None


# -- TaskInfo -----------------------------------------------------------------------------------
def task_info(record: dict, status: Status, now: float) -> dict:
    """The TaskInfo the server returns for ``record`` in ``status`` (list and show ``data``)."""
    spec, a = record["spec"], record["allocation"]
    allocation = Allocation(a["executorId"], a["hostname"], a["numaNode"], tuple(a["cores"]), a["memoryMB"])
    info: dict[str, Any] = {
        "sourceAppName": record["sourceAppName"],
        "taskId": record["taskId"],
        "instanceId": record["instanceId"],
        "executorId": allocation.executor_id,
    }
    if status.started_at is not None and now >= status.started_at:
        info["hostname"] = allocation.hostname
    info["executable"] = spec["executable"]
    info["resources"] = allocation.resources()
    for name, source in (("volumes", "volumes"), ("loggingSpec", "logging"), ("env", "env")):
        if spec.get(source) is not None:
            info[name] = spec[source]
    info["state"] = status.state
    info["metadata"] = {}
    over = status.state in RUN_OVER
    if over:
        info["taskResult"] = task_result(record, status)
    failed = over and status.outcome == "failed"
    info["errorMessage"] = f"Task instance exited with status: {record['exitCode']}" if failed else ""
    info["created"] = _ms(record["created"])
    info["updated"] = _ms(updated_at(record, status, now))
    return info


def task_result(record: dict, status: Status) -> dict:
    code = {"done": 0, "failed": record["exitCode"], "cancelled": -1}[status.outcome]
    return {"status": _RESULT[status.outcome], "exitCode": code}


def updated_at(record: dict, status: Status, now: float) -> float:
    """When the executor last reported: the state change, or its latest periodic snapshot."""
    if status.finished_at is not None:
        return status.finished_at
    return max(status.since, last_tick(record["created"], REPORT_SECONDS, now))


def _ms(t: float) -> int:
    return int(round(t * 1000))
