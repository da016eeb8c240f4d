"""One function per operationId, over the seam's ``Context`` (only the members SEAM.md names), each
returning ``(status, body)`` or raising ``Rejection``. Registering them on the vendor profile is
all the wiring they need: ``HANDLERS`` maps operationIds to them.

Store layout (the vendor's namespace): ``strategies`` by sid, ``strategy-names`` name -> sid,
``instances`` by sid, ``events@<instanceSid>`` the instance's events by sid, ``event-index``
event sid -> instance sid, ``correlations`` correlationId -> event sid, ``queue`` key ``global``.
Every read of an instance first settles it (writes down what the clock has made happen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mock_server.errors import Rejection

from . import events as ev
from . import instances, render, strategies
from .seeding import seed_state

STRATEGY_NOT_FOUND = "Execution strategy not found"
INSTANCE_NOT_FOUND = "Execution instance not found"
EVENT_NOT_FOUND = "Execution event not found"
NAME_TAKEN = "Execution strategy name already exists"
QUEUE = ("queue", "global")


class Ctx(Protocol):
    """What the handlers use of the seam's Context."""

    store: Any
    seed: int
    headers: Mapping[str, str]
    path_params: Mapping[str, Any]
    query: Mapping[str, str]
    body: Any
    settings: Mapping[str, Any]

    def now(self) -> float: ...


Answer = tuple[int, Any]


# -- helpers ---------------------------------------------------------------------------------------
def _env(ctx: Ctx) -> instances.Env:
    return instances.Env(now=ctx.now(), mint=lambda: render.sid(ctx.seed, ctx.store.next_id("sids")),
                         seed=ctx.seed, failure_percent=float(ctx.settings.get("failurePercent") or 0))


def _refuse(verdict: strategies.SecretVerdict | None) -> None:
    if verdict is not None:
        raise Rejection(verdict.kind, verdict.message, status=verdict.status)


def _secret(ctx: Ctx) -> str | None:
    return ctx.headers.get("Strategy-Secret")


def _queue(ctx: Ctx) -> dict:
    return ctx.store.get(*QUEUE) or {"pauses": []}


def _strategy_for(ctx: Ctx, key: str) -> dict | None:
    """A strategy by sid or by name (instances name theirs either way)."""
    found = ctx.store.get("strategies", key)
    if found is None:
        sid = (ctx.store.get("strategy-names", key) or {}).get("sid")
        found = ctx.store.get("strategies", sid) if sid else None
    return found


def _events(ctx: Ctx, instance_sid: str) -> list[dict]:
    return [record for _, record in ctx.store.items(f"events@{instance_sid}")]


def _save_events(ctx: Ctx, instance_sid: str, records: list[dict]) -> None:
    for record in records:
        ctx.store.put(f"events@{instance_sid}", record["sid"], record)
        ctx.store.put("event-index", record["sid"], {"instanceSid": instance_sid})
        ctx.store.put("correlations", record["correlationId"], {"sid": record["sid"]})


def _open_instance(
    ctx: Ctx, instance_sid: str | None, not_found: str = INSTANCE_NOT_FOUND
) -> tuple[dict, list[dict], dict]:
    """The settled instance, its events and its strategy, after the secret check (404, then 403)."""
    instance = ctx.store.get("instances", instance_sid) if instance_sid else None
    strategy = ctx.store.get("strategies", instance["strategySid"]) if instance else None
    _refuse(strategies.check_secret(_secret(ctx), strategy, not_found))
    before = _events(ctx, instance["sid"])
    settled, records = instances.settle(instance, before, strategy, _queue(ctx), _env(ctx))
    if settled != instance:
        ctx.store.put("instances", settled["sid"], settled)
    stored = {r["sid"]: r for r in before}
    _save_events(ctx, settled["sid"], [r for r in records if stored.get(r["sid"]) != r])  # a read mostly writes nothing
    return settled, records, strategy


def _open_event(ctx: Ctx, event_sid: str | None) -> tuple[dict, dict]:
    """The event (settled with its instance) and its instance, after the secret check."""
    index = ctx.store.get("event-index", event_sid) if event_sid else None
    instance, records, _ = _open_instance(ctx, index["instanceSid"] if index else None, EVENT_NOT_FOUND)
    return next(r for r in records if r["sid"] == event_sid), instance


def _instance_body(ctx: Ctx, instance: dict, records: list[dict], *, strategy: dict | None = None) -> dict:
    held = ev.holds(instance, _queue(ctx))
    return render.instance(instance, next_event=render.next_event(instance, records, held, ctx.now()),
                           strategy=strategy)


def _event_body(ctx: Ctx, record: dict, instance: dict) -> dict:
    return render.event(record, ev.holds(instance, _queue(ctx)), ctx.now())


def _invalid(messages: list[str]) -> None:
    if messages:
        raise Rejection("invalid", messages[0], details=messages)


# -- strategies ------------------------------------------------------------------------------------
def create_strategy(ctx: Ctx) -> Answer:
    body = ctx.body or {}
    _invalid(strategies.validate_strategy(body))
    if ctx.store.get("strategy-names", body["name"]) is not None:
        raise Rejection("conflict", NAME_TAKEN)
    record = strategies.new_strategy(body, sid=_env(ctx).mint(), now=ctx.now())
    ctx.store.put("strategies", record["sid"], record)
    ctx.store.put("strategy-names", record["name"], {"sid": record["sid"]})
    return 200, strategies.summary(record)


def get_strategy(ctx: Ctx) -> Answer:
    record = ctx.store.get("strategies", str(ctx.path_params["strategySid"]))
    _refuse(strategies.check_secret(_secret(ctx), record, STRATEGY_NOT_FOUND))
    return 200, strategies.details(record)


def update_strategy(ctx: Ctx) -> Answer:
    record = ctx.store.get("strategies", str(ctx.path_params["strategySid"]))
    _refuse(strategies.check_secret(_secret(ctx), record, STRATEGY_NOT_FOUND))
    body = ctx.body or {}
    _invalid(strategies.validate_strategy(body, update=True))
    new_name = body.get("name", record["name"])
    owner = (ctx.store.get("strategy-names", new_name) or {}).get("sid")
    if owner not in (None, record["sid"]):
        raise Rejection("conflict", NAME_TAKEN)
    updated = strategies.patched_strategy(record, body, now=ctx.now())
    if new_name != record["name"]:
        ctx.store.delete("strategy-names", record["name"])
        ctx.store.put("strategy-names", new_name, {"sid": record["sid"]})
    ctx.store.put("strategies", record["sid"], updated)
    return 200, strategies.summary(updated)


# -- instances -------------------------------------------------------------------------------------
def create_instance(ctx: Ctx) -> Answer:
    body = ctx.body or {}
    strategy = _strategy_for(ctx, str(body.get("strategyId", "")))
    _refuse(strategies.check_secret(_secret(ctx), strategy, STRATEGY_NOT_FOUND))
    instance, cycle, on_create = instances.create_instance(body, strategy, _env(ctx))
    ctx.store.put("instances", instance["sid"], instance)
    _save_events(ctx, instance["sid"], cycle + on_create)
    return 200, render.created(
        _instance_body(ctx, instance, cycle), _event_body(ctx, cycle[0], instance),
        [_event_body(ctx, record, instance) for record in on_create],
    )


def get_instance(ctx: Ctx) -> Answer:
    instance, records, _ = _open_instance(ctx, str(ctx.path_params["instanceSid"]))
    return 200, _instance_body(ctx, instance, records)


def get_tasks(ctx: Ctx) -> Answer:
    instance, records, strategy = _open_instance(ctx, str(ctx.path_params["instanceSid"]))
    held, now = ev.holds(instance, _queue(ctx)), ctx.now()
    nested = _instance_body(ctx, instance, records, strategy=strategy)
    return 200, [render.event(r, held, now, instance_body=nested, strategy=strategy) for r in records
                 if ev.event_state(r, held, now).status in ev.OPEN]


def pause_instance(ctx: Ctx) -> Answer:
    instance, records, strategy = _open_instance(ctx, str(ctx.path_params["instanceSid"]))
    paused = instances.pause_instance(instance, _env(ctx))
    ctx.store.put("instances", paused["sid"], paused)
    return 200, _instance_body(ctx, paused, records, strategy=strategy)


def cancel_instance(ctx: Ctx) -> Answer:
    instance, records, strategy = _open_instance(ctx, str(ctx.path_params["instanceSid"]))
    cancelled, records, on_cancel, count = instances.cancel_instance(
        instance, records, strategy, _queue(ctx), _env(ctx))
    ctx.store.put("instances", cancelled["sid"], cancelled)
    _save_events(ctx, cancelled["sid"], records + on_cancel)
    return 200, render.cancelled(_instance_body(ctx, cancelled, records),
                                 [_event_body(ctx, r, cancelled) for r in on_cancel], count)


def cancel_tasks(ctx: Ctx) -> Answer:
    instance, records, _ = _open_instance(ctx, str(ctx.path_params["instanceSid"]))
    same, records, count = instances.cancel_tasks(instance, records, ctx.query.get("tasks", ""), _queue(ctx),
                                                  _env(ctx))
    ctx.store.put("instances", same["sid"], same)
    _save_events(ctx, same["sid"], records)
    return 200, render.tasks_cancelled(_instance_body(ctx, same, records), count)


# -- events ----------------------------------------------------------------------------------------
def get_event(ctx: Ctx) -> Answer:
    record, instance = _open_event(ctx, str(ctx.path_params["eventSid"]))
    return 200, render.wrapped_event(_event_body(ctx, record, instance))


def cancel_event(ctx: Ctx) -> Answer:
    record, instance = _open_event(ctx, str(ctx.path_params["eventSid"]))
    cancelled = instances.cancel_event(record, ev.holds(instance, _queue(ctx)), _env(ctx))
    _save_events(ctx, instance["sid"], [cancelled])
    return 200, _event_body(ctx, cancelled, instance)


def resume_event(ctx: Ctx) -> Answer:
    target = ctx.store.get("correlations", str(ctx.path_params["correlationId"]))
    record, instance = _open_event(ctx, target["sid"] if target else None)
    resumed = instances.resume_event(record, ev.holds(instance, _queue(ctx)), _env(ctx), ctx.body)
    _save_events(ctx, instance["sid"], [resumed])
    return 200, _event_body(ctx, resumed, instance)


# -- the queue -------------------------------------------------------------------------------------
def _queue_access(ctx: Ctx) -> None:
    known = [record for _, record in ctx.store.items("strategies")]
    _refuse(strategies.check_any_secret(_secret(ctx), known))


def queue_status(ctx: Ctx) -> Answer:
    _queue_access(ctx)
    return 200, render.queue_status(_queue(ctx))


def pause_queue(ctx: Ctx) -> Answer:
    _queue_access(ctx)
    ctx.store.put(*QUEUE, ev.pause_queue(_queue(ctx), ctx.now()))
    return 200, render.queue_changed()


def resume_queue(ctx: Ctx) -> Answer:
    _queue_access(ctx)
    ctx.store.put(*QUEUE, ev.resume_queue(_queue(ctx), ctx.now()))
    return 200, render.queue_changed()


HANDLERS: dict[str, Callable[[Ctx], Answer]] = {
    "ExecutionStrategyController_create": create_strategy,
    "ExecutionStrategyController_findOne": get_strategy,
    "ExecutionStrategyController_update": update_strategy,
    "ExecutionInstanceController_create": create_instance,
    "ExecutionInstanceController_findOne": get_instance,
    "ExecutionInstanceController_getTasks": get_tasks,
    "ExecutionInstanceController_pause": pause_instance,
    "ExecutionInstanceController_cancel": cancel_instance,
    "ExecutionInstanceController_cancelTasks": cancel_tasks,
    "ExecutionEventController_findOne": get_event,
    "ExecutionEventController_cancel": cancel_event,
    "ExecutionEventController_resume": resume_event,
    "QueueController_getStatus": queue_status,
    "QueueController_pause": pause_queue,
    "QueueController_resume": resume_queue,
}


# -- identify, errors, seeding (the profile's other seams) -----------------------------------------
def check_bearer(token: str | None, settings: Mapping[str, Any]) -> None:
    """Identify: only the fixture's dev tokens pass (401 otherwise)."""
    if not token or token not in (settings.get("bearerTokens") or []):
        raise Rejection("unauthenticated", "Unauthorized", status=401)


def error_style(rejection: Rejection, status: int, op_id: str | None) -> tuple[dict, str]:
    """ErrorStyle: every status as the NestJS default body."""
    details = rejection.details if isinstance(rejection.details, list) else None
    return render.error_body(status, rejection.message, details), "application/json"


def seed(store: Any, fixtures: Mapping[str, Any], *, now: float, seed_value: int) -> None:
    """Seed: the fixture's strategies, instances and events, written as the handlers would."""
    state = seed_state(fixtures, now=now, seed=seed_value,
                       mint=lambda: render.sid(seed_value, store.next_id("sids")))
    for record in state.strategies:
        store.put("strategies", record["sid"], record)
        store.put("strategy-names", record["name"], {"sid": record["sid"]})
    for record in state.instances:
        store.put("instances", record["sid"], record)
    for record in state.events:
        store.put(f"events@{record['instanceSid']}", record["sid"], record)
        store.put("event-index", record["sid"], {"instanceSid": record["instanceSid"]})
        store.put("correlations", record["correlationId"], {"sid": record["sid"]})
    store.put(*QUEUE, state.queue)
