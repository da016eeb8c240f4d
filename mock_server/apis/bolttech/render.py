"""The wire shapes: Instance, Event (nested as the v4 get-tasks page documents), every answer body,
and the deterministic sids. Integers are integers; dates are JavaScript ``toISOString()``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from . import strategies
from .events import OPEN, EventStatus, Interval, StepResult, event_state, queue_paused
from .schedule import iso


def sid(seed: int, counter: int) -> str:
    """The ``counter``-th sid of a run seeded with ``seed``: a version-4-shaped UUID."""
    digest = hashlib.sha256(f"bolttech:{seed}:{counter}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _ms(later: float | None, earlier: float) -> int | None:
    return None if later is None else round((later - earlier) * 1000)


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def next_event(
    instance: Mapping[str, Any], events: Sequence[Mapping[str, Any]], held: Sequence[Interval], now: float
) -> dict[str, str] | None:
    """``nextEvent``: the current cycle's main event while it is still open."""
    main = next((e for e in events if e["sid"] == instance.get("mainEvent")), None)
    if main is None:
        return None
    state = event_state(main, held, now)
    return {"sid": main["sid"], "date": iso(state.date)} if state.status in OPEN else None


def instance(
    record: Mapping[str, Any], *, next_event: Mapping[str, str] | None = None,
    strategy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An Instance; with ``strategy`` it embeds it (pause answer, instances nested in events)."""
    body = {
        "createdAt": iso(record["createdAt"]),
        "updatedAt": iso(record["updatedAt"]),
        "sid": record["sid"],
        "description": record.get("description", ""),
        "strategyId": record["strategyId"],
        "status": record["status"],
        "cycle": int(record["cycle"]),
        "startDate": iso(record["startDate"]),
        "endDate": iso(record["endDate"]) if record.get("endDate") is not None else None,
        "executionDate": iso(record["executionDate"]),
        "executionDay": int(record["executionDay"]),
        "attributes": dict(record.get("attributes") or {}),
        "nextEvent": dict(next_event) if next_event else None,
        "cancelReason": record.get("cancelReason"),
        "strategy": strategies.embedded(strategy) if strategy is not None else None,
    }
    return _compact(body)


def _results(results: Sequence[StepResult], correlation_id: str) -> list[dict[str, Any]]:
    return [
        _compact({
            "step": r.step,
            "success": r.success,
            "fromCache": True if r.from_cache else None,
            "message": r.message,
            "data": r.data,
            "afterResumeData": r.after_resume_data,
            "correlationId": correlation_id if r.asynchronous else None,
        })
        for r in results
    ]


def event(
    record: Mapping[str, Any], held: Sequence[Interval], now: float, *,
    instance_body: Mapping[str, Any] | None = None, strategy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An Event at ``now``. get-tasks passes ``instance_body`` (an Instance with its strategy) and
    ``strategy`` to nest them as the v4 reference page shows; other answers use the plain form."""
    state: EventStatus = event_state(record, held, now)
    date = state.date
    task_status = None
    if state.last_step is not None:
        task_status = {"lastStep": state.last_step, "taskResults": _results(state.results, record["correlationId"])}
    cached = None
    if state.cached_results is not None:
        cached = {"lastStep": state.cached_results[-1].step,
                  "taskResults": _results(state.cached_results, record["correlationId"])}
    queued = state.queued_at is not None
    body = {
        "createdAt": iso(record["created"]),
        "updatedAt": iso(max(record["created"], state.since)),
        "sid": record["sid"],
        "instanceSid": record["instanceSid"],
        "strategySid": record["strategySid"],
        "status": state.status,
        "main": bool(record["main"]),
        "afterCancellation": bool(record.get("afterCancellation")),
        "task": record["task"],
        "date": iso(date),
        "scheduledAt": iso(state.queued_at) if queued else None,
        "scheduleDelta": _ms(state.queued_at, date),
        "executedAt": iso(state.executed_at) if state.executed_at is not None else None,
        "executionDelta": _ms(state.executed_at, date),
        "createdCycle": int(record["createdCycle"]),
        "finishedAt": iso(state.finished_at) if state.finished_at is not None else None,
        "finishDelta": _ms(state.finished_at, date),
        "executionTime": (_ms(state.finished_at, state.executed_at)
                          if state.executed_at is not None and state.finished_at is not None else None),
        "attempt": int(state.attempt),
        "jobId": f"{record['sid']}:{state.attempt}" if queued else None,
        "correlationId": record["correlationId"] if state.parked else None,
        "taskStatus": task_status,
        "cachedTaskStatus": cached,
        "errorMessage": state.error,
        "cancelReason": record.get("cancelReason") if state.status == "CANCELED" else None,
        "execStrategyVersion": int(record["execStrategyVersion"]),
        "instance": dict(instance_body) if instance_body is not None else None,
        "strategy": strategies.embedded(strategy) if strategy is not None else None,
    }
    return _compact(body)


# -- errors -------------------------------------------------------------------------------------------
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}


def error_body(status: int, message: str, details: Sequence[str] | None = None) -> dict[str, Any]:
    """The NestJS default error body: 400 lists its messages (ValidationPipe); a bare 401 is
    ``{statusCode, message: "Unauthorized"}``; 500 has no reason phrase."""
    if status == 400:
        return {"statusCode": 400, "message": list(details) if details else [message], "error": "Bad Request"}
    if status == 401 and message == "Unauthorized":
        return {"statusCode": 401, "message": "Unauthorized"}
    if status >= 500:
        return {"statusCode": status, "message": "Internal server error"}
    body = {"statusCode": status, "message": message}
    return {**body, "error": REASONS[status]} if status in REASONS else body


# -- answers ------------------------------------------------------------------------------------------
def created(instance_body: Mapping, main_event: Mapping, on_create: Sequence[Mapping]) -> dict[str, Any]:
    """POST /execution-instance."""
    return {"executionInstance": dict(instance_body),
            "createdEvents": {"onCreateEvents": list(on_create), "mainEvent": dict(main_event)}}


def cancelled(instance_body: Mapping, on_cancel: Sequence[Mapping], count: int) -> dict[str, Any]:
    """POST /execution-instance/{sid}/cancel."""
    return {"executionInstance": dict(instance_body), "createdEvents": {"onCancelEvents": list(on_cancel)},
            "numCanceledEvents": int(count)}


def tasks_cancelled(instance_body: Mapping, count: int) -> dict[str, Any]:
    """POST /execution-instance/{sid}/cancel-tasks."""
    return {"executionInstance": dict(instance_body), "numCanceledEvents": int(count)}


def wrapped_event(event_body: Mapping) -> dict[str, Any]:
    """GET /execution-event/{sid}."""
    return {"event": dict(event_body)}


def queue_status(queue: Mapping[str, Any]) -> dict[str, str]:
    """GET /queue."""
    return {"status": "paused" if queue_paused(queue) else "active"}


def queue_changed() -> dict[str, Any]:
    """DELETE and POST /queue."""
    return {}
