"""From ``fixtures/bolttech.yaml`` to store records: strategies, and instances whose history is
replayed through the real lifecycle (so fixture events are exactly what the API would have made),
then given the fixture's fixed sids so walkthroughs can name them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import strategies
from .instances import Env, create_instance, settle
from .schedule import iso

_SPAN = re.compile(r"^(?P<sign>[-+]?)(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def span(text: str | int | float) -> float:
    """``-35d``, ``2h``, ``1d2h30m``, ``90s`` (or plain seconds) as seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = _SPAN.match(text.strip())
    if not match or not any(match.group(g) for g in "dhms"):
        raise ValueError(f"not a time span: {text!r}")
    seconds = sum(int(match.group(g) or 0) * n for g, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)))
    return -seconds if match.group("sign") == "-" else seconds


@dataclass
class Seeded:
    strategies: list[dict[str, Any]] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    queue: dict[str, Any] = field(default_factory=lambda: {"pauses": []})
    bearer_tokens: list[str] = field(default_factory=list)
    failure_percent: float = 0.0


def seed_state(fixtures: Mapping[str, Any], *, now: float, mint: Callable[[], str], seed: int = 0) -> Seeded:
    """Every record the fixtures describe, as of virtual time ``now``."""
    out = Seeded(bearer_tokens=list(fixtures.get("bearerTokens") or []),
                 failure_percent=float(fixtures.get("failurePercent") or 0))
    by_key: dict[str, dict[str, Any]] = {}
    for spec in fixtures.get("strategies") or []:
        body = {k: spec[k] for k in ("name", "description", "secret", "settings") if k in spec}
        problems = strategies.validate_strategy(body)
        if problems:
            raise ValueError(f"fixture strategy {spec.get('name')}: {problems}")
        record = strategies.new_strategy(body, sid=spec["sid"], now=now + span(spec.get("createdAt", 0)))
        out.strategies.append(record)
        by_key[record["sid"]] = by_key[record["name"]] = record
    for spec in fixtures.get("instances") or []:
        strategy = by_key[spec["strategyId"]]
        instance, events = _replay(spec, strategy, out, now=now, mint=mint, seed=seed)
        out.instances.append(instance)
        out.events.extend(events)
    return out


def _replay(spec: Mapping, strategy: Mapping, out: Seeded, *, now: float, mint: Callable[[], str], seed: int):
    start = now + span(spec["startDate"])
    env = Env(now=start, mint=mint, seed=seed, failure_percent=out.failure_percent)
    body = {"strategyId": spec["strategyId"], "startDate": iso(start), "description": spec.get("description", ""),
            "attributes": spec.get("attributes") or {}}
    instance, cycle, on_create = create_instance(body, strategy, env)
    events = cycle + on_create
    for step in sorted(spec.get("resumes") or [], key=lambda r: span(r["at"])):
        at = Env(now=start + span(step["at"]), mint=mint, seed=seed, failure_percent=out.failure_percent)
        instance, events = settle(instance, events, strategy, out.queue, at)
        i = _find(events, step["event"])
        events[i] = {**events[i], "resumes": [*events[i]["resumes"], [at.now, step.get("body")]]}
    instance, events = settle(instance, events, strategy, out.queue, Env(now=now, mint=mint, seed=seed,
                                                                         failure_percent=out.failure_percent))
    instance = {**instance, "sid": spec["sid"]}
    events = [{**e, "instanceSid": spec["sid"]} for e in events]
    for label, sid in (spec.get("sids") or {}).items():
        i = _find(events, label)
        if instance.get("mainEvent") == events[i]["sid"]:
            instance["mainEvent"] = sid
        events[i] = {**events[i], "sid": sid}
    for label, correlation in (spec.get("correlationIds") or {}).items():
        i = _find(events, label)
        events[i] = {**events[i], "correlationId": correlation}
    return instance, events


def _find(events: list[dict], label: str) -> int:
    """``cycle-N``: the main event of cycle N; ``task`` / ``task@N``: the first other event of that
    task (of cycle N)."""
    if label.startswith("cycle-"):
        cycle, task = int(label.removeprefix("cycle-")), None
    else:
        task, _, n = label.partition("@")
        cycle = int(n) if n else None
    for i, event in enumerate(events):
        if task is None and event["main"] and event["createdCycle"] == cycle:
            return i
        if task is not None and not event["main"] and event["task"] == task and cycle in (None, event["createdCycle"]):
            return i
    raise ValueError(f"fixture names no event {label!r}")
