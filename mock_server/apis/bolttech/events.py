"""The event lifecycle as data, and the one function that computes an event's state at time t.

An event's state is never stored: ``event_state`` derives it from the event's record (created,
date, the snapshot of its task, its seeded or forced failures, resume and cancel times) and the
holds over it (global queue pauses, the instance's pause), for any virtual time. Nothing sleeps.
``event_state`` is the only arithmetic; the lead's generic ``lifecycle.Lifecycle`` can replace it
where the shapes match (steps with ``waits=True`` = asynchronous steps, failure and cancel paths).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .schedule import ScheduleError, add_delay, moment, zone

# Virtual seconds: a QUEUED event is picked up after QUEUE_SECONDS of un-held time; each step runs
# STEP_SECONDS (steps replayed from an earlier attempt's cache take none).
QUEUE_SECONDS = 1.0
STEP_SECONDS = 3.0

# The table (inferred: the vendor documents the states, not the transitions). "holds" are the
# global queue's pauses and the instance's pause: while held, nothing leaves PENDING or QUEUED.
EVENT_STATES: dict[str, dict[str, str]] = {
    "ONHOLD": {"cancel": "CANCELED"},  # manualTrigger events: never queued by themselves
    "PENDING": {"date reached, not held": "QUEUED", "cancel": "CANCELED"},
    "QUEUED": {f"{QUEUE_SECONDS:g} s un-held": "EXECUTING", "cancel": "CANCELED"},
    "EXECUTING": {
        "last step ok": "PROCESSED",
        "asynchronous step ok": "PAUSED",
        "step fails, attempts left": "PENDING",  # attempt + 1, date = now + retryAfter
        "step fails, attempts exhausted": "FAILED",
        "cancel": "CANCELED",
    },
    "PAUSED": {"resume": "QUEUED", "cancel": "CANCELED"},
    "PROCESSED": {},
    "FAILED": {},
    "CANCELED": {},
}
FINAL = frozenset(state for state, moves in EVENT_STATES.items() if not moves)
OPEN = frozenset(EVENT_STATES) - FINAL  # what get-tasks lists
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


# -- the state at time t ------------------------------------------------------------------------------
def event_state(event: Mapping[str, Any], held: Sequence[Interval], t: float) -> EventStatus:
    """The event at virtual time ``t``."""
    cancel = event.get("canceledAt")
    state = _walk(event, _merge(held), t if cancel is None else min(t, cancel))
    if cancel is not None and cancel <= t and state.status not in FINAL:
        return replace(state, status="CANCELED", since=cancel, finished_at=cancel)
    return state


@dataclass(frozen=True)
class _Run:
    step: str
    seconds: float
    success: bool
    from_cache: bool = False
    parks: bool = False


def _route(
    plan: Mapping[str, Any], start: str | None, fails: Callable[[str], bool], cached: set[str]
) -> tuple[list[_Run], str | None]:
    """The steps one attempt runs from ``start`` and the step that fails it (None: it succeeds).
    A failing step with an ``onError`` rule continues there instead of failing the attempt."""
    steps, runs, seen, key = plan["steps"], [], set(), start
    while key in steps and key not in seen:
        seen.add(key)
        step = steps[key]
        if key in cached and not step["repeatOnRetry"]:
            runs.append(_Run(key, 0.0, True, from_cache=True))
        elif fails(key):
            runs.append(_Run(key, STEP_SECONDS, False))
            if step["rules"].get("onError"):
                key = step["rules"]["onError"]
                continue
            return runs, key
        else:
            runs.append(_Run(key, STEP_SECONDS, True, parks=step["async"]))
        if step["final"]:
            break
        key = step["next"]
    return runs, None


def _walk(ev: Mapping[str, Any], held: list[tuple[float, float | None]], h: float) -> EventStatus:
    """The event at ``h``, ignoring a cancel: walks its attempts until it reaches ``h``."""
    plan, steps = ev["plan"], ev["plan"]["steps"]
    resumes = sorted(ev.get("resumes") or [], key=lambda r: r[0])
    used, cached, results = 0, set(), []
    # What the answer carries besides the status; updated as the walk goes.
    facts: dict[str, Any] = {"attempt": 1, "date": float(ev["due"]), "since": float(ev["created"])}

    def at(status: str, **changes: Any) -> EventStatus:
        return EventStatus(status, **{**facts, "results": tuple(results), **changes})

    if ev.get("manual"):
        return at("ONHOLD")
    while True:
        attempt = facts["attempt"]
        queued = _release(max(facts["date"], facts["since"]), held)
        if queued is None or queued > h:
            return at("PENDING")
        start = _after(queued, QUEUE_SECONDS, held)
        if start is None or start > h:
            return at("QUEUED", since=queued, queued_at=queued)
        facts.update(queued_at=queued, executed_at=start, since=start)
        results, clock = [], start
        runs, failed = _route(plan, plan["initialStep"], _fails(ev, attempt), cached)
        for run in runs:
            if clock + run.seconds > h:
                return at("EXECUTING", last_step=run.step)
            clock += run.seconds
            results.append(_result(run, attempt))
            facts["last_step"] = run.step
            if not run.parks:
                continue
            facts["parked"] = True
            if used >= len(resumes) or resumes[used][0] > h:
                return at("PAUSED", since=clock)
            resumed_at, body = max(float(resumes[used][0]), clock), resumes[used][1]
            used += 1
            if body is not None:
                facts["cached_results"] = tuple(results)
                results[-1] = replace(results[-1], data=body, after_resume_data=results[-1].data)
            restart = _after(resumed_at, QUEUE_SECONDS, held)
            if restart is None or restart > h:
                return at("QUEUED", since=resumed_at, queued_at=resumed_at)
            clock = restart
        if failed is None:
            return at("PROCESSED", since=clock, finished_at=clock)
        retry = steps[failed]["retry"] or plan["retry"]
        left = retry is not None and attempt < 1 + int(retry.get("times") or 0)
        pause = bool(retry and retry.get("pauseBeforeCancel"))
        hook = steps[failed]["rules"].get("onBeforeRetry" if left else "onBeforePause" if pause else "")
        for run in _route(plan, hook, lambda _key: False, set())[0] if hook else ():
            if clock + run.seconds > h:
                return at("EXECUTING", last_step=run.step)
            clock += run.seconds
            results.append(_result(replace(run, parks=False), attempt))
            facts["last_step"] = run.step
        facts["error"] = f"Step {failed} failed (attempt {attempt})"
        if not left:
            effect = None if retry is None else "pause" if pause else "cancel"
            return at("FAILED", since=clock, finished_at=clock, effect=effect)
        cached |= {r.step for r in results if r.success}
        date = _retry_date(clock, retry, attempt, plan.get("timezone"))
        facts.update(attempt=attempt + 1, date=date, since=clock, queued_at=None, executed_at=None)


def _result(run: _Run, attempt: int) -> StepResult:
    if not run.success:
        return StepResult(run.step, False, message=f"Mock failure of step {run.step} (attempt {attempt})")
    data = {"status": "PENDING"} if run.parks else {"status": "OK"}
    return StepResult(run.step, True, from_cache=run.from_cache, asynchronous=run.parks, data=data)


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


def _retry_date(failed_at: float, retry: Mapping[str, Any], attempt: int, timezone: str | None) -> float:
    """When retry number ``attempt`` runs: ``retryStrategy[attempt - 1]`` if listed, else ``retryAfter``."""
    periods = retry.get("retryStrategy") or []
    delay = periods[attempt - 1] if attempt - 1 < len(periods) else retry.get("retryAfter")
    if not delay:
        return failed_at
    try:
        return add_delay(moment(failed_at), delay, tz=zone(timezone)).timestamp()
    except ScheduleError:
        return failed_at


# -- interval arithmetic ------------------------------------------------------------------------------
def _merge(intervals: Sequence[Interval]) -> list[tuple[float, float | None]]:
    merged: list[tuple[float, float | None]] = []
    for start, end in sorted(((float(s), e) for s, e in intervals if s is not None), key=lambda i: i[0]):
        if end is not None and end <= start:
            continue
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, None if end is None or last_end is None else max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _release(t: float, held: list[tuple[float, float | None]]) -> float | None:
    """The first instant at or after ``t`` outside every hold (None: never)."""
    for start, end in held:
        if start <= t and (end is None or t < end):
            if end is None:
                return None
            t = end
    return t


def _after(t: float, seconds: float, held: list[tuple[float, float | None]]) -> float | None:
    """When ``seconds`` of un-held time have passed since ``t`` (None: never)."""
    begin = _release(t, held)
    if begin is None:
        return None
    left = seconds
    for start, end in held:
        if start < begin:
            continue
        if begin + left <= start:
            break
        left -= start - begin
        if end is None:
            return None
        begin = end
    return begin + left
