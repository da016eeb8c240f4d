"""What a run will do, per API, before anything is sent: the target, the operations, the budget.

For a non-loopback target only the operations the API's adapter calls read-only run unless
mutations are allowed, and a rate limit and a time budget apply by default. ``--dry-run`` prints
this plan and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from contract_tests import apis
from contract_tests.targets import is_loopback
from mock_server import DEFAULT_SPEC

APIS = ("i3d", "polardb", "drove", "bolttech")
MOCK = "mock"
# On someone else's server: be gentle by default (requests per second, seconds per API).
STAGING_RATE_LIMIT = "5/s"
STAGING_MAX_TIME = 300
STAGING_WORKERS = 1


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    read_only: bool

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass
class ApiPlan:
    api: str
    url: str | None               # None: the mock's URL, known once it runs
    operations: list[Operation]   # what runs
    skipped: list[Operation]      # mutating operations left out on a real target
    rate_limit: str | None
    max_time: int | None
    workers: int | str
    missing_credentials: list[str] = field(default_factory=list)
    skipped_without: dict[str, str] = field(default_factory=dict)   # unset optional credential -> what is skipped

    @property
    def is_mock(self) -> bool:
        return self.url is None

    @property
    def mutations(self) -> bool:
        return not self.skipped and any(not op.read_only for op in self.operations)


def load_spec(path: Path = DEFAULT_SPEC) -> dict:
    return yaml.safe_load(path.read_text())


def operations_of(spec: dict, api: str) -> list[Operation]:
    adapter = apis.get(api)
    found = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("x-api") == api:
                found.append(Operation(op["operationId"], method, path, adapter.read_only(method, op)))
    return found


def default_url(spec: dict, api: str) -> str:
    servers = (spec.get("x-apis", {}).get(api) or {}).get("servers") or []
    if not servers:
        raise ValueError(f"{api}: the merged spec keeps no servers for it; give --target {api}=URL")
    return servers[0]["url"]


def parse_targets(values: list[str]) -> dict[str, str] | None:
    """``["mock"]`` -> None (the mock); ``["i3d=https://x", ...]`` -> {api: url}."""
    if not values or values == [MOCK]:
        return None
    if MOCK in values:
        raise ValueError("--target mock cannot be combined with API=URL targets")
    urls = {}
    for value in values:
        api, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"--target {value!r}: expected 'mock' or API=URL (e.g. i3d=https://staging.example)")
        urls[api.strip()] = url.rstrip("/")
    return urls


def build(spec: dict, selected: list[str], targets: dict[str, str] | None, *, allow_mutations: bool,
          rate_limit: str | None, max_time: int | None, workers: int | None, env: dict[str, str]) -> list[ApiPlan]:
    plans = []
    for api in selected:
        operations = operations_of(spec, api)
        if not operations:
            raise ValueError(f"{api}: no operation of the merged spec has x-api: {api}")
        adapter = apis.get(api)
        if targets is None:
            # One worker by default: workers share the mock's state, so more than one makes the run
            # depend on thread timing; with one, the same seed gives the same run.
            plans.append(ApiPlan(api, None, operations, [], rate_limit, max_time, workers or 1))
            continue
        url = targets.get(api) or default_url(spec, api)
        local = is_loopback(url)
        keep = operations if local or allow_mutations else [op for op in operations if op.read_only]
        plans.append(ApiPlan(
            api, url, keep, [op for op in operations if op not in keep],
            rate_limit if rate_limit is not None or local else STAGING_RATE_LIMIT,
            max_time if max_time is not None or local else STAGING_MAX_TIME,
            workers or (2 if local else STAGING_WORKERS),
            [name for name in adapter.credentials if not env.get(name) and name not in adapter.optional_credentials],
            {name: skipped for name, skipped in adapter.optional_credentials.items() if not env.get(name)},
        ))
    return plans


def describe(plans: list[ApiPlan]) -> str:
    """The plan as text (``--dry-run``): one block per API, every operation marked run or skipped."""
    lines = []
    for plan in plans:
        where = plan.url or "the mock (started for this run)"
        lines.append(f"{plan.api}: {where}")
        lines.append(f"  mutations: {'allowed' if plan.mutations else 'no'}; rate limit: {plan.rate_limit or 'none'};"
                     f" time budget: {plan.max_time or 'none'}{'s' if plan.max_time else ''}; workers: {plan.workers}")
        if plan.missing_credentials:
            lines.append(f"  missing credentials: {', '.join(plan.missing_credentials)} (unset: its requests carry "
                         f"no credentials and the API answers them as unauthenticated)")
        for name, skipped in plan.skipped_without.items():
            lines.append(f"  {name} unset: {skipped}")
        for op in plan.operations:
            lines.append(f"  run   {op.label}  ({op.operation_id})")
        for op in plan.skipped:
            lines.append(f"  skip  {op.label}  ({op.operation_id}): mutating; --allow-mutations to run it")
    return "\n".join(lines)
