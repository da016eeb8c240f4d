"""Each event's lifecycle as a table, replayed by ``mock_server.lifecycle`` at any virtual time.

An event's state is never stored. ``table`` builds a ``Lifecycle`` from the snapshot of its task
(one timed step per step of the route, a waiting step after each asynchronous one, the retry
policy, the onBeforePause steps as the failure path); ``history`` turns the event's record (its
date, seeded or forced failures, resumes, a cancel) and the holds over it (the global queue's
pauses, the instance's pause) into a ``History``. ``event_state`` reads the replay's timeline as
the wire's EventStatus. The only time arithmetic here is the calendar's (``schedule.duration``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mock_server.lifecycle import CANCEL, FAILED, PAUSE, RELEASE, RESUME, History, Lifecycle, Retry, Step, Transition
from mock_server.records import BOOLEAN, INTEGER, MOMENT, OBJECT, TEXT, array, mapping, nullable, obj

from .schedule import duration, zone

# Virtual seconds: a QUEUED event is picked up after QUEUE_SECONDS of un-held time; each step runs
# STEP_SECONDS.
QUEUE_SECONDS = 1.0
STEP_SECONDS = 3.0
# retryConfig.times has no documented maximum; past this many retries an event is not retried
# again (a table of a billion attempts would be a billion history entries).
MAX_RETRIES = 100

STATES = ("ONHOLD", "PENDING", "QUEUED", "EXECUTING", "PAUSED", "PROCESSED", "FAILED", "CANCELED")
FINAL = frozenset({"PROCESSED", "FAILED", "CANCELED"})
OPEN = frozenset(STATES) - FINAL  # what get-tasks lists
# Which states an operation accepts; any other state answers 409.
EVENT_OPERATIONS = {"cancel": OPEN, "resume": frozenset({"PAUSED"})}

Interval = Sequence[float | None]  # [start, end); end None = open


@dataclass(frozen=True)
class StepResult:
    step: str
    success: bool
    from_cache: bool = False
    asynchronous: bool = False
    data: Any = None
    after_resume_data: Any = None
    message: str | None = None


@dataclass(frozen=True)
class EventStatus:
    """An event at one instant. ``effect`` (FAILED only): "pause" / "cancel" the instance, or None."""

    status: str
    attempt: int
    date: float  # the current attempt's date
    since: float
    last_step: str | None = None
    results: tuple[StepResult, ...] = ()
    cached_results: tuple[StepResult, ...] | None = None
    queued_at: float | None = None
    executed_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    effect: str | None = None
    parked: bool = False  # an asynchronous step has run (the correlationId is in use)


# -- the snapshot an event runs from ------------------------------------------------------------------
def task_plan(settings: Mapping[str, Any], task_key: str) -> dict[str, Any]:
    """What an event needs of its strategy, frozen when it is created (a later PATCH of the strategy
    does not rewrite the history of events already spawned). A step is asynchronous when its
    action's service method has ``async: true`` (the vendor's own flag)."""
    task = next((t for t in settings.get("tasks") or [] if t.get("key") == task_key), None)
    config = settings.get("config") or {}
    plan: dict[str, Any] = {"initialStep": None, "steps": {}, "retry": None, "timezone": config.get("timezone")}
    if task is None:
        return plan
    actions = {a.get("key"): a for a in settings.get("actions") or []}
    services = {s.get("key"): s for s in settings.get("services") or []}
    plan.update(initialStep=task.get("initialStep"), retry=task.get("retryConfig"))
    for step in task.get("steps") or []:
        action = actions.get(step.get("action")) or {}
        methods = (services.get(action.get("service")) or {}).get("methods") or []
        method = next((m for m in methods if m.get("key") == action.get("method")), {})
        plan["steps"][step["key"]] = {
            "next": step.get("nextStep"),
            "final": bool(step.get("final")),
            "async": bool(method.get("async")),
            "repeatOnRetry": bool(step.get("repeatOnRetry")),
            "rules": {r["if"]: r["nextStep"] for r in step.get("nextStepRules") or [] if r.get("nextStep")},
            "retry": step.get("retryConfig"),
        }
    return plan


def failure_plan(attributes: Mapping[str, Any] | None, *, percent: float, seed: int) -> dict[str, Any]:
    """Which steps fail. Seeded: each step run fails with ``percent`` % chance, fixed by the seed, the
    event and the attempt. Forced: instance attribute ``mockFailStep: <step key>`` fails that step on
    every attempt, or only on the first ``mockFailTimes`` attempts."""
    attributes = attributes or {}
    times = attributes.get("mockFailTimes")
    return {
        "percent": percent,
        "seed": seed,
        "step": attributes.get("mockFailStep"),
        "times": int(times) if isinstance(times, int | float) and not isinstance(times, bool) else None,
    }


def new_event(
    *,
    sid: str,
    correlation_id: str,
    instance: Mapping[str, Any],
    strategy: Mapping[str, Any],
    task: str,
    main: bool,
    date: float,
    now: float,
    failure: Mapping[str, Any],
    after_cancellation: bool = False,
    manual: bool = False,
) -> dict[str, Any]:
    """The stored record of a new event of ``instance`` (times are unix seconds)."""
    return {
        "sid": sid,
        "instanceSid": instance["sid"],
        "strategySid": strategy["sid"],
        "task": task,
        "main": main,
        "afterCancellation": after_cancellation,
        "manual": manual,
        "due": date,
        "created": now,
        "createdCycle": int(instance["cycle"]),
        "correlationId": correlation_id,
        "execStrategyVersion": int(strategy["version"]),
        "plan": task_plan(strategy["settings"], task),
        "failure": dict(failure),
        "resumes": [],
        "canceledAt": None,
        "cancelReason": None,
        "settled": False,
    }


# The stored event (``new_event``) and queue, checked on every admin import (mock_server/snapshot.py).
_STEP = obj({"next": nullable(TEXT), "final": BOOLEAN, "async": BOOLEAN, "repeatOnRetry": BOOLEAN,
             "rules": mapping(TEXT), "retry": nullable(OBJECT)})
RECORD = obj({
    "sid": TEXT, "instanceSid": TEXT, "strategySid": TEXT, "task": TEXT, "main": BOOLEAN, "afterCancellation": BOOLEAN,
    "manual": BOOLEAN, "due": MOMENT, "created": MOMENT, "createdCycle": {**INTEGER, "minimum": 1},
    "correlationId": TEXT, "execStrategyVersion": INTEGER,
    "plan": obj({"initialStep": nullable(TEXT), "steps": mapping(_STEP), "retry": nullable(OBJECT),
                 "timezone": nullable(TEXT)}),
    "failure": obj({"percent": {"type": "number", "minimum": 0, "maximum": 100}, "seed": INTEGER,
                    "step": nullable(TEXT), "times": nullable(INTEGER)}),
    "resumes": array({"type": "array", "minItems": 2, "maxItems": 2, "items": [MOMENT, {}]}),
    "canceledAt": nullable(MOMENT), "cancelReason": nullable(TEXT), "settled": BOOLEAN,
})
QUEUE_RECORD = obj({"pauses": array({"type": "array", "minItems": 2, "maxItems": 2,
                                     "items": [MOMENT, nullable(MOMENT)]})})


# -- holds: the global queue and the instance ---------------------------------------------------------
def queue_paused(queue: Mapping[str, Any]) -> bool:
    pauses = queue.get("pauses") or []
    return bool(pauses) and pauses[-1][1] is None


def pause_queue(queue: Mapping[str, Any], now: float) -> dict[str, Any]:
    """DELETE /queue (idempotent)."""
    pauses = [list(p) for p in queue.get("pauses") or []]
    if not queue_paused(queue):
        pauses.append([now, None])
    return {**queue, "pauses": pauses}


def resume_queue(queue: Mapping[str, Any], now: float) -> dict[str, Any]:
    """POST /queue (idempotent)."""
    pauses = [list(p) for p in queue.get("pauses") or []]
    if queue_paused(queue):
        pauses[-1][1] = now
    return {**queue, "pauses": pauses}


def holds(instance: Mapping[str, Any], queue: Mapping[str, Any]) -> list[list[float | None]]:
    """The intervals during which the instance's events cannot leave PENDING or QUEUED. An instance
    pause lasts until the instance is cancelled (then only afterCancellation events still run)."""
    found = [list(p) for p in queue.get("pauses") or []]
    if instance.get("pausedAt") is not None:
        found.append([instance["pausedAt"], instance.get("canceledAt")])
    return found


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """What one step of the table is: ``pending``, ``queued``, a task ``step`` or its ``wait``."""

    kind: str
    key: str | None = None


@dataclass(frozen=True)
class Table:
    lifecycle: Lifecycle
    slots: tuple[Slot, ...]          # one per run step of the lifecycle
    hooks: tuple[str, ...]           # the step keys of the failure path (onBeforePause)
    failures: tuple[int | None, ...]  # per attempt, the slot where it fails
    retry: Mapping[str, Any] | None  # the retryConfig in force


def _fails(ev: Mapping[str, Any], attempt: int) -> Callable[[str], bool]:
    failure = ev.get("failure") or {}

    def fails(step: str) -> bool:
        if failure.get("step") == step and (failure.get("times") is None or attempt <= failure["times"]):
            return True
        percent = failure.get("percent") or 0
        if percent <= 0:
            return False
        digest = hashlib.sha256(f"{failure.get('seed', 0)}:{ev['sid']}:{attempt}:{step}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < percent / 100

    return fails


def _route(plan: Mapping[str, Any], start: str | None, fails: Callable[[str], bool]) -> list[str]:
    """The step keys a run takes from ``start``: ``nextStep`` until a final step, except that a
    failing step with an ``onError`` rule continues there (a failing step without one ends the
    attempt where it is, which the lifecycle's failure point says)."""
    steps, keys, seen, key = plan["steps"], [], set(), start
    while key in steps and key not in seen:
        seen.add(key)
        keys.append(key)
        step = steps[key]
        if step["rules"].get("onError") and fails(key):
            key = step["rules"]["onError"]
            continue
        if step["final"]:
            break
        key = step["next"]
    return keys


def table(ev: Mapping[str, Any]) -> Table:
    """The lifecycle of one event: PENDING until its date, QUEUED, then each step of its route
    EXECUTING (a job that started finishes: not pausable), an asynchronous step PAUSED until
    resumed and QUEUED again. The route is the first attempt's (an ``onError`` rule taken there is
    taken by every attempt); a retry reruns it from the start."""
    plan = ev["plan"]
    keys = _route(plan, plan["initialStep"], _fails(ev, 1))
    slots, steps = [Slot("pending"), Slot("queued")], [Step("PENDING", 0), Step("QUEUED", QUEUE_SECONDS)]
    for key in keys:
        slots.append(Slot("step", key))
        steps.append(Step("EXECUTING", STEP_SECONDS, pausable=False))
        if plan["steps"][key]["async"]:
            slots += [Slot("wait", key), Slot("queued", key)]
            steps += [Step("PAUSED", 0, waits=True, pausable=False), Step("QUEUED", QUEUE_SECONDS)]
    hard = [k for k in keys if not plan["steps"][k]["rules"].get("onError")]
    failed = next((k for k in hard if _fails(ev, 1)(k)), None)
    # Retries follow the first attempt's failing step (its retryConfig, else the task's).
    retry_config = (plan["steps"][failed]["retry"] or plan["retry"]) if failed else None
    attempts, retry = 1, None
    if retry_config is not None:
        attempts = 1 + min(int(retry_config.get("times") or 0), MAX_RETRIES)
        # The n-th retry waits retryStrategy[n - 1] when listed, else retryAfter (the list's last wait repeats).
        tz, due = zone(plan.get("timezone")), float(ev["due"])
        periods = (retry_config.get("retryStrategy") or [])[:attempts - 1]
        waits = [duration(delay, at=due, tz=tz) for delay in [*periods, retry_config.get("retryAfter")]]
        retry = Retry(times=attempts, seconds=waits, state="PENDING")
    failures = []
    for n in range(1, attempts + 1):
        fails = _fails(ev, n)
        key = next((k for k in hard if fails(k)), None)
        failures.append(None if key is None else slots.index(Slot("step", key)))
    hooks: list[str] = []
    if failed and retry_config and retry_config.get("pauseBeforeCancel"):
        hook = plan["steps"][failed]["rules"].get("onBeforePause")
        hooks = _route(plan, hook, lambda _key: False) if hook else []
    lifecycle = Lifecycle(steps=steps, before="PENDING", done="PROCESSED", failed="FAILED", cancelled="CANCELED",
                          failure_path=[Step("EXECUTING", STEP_SECONDS, pausable=False) for _ in hooks], retry=retry)
    return Table(lifecycle, tuple(slots), tuple(hooks), tuple(failures), retry_config)


def history(ev: Mapping[str, Any], held: Sequence[Interval], tab: Table) -> History:
    """The event's record and the holds over it as a lifecycle history: each hold a pause and its
    resume (holds nest), each resume of the event a release, a cancel a cancel."""
    events: list[tuple[str, float]] = []
    for start, end in held:
        if start is None or (end is not None and end <= start):
            continue
        events.append((PAUSE, float(start)))
        if end is not None:
            events.append((RESUME, float(end)))
    events += [(RELEASE, float(at)) for at, _body in ev.get("resumes") or []]
    if ev.get("canceledAt") is not None:
        events.append((CANCEL, float(ev["canceledAt"])))
    return History(start=float(ev["due"]), created=float(ev["created"]), events=events, failures=list(tab.failures))


# -- the state at time t ------------------------------------------------------------------------------
def event_state(event: Mapping[str, Any], held: Sequence[Interval], t: float) -> EventStatus:
    """The event at virtual time ``t``."""
    due, created, cancel = float(event["due"]), float(event["created"]), event.get("canceledAt")
    if event.get("manual"):  # never queued by itself (no documented trigger): ONHOLD until cancelled
        if cancel is not None and cancel <= t:
            return EventStatus("CANCELED", 1, due, cancel, finished_at=cancel)
        return EventStatus("ONHOLD", 1, due, created)
    tab = table(event)
    status, moves = tab.lifecycle.timeline(history(event, held, tab), t)
    retrying = status.phase == "retry"
    attempt = status.attempt + 1 if retrying else status.attempt
    # Until an attempt runs its first step, the answer still shows the previous attempt's results.
    ran = {m.attempt for m in moves if m.phase != "run" or tab.slots[m.step].kind == "step"}
    shown = status.attempt if status.attempt in ran or status.attempt == 1 else status.attempt - 1
    results, cached, last_step, queued_at, executed_at, parked = _read(event, tab, moves, shown)
    if retrying or shown != status.attempt:
        queued_at = executed_at = None
    failed = [m.attempt for m in moves if m.phase == "retry"] + ([status.attempt] if status.outcome == FAILED else [])
    error = None
    if failed:
        key = tab.slots[tab.failures[failed[-1] - 1]].key
        error = f"Step {key} failed (attempt {failed[-1]})"
    date = due
    if attempt > 1:
        waited = next(m for m in moves if m.phase == "retry" and m.attempt == attempt - 1)
        date = waited.at + tab.lifecycle.retry.wait(attempt - 1)
    effect = None
    if status.outcome == FAILED and tab.retry is not None:
        effect = "pause" if tab.retry.get("pauseBeforeCancel") else "cancel"
    return EventStatus(status.state, attempt, date, status.since, last_step=last_step, results=results,
                       cached_results=cached, queued_at=queued_at, executed_at=executed_at,
                       finished_at=status.finished_at, error=error, effect=effect, parked=parked)


def _read(event: Mapping[str, Any], tab: Table, moves: list[Transition], attempt: int):
    """What the timeline says about ``attempt``: its step results (with resume bodies applied), the
    results before the last resume with a body, the last step, when it was queued and started,
    and whether an asynchronous step was reached."""
    plan, resumes = event["plan"], event.get("resumes") or []
    fails = _fails(event, attempt)
    succeeded_before = {tab.slots[m.step].key for i, m in enumerate(moves)
                        if m.attempt < attempt and m.phase == "run" and tab.slots[m.step].kind == "step"
                        and i + 1 < len(moves) and not _fails(event, m.attempt)(tab.slots[m.step].key)}
    results: list[StepResult] = []
    cached: tuple[StepResult, ...] | None = None
    last_step = queued_at = executed_at = None
    waits = 0
    for i, move in enumerate(moves):
        slot = tab.slots[move.step] if move.phase == "run" else None
        if slot is not None and slot.kind == "wait":
            waits += 1
            body = resumes[waits - 1][1] if waits - 1 < len(resumes) else None
            if move.attempt == attempt and i + 1 < len(moves) and body is not None and results:
                cached = tuple(results)
                results[-1] = replace(results[-1], data=body, after_resume_data=results[-1].data)
        if move.attempt != attempt:
            continue
        key = slot.key if slot is not None and slot.kind == "step" else None
        if move.phase == "failure":
            key = tab.hooks[move.step]
        if slot is not None and slot.kind == "queued" and queued_at is None:
            queued_at = move.at
        if key is None:
            continue
        executed_at = move.at if executed_at is None else executed_at
        last_step = key
        if i + 1 < len(moves):   # the step has run its time
            ok = move.phase == "failure" or not fails(key)
            asynchronous = move.phase == "run" and plan["steps"][key]["async"]
            from_cache = ok and key in succeeded_before and not plan["steps"][key]["repeatOnRetry"]
            data = ({"status": "PENDING"} if asynchronous else {"status": "OK"}) if ok else None
            results.append(StepResult(key, ok, from_cache=from_cache, asynchronous=asynchronous and ok, data=data,
                                      message=None if ok else f"Mock failure of step {key} (attempt {attempt})"))
    parked = any(m.phase == "run" and tab.slots[m.step].kind == "wait" for m in moves)
    return tuple(results), cached, last_step, queued_at, executed_at, parked
