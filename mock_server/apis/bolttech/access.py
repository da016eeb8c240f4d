"""The ``Strategy-Secret`` rules, in the service's order, as access rules of the vendor profile.

A missing (or non-base64) header never reaches them: it is a required header parameter, so request
validation answers 400 first. Each rule then loads the entity its operation names, answers 404 when
there is none (there is no strategy to check the secret against), 403 when the secret is not its
strategy's, and stashes what it loaded in ``ctx.loaded`` for the handler.

Store layout (the vendor's namespace): ``strategies`` by sid, ``strategy-names`` name -> sid,
``instances`` by sid, ``events@<instanceSid>`` the instance's events by sid, ``event-index``
event sid -> instance sid, ``correlations`` correlationId -> event sid, ``queue`` key ``global``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.errors import Rejection
from mock_server.vendor import Context, Rule

from . import strategies

SECRET_HEADER = "Strategy-Secret"
STRATEGY_NOT_FOUND = "Execution strategy not found"
INSTANCE_NOT_FOUND = "Execution instance not found"
EVENT_NOT_FOUND = "Execution event not found"


def _refuse(verdict: strategies.SecretVerdict | None) -> None:
    if verdict is not None:
        raise Rejection(verdict.kind, verdict.message, status=verdict.status)


def _check(ctx: Context, strategy: Mapping[str, Any] | None, not_found: str) -> None:
    _refuse(strategies.check_secret(ctx.headers.get(SECRET_HEADER), strategy, not_found))


def strategy_for(store: Any, key: str) -> dict | None:
    """A strategy by sid or by name (instances name theirs either way)."""
    found = store.get("strategies", key)
    if found is None:
        sid = (store.get("strategy-names", key) or {}).get("sid")
        found = store.get("strategies", sid) if sid else None
    return found


def _instance(ctx: Context, sid: str | None, not_found: str) -> None:
    instance = ctx.store.get("instances", sid) if sid else None
    strategy = ctx.store.get("strategies", instance["strategySid"]) if instance else None
    _check(ctx, strategy, not_found)
    ctx.loaded.update(instance=instance, strategy=strategy)


def instance_secret(ctx: Context) -> None:
    """Instance calls: the instance's strategy."""
    _instance(ctx, str(ctx.path_params["instanceSid"]), INSTANCE_NOT_FOUND)


def _event(ctx: Context, event_sid: str | None) -> None:
    index = ctx.store.get("event-index", event_sid) if event_sid else None
    _instance(ctx, index["instanceSid"] if index else None, EVENT_NOT_FOUND)
    ctx.loaded["eventSid"] = event_sid


def event_secret(ctx: Context) -> None:
    """Event calls by sid: the strategy of the event's instance."""
    _event(ctx, str(ctx.path_params["eventSid"]))


def correlation_secret(ctx: Context) -> None:
    """Resume: the event holding that correlationId (unknown -> the event's 404)."""
    target = ctx.store.get("correlations", str(ctx.path_params["correlationId"]))
    _event(ctx, target["sid"] if target else None)


def strategy_secret(ctx: Context) -> None:
    """GET / PATCH strategy: the path's strategy."""
    strategy = ctx.store.get("strategies", str(ctx.path_params["strategySid"]))
    _check(ctx, strategy, STRATEGY_NOT_FOUND)
    ctx.loaded["strategy"] = strategy


def body_strategy_secret(ctx: Context) -> None:
    """Create instance: the strategy the body names (sid or name)."""
    body = ctx.body if isinstance(ctx.body, dict) else {}
    strategy = strategy_for(ctx.store, str(body.get("strategyId", "")))
    _check(ctx, strategy, STRATEGY_NOT_FOUND)
    ctx.loaded["strategy"] = strategy


def any_secret(ctx: Context) -> None:
    """The queue is global: the secret of any known strategy opens it (no 404)."""
    known = [record for _, record in ctx.store.items("strategies")]
    _refuse(strategies.check_any_secret(ctx.headers.get(SECRET_HEADER), known))


RULES: dict[str, list[Rule]] = {
    "ExecutionStrategyController_findOne": [strategy_secret],
    "ExecutionStrategyController_update": [strategy_secret],
    "ExecutionInstanceController_create": [body_strategy_secret],
    "ExecutionInstanceController_findOne": [instance_secret],
    "ExecutionInstanceController_getTasks": [instance_secret],
    "ExecutionInstanceController_pause": [instance_secret],
    "ExecutionInstanceController_cancel": [instance_secret],
    "ExecutionInstanceController_cancelTasks": [instance_secret],
    "ExecutionEventController_findOne": [event_secret],
    "ExecutionEventController_cancel": [event_secret],
    "ExecutionEventController_resume": [correlation_secret],
    "QueueController_getStatus": [any_secret],
    "QueueController_pause": [any_secret],
    "QueueController_resume": [any_secret],
}
