"""Instances: creation with their first events, pause, cancel, cancel-tasks, and ``settle``, which
writes down what the virtual clock has made happen (next cycles, instances paused or cancelled
by an event that ran out of attempts).

Every function takes records and returns new ones (nothing is mutated); ``Env`` carries the
virtual time and the deterministic sid source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from mock_server.errors import Rejection
from mock_server.records import INTEGER, MOMENT, OBJECT, TEXT, nullable, obj, one_of

from . import events as ev
from .schedule import (
    ScheduleError,
    add_delay,
    calendar_for_cycle,
    delayed,
    execution_day,
    first_main_date,
    moment,
    next_main_date,
    parse_date,
    zone,
)

# Which instance states an operation accepts; any other answers 409 with the message.
INSTANCE_OPERATIONS: dict[str, tuple[frozenset[str], str]] = {
    "pause": (frozenset({"ACTIVE"}), "Execution instance is not active"),
    "cancel": (frozenset({"ACTIVE", "PAUSED"}), "Execution instance is already canceled"),
    "cancelTasks": (frozenset({"ACTIVE", "PAUSED"}), "Execution instance is canceled"),
}
EVENT_CONFLICTS = {"cancel": "Execution event is already finished", "resume": "Execution event is not paused"}
# One settle writes at most this many effects (a clock jump of years over a minutes calendar
# would otherwise spawn unbounded cycles in one request); the next read continues.
MAX_EFFECTS = 500


@dataclass(frozen=True)
class Env:
    now: float  # virtual time, unix seconds
    mint: Callable[[], str]  # a fresh deterministic sid
    seed: int = 0
    failure_percent: float = 0.0


def _failure(instance: Mapping[str, Any], env: Env) -> dict[str, Any]:
    return ev.failure_plan(instance.get("attributes"), percent=env.failure_percent, seed=env.seed)


def _event(instance: Mapping, strategy: Mapping, env: Env, *, task: str, main: bool, date: float, at: float,
           manual: bool = False, after_cancellation: bool = False) -> dict[str, Any]:
    return ev.new_event(
        sid=env.mint(), correlation_id=env.mint(), instance=instance, strategy=strategy, task=task, main=main,
        date=date, now=at, failure=_failure(instance, env), manual=manual, after_cancellation=after_cancellation,
    )


def _manual(strategy: Mapping, entry: Mapping | None = None) -> bool:
    config = strategy["settings"].get("config") or {}
    return bool((entry or {}).get("manualTrigger", config.get("manualTrigger", False)))


def _tz(strategy: Mapping) -> tzinfo:
    return zone((strategy["settings"].get("config") or {}).get("timezone"))


def _cycle_events(instance: Mapping, strategy: Mapping, cal: Mapping, date: float, env: Env, at: float) -> list[dict]:
    """A cycle's main event, then its calendar's leading-up events (``scheduleBefore`` the main one)."""
    tasks = strategy["settings"].get("tasks") or [{}]
    main = _event(instance, strategy, env, task=cal.get("task") or tasks[0].get("key", ""), main=True, date=date,
                  at=at, manual=_manual(strategy))
    found = [main]
    for lead in cal.get("leadingUpTasks") or []:
        if not lead.get("task"):
            continue
        try:
            when = add_delay(moment(date), lead.get("scheduleBefore"), tz=_tz(strategy), sign=-1).timestamp()
        except ScheduleError:
            when = at
        found.append(_event(instance, strategy, env, task=lead["task"], main=False, date=max(when, at), at=at,
                            manual=_manual(strategy)))
    return found


# The stored instance (``create_instance``), checked on every admin import (mock_server/snapshot.py).
RECORD = obj({
    "sid": TEXT, "description": TEXT, "strategyId": TEXT, "strategySid": TEXT,
    "status": one_of("ACTIVE", "PAUSED", "CANCELED"), "cycle": {**INTEGER, "minimum": 1}, "startDate": MOMENT,
    "executionDate": MOMENT, "executionDay": INTEGER, "attributes": OBJECT, "mainEvent": nullable(TEXT),
    "endDate": nullable(MOMENT), "pausedAt": nullable(MOMENT), "canceledAt": nullable(MOMENT),
    "cancelReason": nullable(TEXT), "createdAt": MOMENT, "updatedAt": MOMENT,
})


def create_instance(
    body: Mapping[str, Any], strategy: Mapping[str, Any], env: Env
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """POST /execution-instance: (instance, [main event, leading-up events], on-create events).

    Raises Rejection("invalid") when ``startDate`` cannot be scheduled (outside years 1-9999)."""
    settings, tz = strategy["settings"], _tz(strategy)
    schedule = settings.get("schedule") or {}
    attributes = dict(body.get("attributes") or {})
    try:
        start = parse_date(body["startDate"])
        first = first_main_date(start, schedule, attributes, tz=tz)
    except (ScheduleError, ValueError, OverflowError) as exc:
        raise Rejection("invalid", "startDate must be a valid ISO 8601 date string", property="startDate") from exc
    calendars = schedule.get("calendars") or [{}]
    cal = calendar_for_cycle(calendars, 1) or calendars[0]
    instance: dict[str, Any] = {
        "sid": env.mint(),
        "description": body.get("description", ""),
        "strategyId": body["strategyId"],
        "strategySid": strategy["sid"],
        "status": "ACTIVE",
        "cycle": 1,
        "startDate": start.timestamp(),
        "executionDate": first.timestamp(),
        "executionDay": execution_day(first, tz),
        "attributes": attributes,
        "mainEvent": None,
        "endDate": None,
        "pausedAt": None,
        "canceledAt": None,
        "cancelReason": None,
        "createdAt": env.now,
        "updatedAt": env.now,
    }
    cycle = _cycle_events(instance, strategy, cal, first.timestamp(), env, env.now)
    instance["mainEvent"] = cycle[0]["sid"]
    on_create = []
    for entry in settings.get("onCreateTasks") or []:
        try:
            date = delayed(start, entry.get("delayBy"), tz=tz).timestamp()
        except ScheduleError as exc:
            raise Rejection("invalid", "startDate must be a valid ISO 8601 date string", property="startDate") from exc
        on_create.append(_event(instance, strategy, env, task=entry["task"], main=False, date=date, at=env.now,
                                manual=_manual(strategy, entry)))
    return instance, cycle, on_create


def allowed(instance: Mapping[str, Any], operation: str) -> None:
    """Raise the 409 Rejection when ``instance`` is in a state ``operation`` does not accept."""
    states, message = INSTANCE_OPERATIONS[operation]
    if instance["status"] not in states:
        raise Rejection("conflict", message)


def pause_instance(instance: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """POST .../pause: ACTIVE -> PAUSED; its events stop leaving PENDING/QUEUED."""
    allowed(instance, "pause")
    return {**instance, "status": "PAUSED", "pausedAt": env.now, "updatedAt": env.now}


def _cancel(
    instance: Mapping, events: Sequence[Mapping], strategy: Mapping, queue: Mapping, env: Env, at: float,
    reason: str,
) -> tuple[dict, list[dict], list[dict], int]:
    held = ev.holds(instance, queue)
    updated, count = [], 0
    for event in events:
        if not event.get("afterCancellation") and ev.event_state(event, held, at).status in ev.OPEN:
            event = {**event, "canceledAt": at, "cancelReason": "CANCEL_INSTANCE", "settled": True}
            count += 1
        updated.append(dict(event))
    instance = {**instance, "status": "CANCELED", "canceledAt": at, "cancelReason": reason, "endDate": at,
                "updatedAt": at}
    tz = _tz(strategy)
    on_cancel = []
    for entry in strategy["settings"].get("onCancelTasks") or []:
        try:
            date = delayed(moment(at), entry.get("delayBy"), tz=tz).timestamp()
        except ScheduleError:
            date = at
        on_cancel.append(_event(instance, strategy, env, task=entry["task"], main=False, at=at, date=date,
                                after_cancellation=True, manual=_manual(strategy, entry)))
    return instance, updated, on_cancel, count


def cancel_instance(
    instance: Mapping[str, Any], events: Sequence[Mapping[str, Any]], strategy: Mapping[str, Any],
    queue: Mapping[str, Any], env: Env,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], int]:
    """POST .../cancel: (instance CANCELED/HTTP_REQUEST, events, new on-cancel events, numCanceledEvents).
    Open events are cancelled except those allowed to run after cancellation."""
    allowed(instance, "cancel")
    return _cancel(instance, events, strategy, queue, env, env.now, "HTTP_REQUEST")


def cancel_tasks(
    instance: Mapping[str, Any], events: Sequence[Mapping[str, Any]], tasks: str, queue: Mapping[str, Any],
    env: Env,
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """POST .../cancel-tasks?tasks=a,b: the open events of those tasks are cancelled (unknown keys
    cancel nothing); the instance keeps its status."""
    allowed(instance, "cancelTasks")
    keys = {key.strip() for key in tasks.split(",") if key.strip()}
    held = ev.holds(instance, queue)
    updated, count = [], 0
    for event in events:
        if event["task"] in keys and ev.event_state(event, held, env.now).status in ev.OPEN:
            event = {**event, "canceledAt": env.now, "cancelReason": "INSTANCE_CANCEL_TASK_REQUESTED", "settled": True}
            count += 1
        updated.append(dict(event))
    return {**instance, "updatedAt": env.now} if count else dict(instance), updated, count


def cancel_event(event: Mapping[str, Any], held: Sequence[ev.Interval], env: Env) -> dict[str, Any]:
    """POST /execution-event/{sid}/cancel (409 once finished)."""
    if ev.event_state(event, held, env.now).status not in ev.EVENT_OPERATIONS["cancel"]:
        raise Rejection("conflict", EVENT_CONFLICTS["cancel"])
    return {**event, "canceledAt": env.now, "settled": True}


def resume_event(event: Mapping[str, Any], held: Sequence[ev.Interval], env: Env, body: Any = None) -> dict[str, Any]:
    """POST /execution-event/{correlationId}/resume (409 unless PAUSED). A body replaces the parked
    step's response; the event is QUEUED at once."""
    if ev.event_state(event, held, env.now).status not in ev.EVENT_OPERATIONS["resume"]:
        raise Rejection("conflict", EVENT_CONFLICTS["resume"])
    return {**event, "resumes": [*event.get("resumes", []), [env.now, body]]}


def settle(
    instance: Mapping[str, Any], events: Sequence[Mapping[str, Any]], strategy: Mapping[str, Any],
    queue: Mapping[str, Any], env: Env,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The instance and all its events (old and new) after writing down, in time order, every effect
    the clock has reached by ``env.now``: a finished main event starts the next cycle; an event out
    of attempts pauses (``pauseBeforeCancel``) or cancels (MAX_ATTEMPTS) the instance."""
    inst, evs = dict(instance), [dict(e) for e in events]
    for _ in range(MAX_EFFECTS):
        held = ev.holds(inst, queue)
        due: list[tuple[float, int, ev.EventStatus]] = []
        for i, event in enumerate(evs):
            if event.get("settled"):
                continue
            state = ev.event_state(event, held, env.now)
            if state.status == "CANCELED":
                evs[i] = {**event, "settled": True}
            elif state.status in ("PROCESSED", "FAILED"):
                due.append((state.finished_at, i, state))
        if not due:
            break
        at, i, state = min(due, key=lambda d: (d[0], d[1]))
        evs[i] = {**evs[i], "settled": True}
        event = evs[i]
        if state.effect == "cancel" and inst["status"] != "CANCELED":
            inst, evs, on_cancel, _ = _cancel(inst, evs, strategy, queue, env, at, "MAX_ATTEMPTS")
            evs += on_cancel
        elif state.effect == "pause" and inst["status"] == "ACTIVE":
            inst = {**inst, "status": "PAUSED", "pausedAt": at, "updatedAt": at}
        elif (state.effect is None and event["main"] and event["sid"] == inst.get("mainEvent")
              and inst["status"] != "CANCELED"):
            inst, new = _next_cycle(inst, strategy, env, at)
            evs += new
    return inst, evs


def _next_cycle(instance: dict, strategy: Mapping, env: Env, at: float) -> tuple[dict, list[dict]]:
    schedule = strategy["settings"].get("schedule") or {}
    cycle = int(instance["cycle"]) + 1
    cal = calendar_for_cycle(schedule.get("calendars") or [], cycle)
    if cal is None:  # no calendar runs on this cycle: the subscription has run its course
        return {**instance, "mainEvent": None, "endDate": at, "updatedAt": at}, []
    try:
        date = next_main_date(moment(instance["executionDate"]), cal, execution_day=int(instance["executionDay"]),
                              schedule=schedule, attributes=instance.get("attributes"), tz=_tz(strategy))
    except ScheduleError:
        failed = {**instance, "status": "CANCELED", "canceledAt": at, "cancelReason": "CREATE_CYCLE_ERROR",
                  "endDate": at, "updatedAt": at}
        return failed, []
    nxt = {**instance, "cycle": cycle, "executionDate": date.timestamp(), "updatedAt": at}
    new = _cycle_events(nxt, strategy, cal, date.timestamp(), env, at)
    nxt["mainEvent"] = new[0]["sid"]
    return nxt, new
