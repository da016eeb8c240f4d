"""i3D.net ODP v3 ApplicationInstanceTask: accounts, templates, task batches and their lifecycle.

A task's state is never stored: each template's actions are a lifecycle table (one timed step per
action), and a task stores only its history (execute time, pauses, a cancel, the seeded failure
point). ``lifecycle.py`` replays it against the virtual clock; this module maps the result onto
i3D's TaskStatus. Decisions: specs/notes/i3d.md.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mock_server.errors import Rejection
from mock_server.lifecycle import CANCEL, PAUSE, RESUME, History, Lifecycle, Status, Step
from mock_server.records import INTEGER, TEXT
from mock_server.vendor import Caller, Context, ErrorCase, Identity, Namespace, Reply, Services, Vendor

ACCOUNTS, TEMPLATES, INSTANCES, SETTINGS = "accounts", "templates", "instances", "settings"
LIST_LIMIT, INSTANCE_LIST_LIMIT = 100, 50
# Defaults of the single-instance shortcuts (i3D: timeout defaults to 1800 s; the stop method
# falls back to the build's or application's, whose id the mock cannot know).
DEFAULT_STOP = {"methodId": "default", "timeout": "1800"}
RESULT_CODES = {"pending": 0, "paused": 2, "cancelled": 125, "failed": 126, "done": 127}
RUNNING = 1
FINISHED = ("cancelled", "failed", "done")


def tasks(account: str) -> str:
    """Each account's tasks and batches are a collection of their own: lists cost what it owns."""
    return f"tasks@{account}"


def batches(account: str) -> str:
    return f"batches@{account}"


# -- identify and errors --------------------------------------------------------------------------
def identify(identity: Identity) -> Caller:
    token = identity.credentials[0].value if identity.credentials else ""
    account = identity.store.get(ACCOUNTS, token)
    if account is None:
        raise Rejection("forbidden", "Invalid credentials")
    return Caller(account["account"])


def error_body(case: ErrorCase) -> tuple[dict, str]:
    # 10001 "Entity not found" is i3D's one published code; the others are the mock's own.
    rejection = case.rejection
    code = 10001 if case.status == 404 else 10000 + case.status
    details = [{"property": rejection.property, "message": rejection.message}] if rejection.property else []
    return {"errorCode": code, "errorMessage": rejection.message, "errors": details}, "application/json"


# -- lifecycle: a template's actions, one timed step each -----------------------------------------
@lru_cache(maxsize=256)
def _table(durations: tuple[float, ...]) -> Lifecycle:
    return Lifecycle(steps=[Step("running", d) for d in durations], before="pending", paused="paused",
                     done="done", failed="failed", cancelled="cancelled")


def lifecycle(template: dict) -> Lifecycle:
    return _table(tuple(float(a.get("durationSeconds", 3)) for a in template["actions"]))


def task_status(task: dict, template: dict, now: float) -> tuple[dict, float]:
    """i3D's TaskStatus for ``task`` at virtual time ``now``, and until when it holds."""
    status: Status = lifecycle(template).at(History.from_json(task["history"]), now)
    action = template["actions"][status.main_step]
    code = RESULT_CODES.get(status.state, RUNNING)
    text = {0: "Pending", RUNNING: f"In progress: {action['actionType']}",
            2: f"Paused at: {action['actionType']}", 125: f"Cancelled at: {action['actionType']}",
            126: f"Done with error: {action['actionType']} failed", 127: "Done"}[code]
    return {
        "id": task["id"], "name": template["name"], "batchId": task["batchId"], "categoryId": 1,
        "entityId": task["entityId"], "currentActionIdx": action["idx"],
        "executeAt": int(task["history"]["start"]), "lastActivityAt": int(status.since),
        "finishedAt": int(status.finished_at or 0), "resultCode": code, "resultText": text,
    }, status.until


# -- store access ---------------------------------------------------------------------------------
def _status(ctx: Context | Services, task: dict, templates: dict[str, dict] | None = None) -> dict:
    """``task``'s status now; ``templates`` (if given) keeps the templates read so far for a list."""
    key = str(task["templateId"])
    template = templates.get(key) if templates is not None else None
    if template is None:
        template = ctx.store.get(TEMPLATES, key)
        if templates is not None:
            templates[key] = template
    status, until = task_status(task, template, ctx.now())
    ctx.valid_until(until)
    return status


def _batch_status(ctx: Context, batch: dict) -> dict:
    own, templates = tasks(batch["account"]), {}
    statuses = [_status(ctx, ctx.store.get(own, str(t)), templates) for t in batch["taskIds"]]
    codes = [s["resultCode"] for s in statuses]
    done = all(c in (125, 126, 127) for c in codes)
    return {
        "id": batch["id"], "createdAt": int(batch["createdAt"]), "executeAt": int(batch["executeAt"]),
        "finishedAt": max((s["finishedAt"] for s in statuses), default=0) if done else 0,
        "numTasks": len(codes), "numTasksOk": codes.count(127), "numTasksFailed": codes.count(126),
        "numTasksCancelled": codes.count(125), "taskIds": list(batch["taskIds"]),
    }


def _owned(ctx: Context, collection: str, param: str) -> dict:
    """The caller's own record addressed by ``param``; anyone else's does not exist for them."""
    record = ctx.store.get(collection, str(ctx.path_params[param]))
    if record is None:
        raise Rejection("not_found", f"Invalid {param}", property=param)
    return record


def _newest(store: Namespace, collection: str, limit: int = LIST_LIMIT) -> list[dict]:
    return [record for _, record in store.items(collection, limit=limit, newest_first=True)]


# -- create ---------------------------------------------------------------------------------------
def _number(value: Any, prop: str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 18:
        raise Rejection("invalid", f"{prop} must be a number", property=prop)
    return int(text)


def _targets(store: Namespace, body: dict) -> list[int]:
    requested = [str(i) for i in body.get("applicationInstanceIds") or []]
    unknown = [i for i in requested
               if not (i.isascii() and i.isdigit()) or len(i) > 18 or store.get(INSTANCES, str(int(i))) is None]
    if unknown:
        raise Rejection("invalid", f"Unknown application instance(s): {', '.join(u[:20] for u in unknown[:10])}",
                        property="applicationInstanceIds")
    chosen = {int(i) for i in requested}
    every: dict[int, dict] = {}   # every instance, read only for a selection by property

    def instances() -> dict[int, dict]:
        if not every:
            every.update((int(k), v) for k, v in store.items(INSTANCES))
        return every

    for prop in ("fleetId", "regionId"):
        if body.get(prop) in (None, ""):
            continue
        wanted = _number(body[prop], prop)
        if wanted > 0:
            matching = {i for i, inst in instances().items() if inst[prop] == wanted}
            if not matching:
                raise Rejection("invalid", f"Unknown {prop[:-2]} {wanted}", property=prop)
            chosen |= matching
    labels = body.get("labels") or []
    if labels:
        pairs = {(label["key"], label["value"]) for label in labels}
        chosen |= {i for i, inst in instances().items()
                   if pairs <= {(lab["key"], lab["value"]) for lab in inst["labels"]}}
    if not chosen:
        raise Rejection("invalid", "No application instances match the request", property="applicationInstanceIds")
    return sorted(chosen)


def create_batch(services: Services, account: str, body: dict, now: float) -> dict:
    """Validate a create request against the account's world and store one batch of tasks."""
    store = services.store
    raw_template = str(body.get("taskTemplateId", "")).strip()
    template = store.get(TEMPLATES, raw_template) if raw_template.isascii() and raw_template.isdigit() else None
    if template is None:
        raise Rejection("invalid", f"Unknown task template {raw_template[:40]!r}", property="taskTemplateId")
    targets = _targets(store, body)
    given = {p["paramName"] for p in body.get("taskActionParam") or [] if str(p.get("paramValue", "")).strip()}
    required = list(dict.fromkeys(p for a in template["actions"] for p in a["requiredParams"]))
    missing = [p for p in required if p not in given]
    if missing:
        raise Rejection("invalid", f"Missing required parameter(s): {', '.join(missing)}",
                        property="taskActionParam")
    execute_at = body.get("executeAt")
    execute_at = float(execute_at) if isinstance(execute_at, int) and now < execute_at < 2**53 else now
    failure_percent = (store.get(SETTINGS, "settings") or {}).get("failurePercent", 0)
    batch_id = store.next_id("batch")
    task_ids = []
    for entity in targets:
        task_id = store.next_id("task")
        roll = services.seed_for("i3d-failure", task_id)
        fails = roll % 100 < failure_percent
        history = History(start=execute_at, created=now,
                          failures=[(roll // 100) % len(template["actions"])] if fails else [])
        store.put(tasks(account), str(task_id), {
            "id": task_id, "account": account, "batchId": batch_id, "templateId": template["id"],
            "entityId": entity, "createdAt": now, "history": history.to_json(),
        })
        task_ids.append(task_id)
    batch = {"id": batch_id, "account": account, "createdAt": now, "executeAt": execute_at, "taskIds": task_ids}
    store.put(batches(account), str(batch_id), batch)
    return batch


def _record(ctx: Context, task: dict, kind: str) -> dict:
    history = History.from_json(task["history"])
    history.record(kind, ctx.now())
    task["history"] = history.to_json()
    ctx.store.put(tasks(task["account"]), str(task["id"]), task)
    return task


# -- the profile and its handlers -----------------------------------------------------------------
def seed(services: Services, fixtures: dict) -> None:
    store = services.store
    for token, account in (fixtures.get("accounts") or {}).items():
        store.put(ACCOUNTS, str(token), {"account": account})
    store.put(SETTINGS, "settings", {"failurePercent": fixtures.get("failurePercent", 0)})
    for template in fixtures.get("templates") or []:
        store.put(TEMPLATES, str(template["id"]), template)
    for instance in fixtures.get("instances") or []:
        store.put(INSTANCES, str(instance["id"]), instance)
    now = services.now()
    for entry in fixtures.get("history") or []:
        created = now - float(entry.get("ageSeconds", 0))
        request = dict(entry["request"])
        if created > now:
            request["executeAt"] = int(created)
        create_batch(services, entry["account"], request, min(created, now))


# The stored data model, checked on every admin import (mock_server/snapshot.py).
_TIME = {"type": "number", "minimum": 0, "maximum": 2**53}   # i3D's times are integer seconds
_ACTION = {"type": "object", "required": ["idx", "actionType", "requiredParams"], "properties": {
    "idx": {"type": "integer", "minimum": 0}, "actionType": TEXT,
    "requiredParams": {"type": "array", "items": TEXT},
    "durationSeconds": {"type": "number", "minimum": 0, "maximum": 10**6}}}
_HISTORY = {"type": "object", "required": ["start"], "properties": {
    "start": _TIME, "created": {"anyOf": [_TIME, {"type": "null"}]},
    "events": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                          "items": [{"enum": [PAUSE, RESUME, CANCEL]}, _TIME]}},
    "failures": {"type": "array", "items": {"type": "integer", "minimum": 0}}}}
RECORDS = {
    ACCOUNTS: {"type": "object", "required": ["account"], "properties": {"account": TEXT}},
    SETTINGS: {"type": "object", "properties": {"failurePercent": {"type": "integer", "minimum": 0, "maximum": 100}}},
    TEMPLATES: {"type": "object", "required": ["id", "name", "description", "actions"], "properties": {
        "id": INTEGER, "name": TEXT, "description": TEXT,
        "actions": {"type": "array", "minItems": 1, "items": _ACTION}}},
    INSTANCES: {"type": "object", "required": ["id", "fleetId", "regionId", "labels"], "properties": {
        "id": INTEGER, "fleetId": INTEGER, "regionId": INTEGER,
        "labels": {"type": "array", "items": {"type": "object", "required": ["key", "value"],
                                              "properties": {"key": TEXT, "value": TEXT}}}}},
    tasks("*"): {"type": "object", "required": ["id", "account", "batchId", "templateId", "entityId", "createdAt",
                                                "history"], "properties": {
        "id": INTEGER, "account": TEXT, "batchId": INTEGER, "templateId": INTEGER, "entityId": INTEGER,
        "createdAt": _TIME, "history": _HISTORY}},
    batches("*"): {"type": "object", "required": ["id", "account", "createdAt", "executeAt", "taskIds"],
                   "properties": {"id": INTEGER, "account": TEXT, "createdAt": _TIME, "executeAt": _TIME,
                                  "taskIds": {"type": "array", "minItems": 1, "items": INTEGER}}},
}

# Where each record is filed ("tasks@{account}": under its own account), and what it names.
KEYS = {TEMPLATES: "{id}", INSTANCES: "{id}", tasks("{account}"): "{id}", batches("{account}"): "{id}"}
REFERENCES = {tasks("{account}"): {"templateId": TEMPLATES, "batchId": batches("{account}")},
              batches("{account}"): {"taskIds": tasks("{account}")}}


def check_state(collections: dict[str, dict]) -> None:
    """What keys and references cannot say: a task's seeded failure is one of its template's actions."""
    templates = collections.get(TEMPLATES) or {}
    for name, rows in collections.items():
        if not name.startswith(tasks("")):
            continue
        for key, record in rows.items():
            actions = templates[str(record["templateId"])]["actions"]
            if any(f >= len(actions) for f in record["history"].get("failures") or []):
                raise ValueError(f"{name}/{key[:40]}: a failure beyond the template's actions")


vendor = Vendor("i3d", servers=["https://api.i3d.net"], identify=identify, errors=error_body, seed=seed,
                records=RECORDS, keys=KEYS, references=REFERENCES,
                sequences={"task": tasks("*"), "batch": batches("*")},
                secrets={ACCOUNTS: ["$key"]},   # an account's key is its PRIVATE-TOKEN
                check=check_state)


@vendor.operation("getApplicationInstanceTaskTemplates")
def list_templates(ctx: Context) -> Reply:
    return Reply(200, [{
        "id": t["id"], "name": t["name"], "description": t["description"],
        "actions": [{k: a[k] for k in ("idx", "actionType", "requiredParams")} for a in t["actions"]],
    } for _, t in ctx.store.items(TEMPLATES)])


@vendor.operation("createApplicationInstanceTask")
def create_task(ctx: Context) -> Reply:
    batch = create_batch(ctx.services, ctx.caller.account, ctx.body, ctx.now())
    return Reply(200, [_batch_status(ctx, batch)])


@vendor.operation("getApplicationInstanceTasks")
def list_tasks(ctx: Context) -> Reply:
    templates: dict[str, dict] = {}
    return Reply(200, [_status(ctx, t, templates) for t in _newest(ctx.store, tasks(ctx.caller.account))])


@vendor.operation("getApplicationInstanceTask")
def get_task(ctx: Context) -> Reply:
    return Reply(200, [_status(ctx, _owned(ctx, tasks(ctx.caller.account), "taskId"))])


@vendor.operation("updateApplicationInstanceTask")
def pause_or_resume_task(ctx: Context) -> Reply:
    task = _owned(ctx, tasks(ctx.caller.account), "taskId")
    code = _status(ctx, task)["resultCode"]
    if code in (125, 126, 127):
        raise Rejection("conflict", "Task cannot be paused or resumed: it has finished", property="taskId")
    return Reply(200, [_status(ctx, _record(ctx, task, RESUME if code == 2 else PAUSE))])


@vendor.operation("deleteApplicationInstanceTask")
def cancel_task(ctx: Context) -> Reply:
    task = _owned(ctx, tasks(ctx.caller.account), "taskId")
    if _status(ctx, task)["resultCode"] in (125, 126, 127):
        raise Rejection("conflict", "Task cannot be cancelled: it has finished", property="taskId")
    return Reply(200, [_status(ctx, _record(ctx, task, CANCEL))])


@vendor.operation("getApplicationInstanceTaskBatches")
def list_batches(ctx: Context) -> Reply:
    return Reply(200, [_batch_status(ctx, b) for b in _newest(ctx.store, batches(ctx.caller.account))])


@vendor.operation("getApplicationInstanceTaskBatch")
def get_batch(ctx: Context) -> Reply:
    return Reply(200, [_batch_status(ctx, _owned(ctx, batches(ctx.caller.account), "taskBatchId"))])


# -- the single-instance endpoints of i3D's full spec (served with --spec) ------------------------
def _instance(ctx: Context) -> int:
    instance_id = str(ctx.path_params["applicationInstanceId"])
    if not (instance_id.isascii() and instance_id.isdigit()) or ctx.store.get(INSTANCES, instance_id) is None:
        raise Rejection("not_found", "Invalid applicationInstanceId", property="applicationInstanceId")
    return int(instance_id)


@vendor.operation("getApplicationInstanceTasksByApplicationInstanceId")
def list_instance_tasks(ctx: Context) -> Reply:
    entity = _instance(ctx)
    own = [t for t in _newest(ctx.store, tasks(ctx.caller.account)) if t["entityId"] == entity]
    return Reply(200, [_status(ctx, t) for t in own[:INSTANCE_LIST_LIMIT]])


def _shortcut(ctx: Context, name: str, params: dict[str, Any]) -> Reply:
    entity = _instance(ctx)
    template = next((t for _, t in ctx.store.items(TEMPLATES) if t.get("shortcut") == name), None)
    if template is None:
        raise Rejection("invalid", f"No task template runs {name!r}")
    request = {"taskTemplateId": str(template["id"]), "applicationInstanceIds": [str(entity)],
               "taskActionParam": [{"paramName": k, "paramValue": str(v)} for k, v in params.items()]}
    batch = create_batch(ctx.services, ctx.caller.account, request, ctx.now())
    return Reply(200, [_status(ctx, ctx.store.get(tasks(ctx.caller.account), str(batch["taskIds"][0])))])


def _stop_params(ctx: Context) -> dict[str, Any]:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    return {**DEFAULT_STOP, **{k: body[k] for k in ("methodId", "timeout") if body.get(k) is not None}}


@vendor.operation("createApplicationInstanceStart")
def start_instance(ctx: Context) -> Reply:
    return _shortcut(ctx, "start", {})


@vendor.operation("createApplicationInstanceStop")
def stop_instance(ctx: Context) -> Reply:
    return _shortcut(ctx, "stop", _stop_params(ctx))


@vendor.operation("createApplicationInstanceRestart")
def restart_instance(ctx: Context) -> Reply:
    return _shortcut(ctx, "restart", _stop_params(ctx))


@vendor.operation("createApplicationInstanceDeploy")
def deploy_instance(ctx: Context) -> Reply:
    return _shortcut(ctx, "deploy", {**DEFAULT_STOP, "buildId": ctx.body["applicationBuildId"]})
