"""One handler per operationId over the seam's ``Context``, each returning a ``Reply`` or raising
``Rejection``; ``HANDLERS`` maps operationIds to them. The access rules (``access.py``) have
already loaded the entity and checked the secret (``ctx.loaded``). Every read of an instance
first settles it (writes down what the clock has made happen). Also the profile's other seams:
``identify``, ``error_style`` and ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_server.errors import ErrorCase, Rejection
from mock_server.vendor import Caller, Context, Identity, Reply, Services

from . import events as ev
from . import instances, render, strategies
from .seeding import seed_state

NAME_TAKEN = "Execution strategy name already exists"
QUEUE = ("queue", "global")


# -- helpers ---------------------------------------------------------------------------------------
def _env(ctx: Context) -> instances.Env:
    return instances.Env(now=ctx.now(), mint=lambda: render.sid(ctx.seed, ctx.store.next_id("sids")),
                         seed=ctx.seed, failure_percent=float(ctx.settings.get("failurePercent") or 0))


def _queue(ctx: Context) -> dict:
    return ctx.store.get(*QUEUE) or {"pauses": []}


def _events(ctx: Context, instance_sid: str) -> list[dict]:
    return [record for _, record in ctx.store.items(f"events@{instance_sid}")]


def _save_events(ctx: Context, instance_sid: str, records: list[dict]) -> None:
    for record in records:
        ctx.store.put(f"events@{instance_sid}", record["sid"], record)
        ctx.store.put("event-index", record["sid"], {"instanceSid": instance_sid})
        ctx.store.put("correlations", record["correlationId"], {"sid": record["sid"]})


def _open_instance(ctx: Context) -> tuple[dict, list[dict], dict]:
    """The instance the access rule loaded, settled, with its events and its strategy."""
    instance, strategy = ctx.loaded["instance"], ctx.loaded["strategy"]
    before = _events(ctx, instance["sid"])
    settled, records = instances.settle(instance, before, strategy, _queue(ctx), _env(ctx))
    if settled != instance:
        ctx.store.put("instances", settled["sid"], settled)
    stored = {r["sid"]: r for r in before}
    _save_events(ctx, settled["sid"], [r for r in records if stored.get(r["sid"]) != r])  # a read mostly writes nothing
    return settled, records, strategy


def _open_event(ctx: Context) -> tuple[dict, dict]:
    """The event the access rule found (settled with its instance) and its instance."""
    instance, records, _ = _open_instance(ctx)
    return next(r for r in records if r["sid"] == ctx.loaded["eventSid"]), instance


def _instance_body(ctx: Context, instance: dict, records: list[dict], *, strategy: dict | None = None) -> dict:
    held = ev.holds(instance, _queue(ctx))
    return render.instance(instance, next_event=render.next_event(instance, records, held, ctx.now()),
                           strategy=strategy)


def _event_body(ctx: Context, record: dict, instance: dict) -> dict:
    return render.event(record, ev.holds(instance, _queue(ctx)), ctx.now())


def _invalid(messages: list[str]) -> None:
    if messages:
        raise Rejection("invalid", messages[0], details=messages)


# -- strategies ------------------------------------------------------------------------------------
def create_strategy(ctx: Context) -> Reply:
    body = ctx.body or {}
    _invalid(strategies.validate_strategy(body))
    if ctx.store.get("strategy-names", body["name"]) is not None:
        raise Rejection("conflict", NAME_TAKEN)
    record = strategies.new_strategy(body, sid=_env(ctx).mint(), now=ctx.now())
    ctx.store.put("strategies", record["sid"], record)
    ctx.store.put("strategy-names", record["name"], {"sid": record["sid"]})
    return Reply(200, strategies.summary(record))


def get_strategy(ctx: Context) -> Reply:
    return Reply(200, strategies.details(ctx.loaded["strategy"]))


def update_strategy(ctx: Context) -> Reply:
    record = ctx.loaded["strategy"]
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
    return Reply(200, strategies.summary(updated))


# -- instances -------------------------------------------------------------------------------------
def create_instance(ctx: Context) -> Reply:
    instance, cycle, on_create = instances.create_instance(ctx.body, ctx.loaded["strategy"], _env(ctx))
    ctx.store.put("instances", instance["sid"], instance)
    _save_events(ctx, instance["sid"], cycle + on_create)
    return Reply(200, render.created(
        _instance_body(ctx, instance, cycle), _event_body(ctx, cycle[0], instance),
        [_event_body(ctx, record, instance) for record in on_create],
    ))


def get_instance(ctx: Context) -> Reply:
    instance, records, _ = _open_instance(ctx)
    return Reply(200, _instance_body(ctx, instance, records))


def get_tasks(ctx: Context) -> Reply:
    instance, records, strategy = _open_instance(ctx)
    held, now = ev.holds(instance, _queue(ctx)), ctx.now()
    nested = _instance_body(ctx, instance, records, strategy=strategy)
    return Reply(200, [render.event(r, held, now, instance_body=nested, strategy=strategy) for r in records
                       if ev.event_state(r, held, now).status in ev.OPEN])


def pause_instance(ctx: Context) -> Reply:
    instance, records, strategy = _open_instance(ctx)
    paused = instances.pause_instance(instance, _env(ctx))
    ctx.store.put("instances", paused["sid"], paused)
    return Reply(200, _instance_body(ctx, paused, records, strategy=strategy))


def cancel_instance(ctx: Context) -> Reply:
    instance, records, strategy = _open_instance(ctx)
    cancelled, records, on_cancel, count = instances.cancel_instance(
        instance, records, strategy, _queue(ctx), _env(ctx))
    ctx.store.put("instances", cancelled["sid"], cancelled)
    _save_events(ctx, cancelled["sid"], records + on_cancel)
    return Reply(200, render.cancelled(_instance_body(ctx, cancelled, records),
                                       [_event_body(ctx, r, cancelled) for r in on_cancel], count))


def cancel_tasks(ctx: Context) -> Reply:
    instance, records, _ = _open_instance(ctx)
    same, records, count = instances.cancel_tasks(instance, records, ctx.query.get("tasks", ""), _queue(ctx),
                                                  _env(ctx))
    ctx.store.put("instances", same["sid"], same)
    _save_events(ctx, same["sid"], records)
    return Reply(200, render.tasks_cancelled(_instance_body(ctx, same, records), count))


# -- events ----------------------------------------------------------------------------------------
def get_event(ctx: Context) -> Reply:
    record, instance = _open_event(ctx)
    return Reply(200, render.wrapped_event(_event_body(ctx, record, instance)))


def cancel_event(ctx: Context) -> Reply:
    record, instance = _open_event(ctx)
    cancelled = instances.cancel_event(record, ev.holds(instance, _queue(ctx)), _env(ctx))
    _save_events(ctx, instance["sid"], [cancelled])
    return Reply(200, _event_body(ctx, cancelled, instance))


def resume_event(ctx: Context) -> Reply:
    record, instance = _open_event(ctx)
    resumed = instances.resume_event(record, ev.holds(instance, _queue(ctx)), _env(ctx), ctx.body)
    _save_events(ctx, instance["sid"], [resumed])
    return Reply(200, _event_body(ctx, resumed, instance))


# -- the queue -------------------------------------------------------------------------------------
def queue_status(ctx: Context) -> Reply:
    return Reply(200, render.queue_status(_queue(ctx)))


def pause_queue(ctx: Context) -> Reply:
    ctx.store.put(*QUEUE, ev.pause_queue(_queue(ctx), ctx.now()))
    return Reply(200, render.queue_changed())


def resume_queue(ctx: Context) -> Reply:
    ctx.store.put(*QUEUE, ev.resume_queue(_queue(ctx), ctx.now()))
    return Reply(200, render.queue_changed())


HANDLERS: dict[str, Callable[[Context], Reply]] = {
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
def identify(identity: Identity) -> Caller:
    """Only the fixture's bearer tokens pass (401 otherwise); every caller sees every strategy it
    holds the secret of, so there is no account."""
    token = next((c.value for c in identity.credentials if c.kind == "bearer"), None)
    if token is None or token not in (identity.services.settings.get("bearerTokens") or []):
        raise Rejection("unauthenticated", "Unauthorized")
    return Caller("bolttech", name=token)


def error_style(case: ErrorCase) -> tuple[dict, str]:
    """Every status as the NestJS default body."""
    details = case.rejection.details if isinstance(case.rejection.details, list) else None
    return render.error_body(case.status, case.rejection.message, details), "application/json"


def seed(services: Services, fixtures: dict[str, Any]) -> None:
    """The fixture's strategies, instances and events, written as the handlers would."""
    store = services.store
    state = seed_state(fixtures, now=services.now(), seed=services.seed,
                       mint=lambda: render.sid(services.seed, store.next_id("sids")))
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
