"""bolttech's Schemathesis hooks (loaded by contract_tests/hooks.py, never by the mock itself):
generated data that reaches the fixtures.

bolttech addresses everything by random UUIDs ("sids"), so generated ones hit nothing but 404. Three
of every four generated sids (chosen by the value, so a run stays deterministic) are swapped for
one the fixtures define, and so is a create-instance body's ``strategyId``; the rest still probe
the 404 path. Only well-formed values are swapped, so every negative case stays negative. A PATCH
of a strategy keeps a sent ``secret`` at the fixture's, because the run's ``Strategy-Secret``
header is fixed: a changed secret would turn every later call into a 403. A create-strategy body's
blocks name each other by key, which JSON Schema cannot say, so nearly every generated one is
refused (400, broken references; schemathesis.toml); one positive body in four (counted) gets the fixture
strategy's settings under a name of its own, so each phase also sees the create succeed.

The coverage phase sends the create and the PATCH of a strategy the same ~1,100 invalid variants of
the one ``StrategySettings`` schema both bodies hold (the PATCH's ``settings`` is ``allOf``
StrategySettings + the list of blocks it requires), each checked by the same spec-driven request
validation. The PATCH keeps every case of its own -- path, headers, name, secret, description, the
blocks it requires, every positive variant -- and leaves the shared settings variants to the create.

Every operation of another API is left alone.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from typing import Any

import schemathesis
import yaml

from mock_server import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "fixtures" / "bolttech.yaml"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PREFIXES = ("/execution-instance", "/execution-event", "/execution-strategy")


def _fixture_ids() -> dict[str, list[str]]:
    fixtures = yaml.safe_load(FIXTURES.read_text())
    instances = fixtures.get("instances") or []
    return {
        "instanceSid": [i["sid"] for i in instances],
        "eventSid": [sid for i in instances for sid in (i.get("sids") or {}).values()],
        "correlationId": [c for i in instances for c in (i.get("correlationIds") or {}).values()],
        "strategySid": [s["sid"] for s in fixtures.get("strategies") or []],
        "secret": [s["secret"] for s in fixtures.get("strategies") or []],
    }


KNOWN = _fixture_ids()
SETTINGS = next((s["settings"] for s in yaml.safe_load(FIXTURES.read_text()).get("strategies") or []
                 if s.get("settings")), None)
_creates = itertools.count(1)


def _pick(value: str, choices: list[str]) -> str:
    """A fixture id for three values in four (by the value's digest), else the value itself."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
    if not choices or digest[0] % 4 == 0:
        return value
    return choices[digest[1] % len(choices)]


def _ours(context: Any) -> bool:
    operation = getattr(context, "operation", None)
    return operation is not None and operation.path.startswith(PREFIXES)


def _operation_id(context: Any) -> str | None:
    return context.operation.definition.raw.get("operationId")


def _mapped_path(name: str, value: Any) -> Any:
    well_formed = isinstance(value, str) and (UUID.match(value) or (name == "correlationId" and value))
    return _pick(value, KNOWN[name]) if name in KNOWN and well_formed else value


def _mapped_body(operation_id: str | None, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    if operation_id == "ExecutionInstanceController_create" and isinstance(body.get("strategyId"), str) \
            and body["strategyId"]:
        return {**body, "strategyId": _pick(body["strategyId"], KNOWN["strategySid"])}
    return body


def _valid_strategy(operation_id: str | None, body: Any) -> Any:
    if operation_id != "ExecutionStrategyController_create" or not isinstance(body, dict) or SETTINGS is None \
            or not isinstance(body.get("name"), str) or not body["name"]:
        return body
    # Counted, not by the value: a phase often repeats one name (the example's), and one worker
    # keeps the count reproducible.
    count = next(_creates)
    if count % 4 != 1:
        return body
    return {**body, "name": f"{body['name']}-{count}", "settings": copy.deepcopy(SETTINGS)}


def _pinned_secret(operation_id: str | None, body: Any) -> Any:
    if operation_id == "ExecutionStrategyController_update" and isinstance(body, dict) \
            and isinstance(body.get("secret"), str) and body["secret"] and KNOWN["secret"]:
        return {**body, "secret": KNOWN["secret"][0]}
    return body


def _schedulable(operation_id: str | None, path: dict[str, Any] | None, body: Any) -> Any:
    """A valid PATCH of a fixture strategy keeps the fixture's settings: every create is mapped to
    a fixture strategy, and one accepted PATCH with generated settings (a schedule that places no
    start, say) would turn every later create into the documented 400, so that no stateful
    scenario could start. PATCHes of the strategies a run creates keep their generated settings."""
    if operation_id == "ExecutionStrategyController_update" and isinstance(body, dict) and "settings" in body \
            and SETTINGS is not None and (path or {}).get("strategySid") in KNOWN["strategySid"] \
            and body["settings"] != SETTINGS:
        return {**body, "settings": copy.deepcopy(SETTINGS)}
    return body


# The PATCH's settings schema is `allOf: [StrategySettings, {required: ...}]`: a coverage case located
# under its first member is a variant of StrategySettings itself, which the create's coverage sends.
SHARED_SETTINGS = "/properties/settings/allOf/0"


# Registered for that one operation only: a filter hook wraps the generation of every operation it
# applies to, which would change what every other operation draws at the same seed.
@schemathesis.hook.apply_to(operation_id="ExecutionStrategyController_update")
def filter_case(context: Any, case: Any) -> bool:
    meta = case.meta
    data = meta.phase.data if meta is not None and meta.phase.name.value == "coverage" else None
    location = getattr(data, "location", None) or ""
    return not (location == SHARED_SETTINGS or location.startswith(SHARED_SETTINGS + "/"))


# Generation-time hooks: fuzzing and stateful phases (a stateful step's linked values are set after
# generation, so they are never swapped).
@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    if not _ours(context) or not path_parameters:
        return path_parameters
    return {name: _mapped_path(name, value) for name, value in path_parameters.items()}


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if not _ours(context):
        return body
    return _mapped_body(_operation_id(context), body)


# The coverage phase builds its cases without the generation hooks: swap there just before the
# call. The secret is pinned in every phase. A case is only written to where a value changes:
# Schemathesis revalidates what a hook wrote, and judges a body of None (resume's optional,
# nullable body, left out) invalid, which would turn a positive case negative.
@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if not _ours(context):
        return
    operation_id = _operation_id(context)
    body = case.body
    if case.meta is not None and case.meta.phase.name.value == "coverage":
        if case.path_parameters:
            mapped = {n: _mapped_path(n, v) for n, v in case.path_parameters.items()}
            if mapped != case.path_parameters:
                case.path_parameters = mapped
        body = _mapped_body(operation_id, body)
    if case.meta is not None and case.meta.generation.mode.is_positive:
        body = _valid_strategy(operation_id, body)
        body = _schedulable(operation_id, case.path_parameters, body)
    body = _pinned_secret(operation_id, body)
    if body is not case.body:
        case.body = body
