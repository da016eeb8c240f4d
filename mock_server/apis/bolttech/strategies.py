"""Strategies: validation of create/patch bodies, the stored record, its renderings, the secret.

Validation answers the way a NestJS ValidationPipe over class-validator DTOs does: one message
per broken rule, named by the property's dotted path ("settings.tasks.0.key should not be
empty"), collected in body order. The references between blocks (a step's action, a calendar's
task, ...) are checked too, in our own wording: the vendor documents none of its messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from mock_server.records import INTEGER, MOMENT, OBJECT, TEXT, obj

from .schedule import UNITS, iso, zone_exists

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
HTTP_METHODS = ("get", "delete", "post", "put", "patch")
RULE_KINDS = ("onError", "onBeforeRetry", "onBeforePause", "callback")
SETTINGS_BLOCKS = ("config", "schedule", "onCreateTasks", "onCancelTasks", "services", "tasks", "actions")
MAX_REQUEST_DELAY = 5000


def bad_request(messages: list[str]) -> dict[str, Any]:
    """The NestJS ValidationPipe body for ``messages``."""
    return {"statusCode": 400, "message": messages, "error": "Bad Request"}


# -- validation -------------------------------------------------------------------------------------
class _Checker:
    """Collects class-validator messages while walking a body."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def fail(self, path: str, text: str) -> None:
        self.messages.append(f"{path} {text}")

    def present(self, obj: Mapping, key: str, path: str, *, required: bool, nullable: bool = False) -> bool:
        """True when ``obj[key]`` is there to check further; reports a missing required value."""
        value = obj.get(key)
        if value is None:
            if required and not (nullable and key in obj):
                self.fail(path, "should not be null or undefined")
            return False
        return True

    def string(self, obj: Mapping, key: str, path: str, *, required: bool = False, not_empty: bool = False) -> bool:
        """A string property; ``not_empty`` (class-validator IsNotEmpty) implies required."""
        value = obj.get(key)
        if value is None:
            if not_empty:
                self.fail(path, "should not be empty")
            if required or not_empty:
                self.fail(path, "must be a string")
            return False
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return False
        if not_empty and value == "":
            self.fail(path, "should not be empty")
            return False
        return True

    def number(
        self, obj: Mapping, key: str, path: str, *, required: bool = False, minimum: float | None = None,
        maximum: float | None = None, positive: bool = False,
    ) -> bool:
        if not self.present(obj, key, path, required=required):
            return False
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            self.fail(path, "must be a number conforming to the specified constraints")
            return False
        ok = True
        if positive and value <= 0:
            self.fail(path, "must be a positive number")
            ok = False
        if minimum is not None and value < minimum:
            self.fail(path, f"must not be less than {_num(minimum)}")
            ok = False
        if maximum is not None and value > maximum:
            self.fail(path, f"must not be greater than {_num(maximum)}")
            ok = False
        return ok

    def boolean(self, obj: Mapping, key: str, path: str) -> None:
        if self.present(obj, key, path, required=False) and not isinstance(obj[key], bool):
            self.fail(path, "must be a boolean value")

    def one_of(self, obj: Mapping, key: str, path: str, values: tuple[str, ...], *, required: bool = False) -> bool:
        if not self.present(obj, key, path, required=required):
            return False
        if obj[key] not in values:
            self.fail(path, f"must be one of the following values: {', '.join(values)}")
            return False
        return True

    def obj(
        self, parent: Mapping, key: str, path: str, *, required: bool = False, nullable: bool = False
    ) -> Mapping | None:
        if not self.present(parent, key, path, required=required, nullable=nullable):
            return None
        value = parent[key]
        if not isinstance(value, dict):
            self.fail(path, "nested property " + path.rsplit(".", 1)[-1] + " must be either object or array")
            return None
        return value

    def array(
        self, parent: Mapping, key: str, path: str, *, required: bool = False, not_empty: bool = False,
        nullable: bool = False,
    ) -> list[Any]:
        if not self.present(parent, key, path, required=required, nullable=nullable):
            return []
        value = parent[key]
        if not isinstance(value, list):
            self.fail(path, "must be an array")
            return []
        if not_empty and not value:
            self.fail(path, "should not be empty")
        return value

    def each(self, parent: Mapping, key: str, path: str, **kwargs: bool) -> list[tuple[str, Mapping]]:
        """The object elements of the array ``parent[key]`` with their paths."""
        return self.items(self.array(parent, key, path, **kwargs), path)

    def items(self, values: list[Any], path: str) -> list[tuple[str, Mapping]]:
        """The object elements of an array with their paths; reports the others."""
        found = []
        for i, item in enumerate(values):
            if isinstance(item, dict):
                found.append((f"{path}.{i}", item))
            else:
                self.fail(f"{path}.{i}", f"nested property {i} must be either object or array")
        return found


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def validate_strategy(body: Any, *, update: bool = False) -> list[str]:
    """The validation messages for a create (``update=False``) or PATCH body; empty when valid.

    PATCH replaces the whole settings object, so every settings block is required there.
    """
    c = _Checker()
    if not isinstance(body, dict):
        return ["body must be an object"]
    if c.string(body, "name", "name", not_empty=not update) and not NAME.match(body["name"]):
        c.fail("name", f"must match /{NAME.pattern}/ regular expression")
    c.string(body, "description", "description")
    if not update or "secret" in body:
        c.string(body, "secret", "secret", not_empty=True)
    settings = c.obj(body, "settings", "settings", required=True)
    if settings is not None:
        _settings(c, settings, update=update)
    return c.messages


def _settings(c: _Checker, s: Mapping, *, update: bool) -> None:
    config = c.obj(s, "config", "settings.config", required=update)
    if config is not None:
        c.number(config, "requestDelayTime", "settings.config.requestDelayTime", minimum=0, maximum=MAX_REQUEST_DELAY)
        c.boolean(config, "manualTrigger", "settings.config.manualTrigger")
        if c.string(config, "timezone", "settings.config.timezone") and not zone_exists(config["timezone"]):
            c.fail("settings.config.timezone", "must be a valid IANA time-zone")
        c.obj(config, "instanceValidation", "settings.config.instanceValidation")

    tasks = c.each(s, "tasks", "settings.tasks", required=True)
    task_keys = _keys(tasks)
    services = c.each(s, "services", "settings.services", required=True)
    actions = c.each(s, "actions", "settings.actions", required=True)
    action_keys = _keys(actions)

    schedule = c.obj(s, "schedule", "settings.schedule", required=True)
    if schedule is not None:
        _delay(c, schedule, "initialDelay", "settings.schedule.initialDelay")
        _reset(c, schedule, "settings.schedule.resetTo")
        c.string(schedule, "retryEventCallback", "settings.schedule.retryEventCallback")
        calendars = c.array(schedule, "calendars", "settings.schedule.calendars", required=True, not_empty=True)
        seen: set[str] = set()
        for path, cal in c.items(calendars, "settings.schedule.calendars"):
            _key(c, cal, path, seen)
            c.string(cal, "description", f"{path}.description")
            c.number(cal, "runOnCycle", f"{path}.runOnCycle", minimum=1)
            _delay(c, cal, "scheduleAfter", f"{path}.scheduleAfter", required=True, positive=True)
            _task_ref(c, cal, "task", f"{path}.task", task_keys)
            for lpath, lead in c.each(cal, "leadingUpTasks", f"{path}.leadingUpTasks"):
                _task_ref(c, lead, "task", f"{lpath}.task", task_keys)
                _delay(c, lead, "scheduleBefore", f"{lpath}.scheduleBefore")

    for block in ("onCreateTasks", "onCancelTasks"):
        entries = c.array(s, block, f"settings.{block}", required=update, nullable=block == "onCancelTasks")
        for path, entry in c.items(entries, f"settings.{block}"):
            if c.string(entry, "task", f"{path}.task", not_empty=True):
                _task_ref(c, entry, "task", f"{path}.task", task_keys)
            _delay(c, entry, "delayBy", f"{path}.delayBy")
            c.boolean(entry, "manualTrigger", f"{path}.manualTrigger")
            c.string(entry, "createIf", f"{path}.createIf")

    methods: dict[str, set[str]] = {}
    seen = set()
    for path, svc in services:
        _key(c, svc, path, seen)
        c.string(svc, "description", f"{path}.description")
        for upath, url in c.each(svc, "baseUrls", f"{path}.baseUrls", required=True):
            c.string(url, "environment", f"{upath}.environment", not_empty=True)
            c.string(url, "url", f"{upath}.url", not_empty=True)
        for apath, auth in c.each(svc, "authorization", f"{path}.authorization"):
            c.string(auth, "environment", f"{apath}.environment", not_empty=True)
            c.string(auth, "url", f"{apath}.url", not_empty=True)
            c.one_of(auth, "method", f"{apath}.method", HTTP_METHODS, required=True)
            c.boolean(auth, "noCache", f"{apath}.noCache")
        c.string(svc, "credentialPath", f"{path}.credentialPath")
        c.string(svc, "credentialType", f"{path}.credentialType")
        method_items = c.each(svc, "methods", f"{path}.methods", required=True)
        if isinstance(svc.get("key"), str):
            methods.setdefault(svc["key"], set()).update(_keys(method_items))
        mseen: set[str] = set()
        for mpath, method in method_items:
            _key(c, method, mpath, mseen)
            c.string(method, "url", f"{mpath}.url", not_empty=True)
            c.one_of(method, "method", f"{mpath}.method", HTTP_METHODS, required=True)
            c.boolean(method, "async", f"{mpath}.async")

    seen = set()
    for path, task in tasks:
        _key(c, task, path, seen)
        c.string(task, "description", f"{path}.description")
        _retry(c, task, f"{path}.retryConfig")
        steps = c.each(task, "steps", f"{path}.steps", required=True, not_empty=True)
        step_keys = _keys(steps)
        initial = c.string(task, "initialStep", f"{path}.initialStep", not_empty=True)
        if initial and task["initialStep"] not in step_keys:
            c.fail(f"{path}.initialStep", "must be the key of one of the task's steps")
        sseen: set[str] = set()
        for spath, step in steps:
            _key(c, step, spath, sseen)
            if c.string(step, "action", f"{spath}.action") and step["action"] not in action_keys:
                c.fail(f"{spath}.action", "must be the key of one of settings.actions")
            _step_ref(c, step, f"{spath}.nextStep", step_keys)
            for rpath, rule in c.each(step, "nextStepRules", f"{spath}.nextStepRules"):
                c.one_of(rule, "if", f"{rpath}.if", RULE_KINDS, required=True)
                c.string(rule, "ifCallback", f"{rpath}.ifCallback")
                _step_ref(c, rule, f"{rpath}.nextStep", step_keys)
            for flag in ("final", "optional", "repeatOnRetry", "resetAttempts"):
                c.boolean(step, flag, f"{spath}.{flag}")
            _retry(c, step, f"{spath}.retryConfig")

    seen = set()
    for path, action in actions:
        _key(c, action, path, seen)
        service_ok = c.string(action, "service", f"{path}.service", not_empty=True)
        if service_ok and action["service"] not in methods:
            c.fail(f"{path}.service", "must be the key of one of settings.services")
        elif (
            c.string(action, "method", f"{path}.method", not_empty=True)
            and service_ok
            and action["method"] not in methods[action["service"]]
        ):
            c.fail(f"{path}.method", f"must be the key of one of the methods of service {action['service']}")


def _keys(items: list[tuple[str, Mapping]]) -> set[str]:
    return {item["key"] for _, item in items if isinstance(item.get("key"), str)}


def _key(c: _Checker, obj: Mapping, path: str, seen: set[str]) -> None:
    if c.string(obj, "key", f"{path}.key", not_empty=True):
        if obj["key"] in seen:
            c.fail(f"{path}.key", "must be unique")
        seen.add(obj["key"])


def _task_ref(c: _Checker, obj: Mapping, key: str, path: str, task_keys: set) -> None:
    if isinstance(obj.get(key), str) and obj[key] and obj[key] not in task_keys:
        c.fail(path, "must be the key of one of settings.tasks")
    elif key in obj and obj[key] is not None and not isinstance(obj[key], str):
        c.fail(path, "must be a string")


def _step_ref(c: _Checker, obj: Mapping, path: str, step_keys: set) -> None:
    if c.string(obj, "nextStep", path) and obj["nextStep"] not in step_keys:
        c.fail(path, "must be the key of one of the task's steps")


def _delay(
    c: _Checker, parent: Mapping, key: str, path: str, *, required: bool = False, positive: bool = False
) -> None:
    delay = c.obj(parent, key, path, required=required)
    if delay is None:
        return
    c.one_of(delay, "unit", f"{path}.unit", UNITS, required=True)
    c.number(delay, "amount", f"{path}.amount", required=True, positive=positive)
    c.string(delay, "from", f"{path}.from")
    _reset(c, delay, f"{path}.resetTo")
    c.string(delay, "retryEventCallback", f"{path}.retryEventCallback")


def _reset(c: _Checker, parent: Mapping, path: str) -> None:
    reset_to = c.obj(parent, "resetTo", path)
    if reset_to is None:
        return
    c.number(reset_to, "month", f"{path}.month", minimum=1, maximum=12)
    c.number(reset_to, "day", f"{path}.day", minimum=1, maximum=31)
    c.number(reset_to, "hour", f"{path}.hour", minimum=0, maximum=24)
    c.number(reset_to, "minute", f"{path}.minute", minimum=0, maximum=59)


def _retry(c: _Checker, parent: Mapping, path: str) -> None:
    retry = c.obj(parent, "retryConfig", path)
    if retry is None:
        return
    c.number(retry, "times", f"{path}.times", required=True, minimum=0)
    c.boolean(retry, "pauseBeforeCancel", f"{path}.pauseBeforeCancel")
    _delay(c, retry, "retryAfter", f"{path}.retryAfter")
    for rpath, period in c.each(retry, "retryStrategy", f"{path}.retryStrategy"):
        c.one_of(period, "unit", f"{rpath}.unit", UNITS, required=True)
        c.number(period, "amount", f"{rpath}.amount", required=True)


# -- the record and its renderings ------------------------------------------------------------------
# The stored strategy, checked on every admin import (mock_server/snapshot.py); its settings are
# judged by ``validate_strategy``, as a create would judge them.
RECORD = obj({"sid": TEXT, "name": TEXT, "description": TEXT, "secret": {**TEXT, "pattern": "^sha256:[0-9a-f]{64}$"},
              "version": {**INTEGER, "minimum": 1}, "settings": OBJECT, "createdAt": MOMENT, "updatedAt": MOMENT})


def new_strategy(body: Mapping[str, Any], *, sid: str, now: float) -> dict[str, Any]:
    """The stored strategy for a valid create body (version 1; the secret kept only as a digest)."""
    return {
        "sid": sid,
        "name": body["name"],
        "description": body.get("description", ""),
        "secret": secret_digest(body["secret"]),
        "version": 1,
        "settings": body["settings"],
        "createdAt": now,
        "updatedAt": now,
    }


def patched_strategy(record: Mapping[str, Any], body: Mapping[str, Any], *, now: float) -> dict[str, Any]:
    """PATCH: settings replaced whole, name/description/secret changed when given, version + 1."""
    updated = dict(record)
    updated.update(settings=body["settings"], version=int(record["version"]) + 1, updatedAt=now)
    for key in ("name", "description"):
        if key in body:
            updated[key] = body[key]
    if "secret" in body:
        updated["secret"] = secret_digest(body["secret"])
    return updated


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """Create and PATCH answer."""
    return {
        "version": int(record["version"]),
        "sid": record["sid"],
        "name": record["name"],
        "description": record["description"],
        "createdAt": iso(record["createdAt"]),
        "updatedAt": iso(record["updatedAt"]),
    }


def details(record: Mapping[str, Any]) -> dict[str, Any]:
    """GET answer: the decrypted settings, no secret."""
    return {
        "version": int(record["version"]),
        "name": record["name"],
        "description": record["description"],
        "sid": record["sid"],
        "createdAt": iso(record["createdAt"]),
        "updatedAt": iso(record["updatedAt"]),
        "settings": record["settings"],
    }


def embedded(record: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy nested in instances and events (the seed's Strategy: stored secret included)."""
    return {
        "createdAt": iso(record["createdAt"]),
        "updatedAt": iso(record["updatedAt"]),
        "sid": record["sid"],
        "name": record["name"],
        "description": record["description"],
        "secret": record["secret"],
        "version": int(record["version"]),
        "settings": record["settings"],
    }


# -- the secret -------------------------------------------------------------------------------------
class SecretVerdict(NamedTuple):
    """Why a call is refused: ``kind`` is the Rejection kind, ``status`` the HTTP status."""

    kind: str
    status: int
    message: str


MISSING = SecretVerdict("invalid", 400, "Strategy-Secret header is required")
FORBIDDEN = SecretVerdict("forbidden", 403, "Invalid strategy secret")


def secret_digest(plain: str) -> str:
    """The stored form of a secret (the plain text is never kept or shown)."""
    return "sha256:" + hashlib.sha256(plain.encode()).hexdigest()


def secret_header(plain: str) -> str:
    """The ``Strategy-Secret`` value for a plain secret: its base64."""
    return base64.b64encode(plain.encode()).decode()


def secret_matches(header: str, record: Mapping[str, Any]) -> bool:
    try:
        plain = base64.b64decode(header, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return hmac.compare_digest(secret_digest(plain), record["secret"])


def check_secret(header: str | None, strategy: Mapping[str, Any] | None, not_found: str) -> SecretVerdict | None:
    """Which refusal applies, in order: no header -> 400, no such entity (``strategy`` None: the
    instance, event or strategy was not found) -> 404 with ``not_found``, wrong secret -> 403;
    None when the call may go on."""
    if not header:
        return MISSING
    if strategy is None:
        return SecretVerdict("not_found", 404, not_found)
    if not secret_matches(header, strategy):
        return FORBIDDEN
    return None


def check_any_secret(header: str | None, strategies: list[Mapping[str, Any]]) -> SecretVerdict | None:
    """The queue is global: the secret of any known strategy opens it (no 404)."""
    if not header:
        return MISSING
    return None if any(secret_matches(header, s) for s in strategies) else FORBIDDEN
