"""i3D.net ODP v3 ApplicationInstanceTask: accounts, templates, task batches and their lifecycle.

A task's state is never stored as such: it is computed from its plan (execute time, the
template's action durations, a seeded failure point) and what happened to it (pauses, a cancel),
against the virtual clock. So any clock advance gives the exact state, with no background work.
Facts and decisions: shared/apis/i3d.md, specs/notes/i3d.md.
"""

from __future__ import annotations

from typing import Any

from mock_server.domain import Call, DomainAPI, Reply
from mock_server.errors import Rejection
from mock_server.fakes import seed_for

api = DomainAPI("i3d", servers=["https://api.i3d.net"])

ACCOUNTS, TEMPLATES, INSTANCES = "i3d/accounts", "i3d/templates", "i3d/instances"
TASKS, BATCHES, SETTINGS = "i3d/tasks", "i3d/batches", "i3d/settings"
LIST_LIMIT, INSTANCE_LIST_LIMIT = 100, 50
# Defaults of the single-instance shortcuts (i3D: timeout defaults to 1800 s; the stop method
# falls back to the build's or application's, whose id the mock cannot know).
DEFAULT_STOP = {"methodId": "default", "timeout": "1800"}
PENDING, RUNNING, PAUSED, CANCELLED, FAILED, DONE = 0, 1, 2, 125, 126, 127
FINISHED = (CANCELLED, FAILED, DONE)


# -- auth and errors ------------------------------------------------------------------------------
@api.authenticator
def authenticate(credentials: list, op: Any, rt: Any) -> str:
    token = credentials[0].value if credentials else ""
    account = rt.store.get(ACCOUNTS, token)
    if account is None:
        raise Rejection("forbidden", "Invalid credentials")
    return account["account"]


@api.error_renderer
def error_body(rejection: Rejection, status: int, op: Any, rt: Any) -> tuple[dict, str]:
    # 10001 "Entity not found" is i3D's one published code; the others are the mock's own.
    code = 10001 if status == 404 else 10000 + status
    details = [{"property": rejection.property, "message": rejection.message}] if rejection.property else []
    return {"errorCode": code, "errorMessage": rejection.message, "errors": details}, "application/json"


# -- lifecycle ------------------------------------------------------------------------------------
def _run_elapsed(task: dict, until: float) -> float:
    """Seconds the task has been able to run between its execute time and ``until``."""
    start = task["executeAt"]
    if until <= start:
        return 0.0
    total = until - start
    for paused_at, resumed_at in task["pauses"]:
        begin, end = max(paused_at, start), until if resumed_at is None else min(resumed_at, until)
        if end > begin:
            total -= end - begin
    return max(0.0, total)


def _moment(task: dict, elapsed: float) -> float | None:
    """The virtual time at which the task had run ``elapsed`` seconds (None: paused before)."""
    at, remaining = task["executeAt"], elapsed
    for paused_at, resumed_at in task["pauses"]:
        if resumed_at is not None and resumed_at <= at:
            continue
        runnable = max(paused_at, at) - at
        if remaining <= runnable:
            return at + remaining
        remaining -= runnable
        if resumed_at is None:
            return None
        at = resumed_at
    return at + remaining


def task_status(task: dict, template: dict, now: float) -> dict:
    """i3D's TaskStatus for ``task`` at virtual time ``now``."""
    actions = template["actions"]
    durations = [a.get("durationSeconds", 3) for a in actions]
    last = len(actions) if task["failAt"] is None else task["failAt"] + 1
    cancelled = task["cancelledAt"]
    elapsed = _run_elapsed(task, now if cancelled is None else cancelled)
    current, started = 0, 0.0
    for index in range(last):
        if elapsed < started + durations[index]:
            current = index
            break
        started += durations[index]
    else:
        current = last - 1
    paused = bool(task["pauses"]) and task["pauses"][-1][1] is None
    finished_at = 0
    if cancelled is not None:
        code, activity, finished_at = CANCELLED, cancelled, cancelled
    elif elapsed >= sum(durations[:last]):
        done = _moment(task, sum(durations[:last]))
        code = DONE if task["failAt"] is None else FAILED
        activity = finished_at = done
    elif paused:
        code, activity = PAUSED, task["pauses"][-1][0]
    elif now < task["executeAt"]:
        code, activity = PENDING, task["createdAt"]
    else:
        resumed = [r for _, r in task["pauses"] if r is not None and r <= now]
        code, activity = RUNNING, max([_moment(task, started) or task["executeAt"], *resumed])
    action = actions[current]["actionType"]
    text = {PENDING: "Pending", RUNNING: f"In progress: {action}", PAUSED: f"Paused at: {action}",
            CANCELLED: f"Cancelled at: {action}", FAILED: f"Done with error: {action} failed",
            DONE: "Done"}[code]
    return {
        "id": task["id"], "name": template["name"], "batchId": task["batchId"], "categoryId": 1,
        "entityId": task["entityId"], "currentActionIdx": actions[current]["idx"],
        "executeAt": int(task["executeAt"]), "lastActivityAt": int(activity),
        "finishedAt": int(finished_at), "resultCode": code, "resultText": text,
    }


# -- store access ---------------------------------------------------------------------------------
def _status(rt: Any, task: dict) -> dict:
    return task_status(task, rt.store.get(TEMPLATES, str(task["templateId"])), rt.clock.now())


def _batch_status(rt: Any, batch: dict) -> dict:
    statuses = [_status(rt, rt.store.get(TASKS, str(t))) for t in batch["taskIds"]]
    codes = [s["resultCode"] for s in statuses]
    done = all(c in FINISHED for c in codes)
    return {
        "id": batch["id"], "createdAt": int(batch["createdAt"]), "executeAt": int(batch["executeAt"]),
        "finishedAt": max((s["finishedAt"] for s in statuses), default=0) if done else 0,
        "numTasks": len(codes), "numTasksOk": codes.count(DONE), "numTasksFailed": codes.count(FAILED),
        "numTasksCancelled": codes.count(CANCELLED), "taskIds": list(batch["taskIds"]),
    }


def _owned(call: Call, collection: str, param: str, label: str) -> dict:
    record = call.rt.store.get(collection, str(call.path_params[param]))
    if record is None or record["account"] != call.principal:
        raise Rejection("not_found", f"Invalid {label}", property=label)
    return record


def _newest(rt: Any, collection: str, account: str) -> list[dict]:
    own = [record for _, record in rt.store.items(collection) if record["account"] == account]
    return sorted(own, key=lambda r: r["id"], reverse=True)[:LIST_LIMIT]


# -- create ---------------------------------------------------------------------------------------
def _as_int(value: Any, prop: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise Rejection("invalid", f"{prop} must be a number", property=prop) from None


def _targets(rt: Any, body: dict) -> list[int]:
    instances = {int(k): v for k, v in rt.store.items(INSTANCES)}
    chosen: set[int] = set()
    unknown = [i for i in body.get("applicationInstanceIds") or [] if not str(i).isdigit()
               or int(i) not in instances]
    if unknown:
        raise Rejection("invalid", f"Unknown application instance(s): {', '.join(map(str, unknown))}",
                        property="applicationInstanceIds")
    chosen.update(int(i) for i in body.get("applicationInstanceIds") or [])
    for prop in ("fleetId", "regionId"):
        if body.get(prop) in (None, ""):
            continue
        wanted = _as_int(body[prop], prop)
        if wanted > 0:
            matching = {i for i, inst in instances.items() if inst[prop] == wanted}
            if not matching:
                raise Rejection("invalid", f"Unknown {prop[:-2]} {wanted}", property=prop)
            chosen |= matching
    labels = body.get("labels") or []
    if labels:
        pairs = {(label["key"], label["value"]) for label in labels}
        chosen |= {i for i, inst in instances.items()
                   if pairs <= {(lab["key"], lab["value"]) for lab in inst["labels"]}}
    if not chosen:
        raise Rejection("invalid", "No application instances match the request", property="applicationInstanceIds")
    return sorted(chosen)


def create_batch(rt: Any, account: str, body: dict, now: float) -> dict:
    """Validate a create request against the account's world and store one batch of tasks."""
    raw_template = str(body.get("taskTemplateId", "")).strip()
    template = rt.store.get(TEMPLATES, raw_template) if raw_template.isdigit() else None
    if template is None:
        raise Rejection("invalid", f"Unknown task template {raw_template!r}", property="taskTemplateId")
    targets = _targets(rt, body)
    given = {p["paramName"] for p in body.get("taskActionParam") or [] if str(p.get("paramValue", "")).strip()}
    required = list(dict.fromkeys(p for a in template["actions"] for p in a["requiredParams"]))
    missing = [p for p in required if p not in given]
    if missing:
        raise Rejection("invalid", f"Missing required parameter(s): {', '.join(missing)}",
                        property="taskActionParam")
    execute_at = body.get("executeAt")
    execute_at = float(execute_at) if isinstance(execute_at, int) and execute_at > now else now
    settings = rt.store.get(SETTINGS, "settings") or {}
    batch_id = rt.store.next_id("i3d/batch")
    task_ids = []
    for entity in targets:
        task_id = rt.store.next_id("i3d/task")
        roll = seed_for(rt.config.seed, "i3d-failure", task_id)
        fails = roll % 100 < settings.get("failurePercent", 0)
        rt.store.put(TASKS, str(task_id), {
            "id": task_id, "account": account, "batchId": batch_id, "templateId": template["id"],
            "entityId": entity, "createdAt": now, "executeAt": execute_at, "pauses": [], "cancelledAt": None,
            "failAt": (roll // 100) % len(template["actions"]) if fails else None,
        })
        task_ids.append(task_id)
    batch = {"id": batch_id, "account": account, "createdAt": now, "executeAt": execute_at, "taskIds": task_ids}
    rt.store.put(BATCHES, str(batch_id), batch)
    return batch


# -- handlers -------------------------------------------------------------------------------------
@api.operation("getApplicationInstanceTaskTemplates")
def list_templates(call: Call) -> Reply:
    templates = [t for _, t in call.rt.store.items(TEMPLATES)]
    return Reply(200, [{
        "id": t["id"], "name": t["name"], "description": t["description"],
        "actions": [{k: a[k] for k in ("idx", "actionType", "requiredParams")} for a in t["actions"]],
    } for t in templates])


@api.operation("createApplicationInstanceTask")
def create_task(call: Call) -> Reply:
    batch = create_batch(call.rt, call.principal, call.body, call.rt.clock.now())
    return Reply(200, [_batch_status(call.rt, batch)])


@api.operation("getApplicationInstanceTasks")
def list_tasks(call: Call) -> Reply:
    return Reply(200, [_status(call.rt, t) for t in _newest(call.rt, TASKS, call.principal)])


@api.operation("getApplicationInstanceTask")
def get_task(call: Call) -> Reply:
    return Reply(200, [_status(call.rt, _owned(call, TASKS, "taskId", "taskId"))])


@api.operation("updateApplicationInstanceTask")
def pause_or_resume_task(call: Call) -> Reply:
    task = _owned(call, TASKS, "taskId", "taskId")
    now = call.rt.clock.now()
    code = _status(call.rt, task)["resultCode"]
    if code in FINISHED:
        raise Rejection("conflict", "Task cannot be paused or resumed: it has finished", property="taskId")
    if code == PAUSED:
        task["pauses"][-1][1] = now
    else:
        task["pauses"].append([now, None])
    call.rt.store.put(TASKS, str(task["id"]), task)
    return Reply(200, [_status(call.rt, task)])


@api.operation("deleteApplicationInstanceTask")
def cancel_task(call: Call) -> Reply:
    task = _owned(call, TASKS, "taskId", "taskId")
    now = call.rt.clock.now()
    if _status(call.rt, task)["resultCode"] in FINISHED:
        raise Rejection("conflict", "Task cannot be cancelled: it has finished", property="taskId")
    if task["pauses"] and task["pauses"][-1][1] is None:
        task["pauses"][-1][1] = now
    task["cancelledAt"] = now
    call.rt.store.put(TASKS, str(task["id"]), task)
    return Reply(200, [_status(call.rt, task)])


@api.operation("getApplicationInstanceTaskBatches")
def list_batches(call: Call) -> Reply:
    return Reply(200, [_batch_status(call.rt, b) for b in _newest(call.rt, BATCHES, call.principal)])


@api.operation("getApplicationInstanceTaskBatch")
def get_batch(call: Call) -> Reply:
    return Reply(200, [_batch_status(call.rt, _owned(call, BATCHES, "taskBatchId", "taskBatchId"))])


# -- the single-instance endpoints of i3D's full spec (served with --spec) ------------------------
def _instance(call: Call) -> int:
    instance_id = str(call.path_params["applicationInstanceId"])
    if not instance_id.isdigit() or call.rt.store.get(INSTANCES, instance_id) is None:
        raise Rejection("not_found", "Invalid applicationInstanceId", property="applicationInstanceId")
    return int(instance_id)


@api.operation("getApplicationInstanceTasksByApplicationInstanceId")
def list_instance_tasks(call: Call) -> Reply:
    entity = _instance(call)
    own = [t for t in _newest(call.rt, TASKS, call.principal) if t["entityId"] == entity]
    return Reply(200, [_status(call.rt, t) for t in own[:INSTANCE_LIST_LIMIT]])


def _shortcut(call: Call, name: str, params: dict[str, Any]) -> Reply:
    entity = _instance(call)
    template = next((t for _, t in call.rt.store.items(TEMPLATES) if t.get("shortcut") == name), None)
    if template is None:
        raise Rejection("invalid", f"No task template runs {name!r}")
    request = {"taskTemplateId": str(template["id"]), "applicationInstanceIds": [str(entity)],
               "taskActionParam": [{"paramName": k, "paramValue": str(v)} for k, v in params.items()]}
    batch = create_batch(call.rt, call.principal, request, call.rt.clock.now())
    return Reply(200, [_status(call.rt, call.rt.store.get(TASKS, str(batch["taskIds"][0])))])


def _stop_params(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    return {**DEFAULT_STOP, **{k: body[k] for k in ("methodId", "timeout") if body.get(k) is not None}}


@api.operation("createApplicationInstanceStart")
def start_instance(call: Call) -> Reply:
    return _shortcut(call, "start", {})


@api.operation("createApplicationInstanceStop")
def stop_instance(call: Call) -> Reply:
    return _shortcut(call, "stop", _stop_params(call))


@api.operation("createApplicationInstanceRestart")
def restart_instance(call: Call) -> Reply:
    return _shortcut(call, "restart", _stop_params(call))


@api.operation("createApplicationInstanceDeploy")
def deploy_instance(call: Call) -> Reply:
    return _shortcut(call, "deploy", {**DEFAULT_STOP, "buildId": call.body["applicationBuildId"]})


# -- seed -----------------------------------------------------------------------------------------
@api.seeder
def seed(rt: Any, fixtures: dict) -> None:
    store = rt.store
    for token, account in (fixtures.get("accounts") or {}).items():
        store.put(ACCOUNTS, str(token), {"account": account})
    store.put(SETTINGS, "settings", {"failurePercent": fixtures.get("failurePercent", 0)})
    for template in fixtures.get("templates") or []:
        store.put(TEMPLATES, str(template["id"]), template)
    for instance in fixtures.get("instances") or []:
        store.put(INSTANCES, str(instance["id"]), instance)
    now = rt.clock.now()
    for entry in fixtures.get("history") or []:
        created = now - float(entry.get("ageSeconds", 0))
        request = dict(entry["request"])
        if created > now:
            request["executeAt"] = int(created)
        create_batch(rt, entry["account"], request, min(created, now))
