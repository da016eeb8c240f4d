"""PolarDB batch tasks: parameter validation, the lifecycle as data, state at virtual time t, listing.

Pure: a batch is a plain JSON record holding its plan (creation time, and per target instance how
long its sub-task waits and runs and whether it fails); two lifecycle tables (``mock_server.lifecycle``)
turn that plan and "now" into every state, count and time shown. Nothing is stored twice and
nothing sleeps. Validation answers
in the gateway's terms (``AcsError``). Decisions: specs/notes/polardb.md.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_server.apis.polardb import wire
from mock_server.apis.polardb.errors import AcsError, invalid_parameter, missing_parameter
from mock_server.fakes import seed_for
from mock_server.lifecycle import History, Lifecycle, Status, Step
from mock_server.records import BOOLEAN, MOMENT, SECONDS, TEXT, array, nullable, obj, one_of

INSTALL, UNINSTALL = "polarclaw_install_skills", "polarclaw_uninstall_skills"
TASK_TYPES = (INSTALL, UNINSTALL)
BATCH_STATUSES = ("COMPLETED", "DISPATCHING", "FAILED", "RUNNING")
# PageSize: nothing documented; 1..100 with default 30 as PolarDB's DescribeDBClusters documents.
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_NUMBER_MAX = 30, 100, 2**31 - 1
LIST_TIME, DETAIL_TIME = "%Y-%m-%d %H:%M:%S", "%Y/%m/%dT%H:%M:%SZ"   # as each page documents
# Sub-task ids are numeric text; seeded ones count up from the docs' example id.
TASK_ID_FLOOR = 629271331
# The mock's pacing, overridable under `pacing:` in fixtures/polardb.yaml (and per seeded batch).
DEFAULT_PACING = {
    "dispatchSeconds": 2,          # DISPATCHING, before the first sub-task starts
    "staggerSeconds": 1,           # sub-task i starts i * stagger after dispatching
    "runSeconds": {INSTALL: 8, UNINSTALL: 4},
    "unknownInstanceSeconds": 1,   # a sub-task on an instance the account does not own fails this fast
    "failurePercent": 10,          # share of the other sub-tasks that fail, chosen by seed, batch and instance
}
FAILURES = {
    INSTALL: "Failed to install skill {skill}: the download from the skill source timed out.",
    UNINSTALL: "Failed to uninstall skill {skill}: the skill is in use by a running session.",
}
NOT_OWNED = "The instance {instance} does not exist or does not belong to the current account."

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_INSTANCE = re.compile(r"^pa-[a-z0-9]+$")
_BATCH_ID = re.compile(r"^pcb-[a-z0-9]+$")
_SKILL = re.compile(r"^[A-Za-z0-9._-]+$")
_SKILL_VERSION = re.compile(r"^[A-Za-z0-9._+-]+$")
_QUERY_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?Z$")


# -- the lifecycle, as data -----------------------------------------------------------------------
# A batch record holds durations only (its plan); ``mock_server.lifecycle`` replays them against
# the virtual clock. Every state, count and time shown comes from these two tables.
def subtask_lifecycle(wait_seconds: float, run_seconds: float) -> Lifecycle:
    """WAITING (until the dispatcher reaches it) -> RUNNING -> COMPLETED | FAILED."""
    return Lifecycle(steps=(Step("WAITING", wait_seconds), Step("RUNNING", run_seconds)),
                     done="COMPLETED", failed="FAILED")


def batch_lifecycle(dispatch_seconds: float, run_seconds: float) -> Lifecycle:
    """DISPATCHING -> RUNNING -> COMPLETED, or FAILED when any sub-task failed (Terraform's error state)."""
    return Lifecycle(steps=(Step("DISPATCHING", dispatch_seconds), Step("RUNNING", run_seconds)),
                     done="COMPLETED", failed="FAILED")


RUNNING_STEP = 1   # the step whose end is a failure, in both tables


def subtask_status(batch: dict, sub: dict, now: float) -> Status:
    history = History(start=batch["createdAt"], failures=[RUNNING_STEP] if sub["fails"] else [])
    return subtask_lifecycle(sub["waitSeconds"], sub["runSeconds"]).at(history, now)


def batch_status(batch: dict, now: float) -> Status:
    """The batch runs until its last sub-task ends, and fails when any of them fails."""
    span = max(sub["waitSeconds"] + sub["runSeconds"] for sub in batch["subTasks"])
    failing = any(sub["fails"] for sub in batch["subTasks"])
    history = History(start=batch["createdAt"], failures=[RUNNING_STEP] if failing else [])
    return batch_lifecycle(batch["dispatchSeconds"], max(0.0, span - batch["dispatchSeconds"])).at(history, now)


# -- validation -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateRequest:
    region_id: str
    task_name: str
    task_type: str
    instance_ids: tuple[str, ...]   # duplicates dropped, first occurrence kept
    param: str | None
    skills: tuple[str, ...]         # skill names from Param ("name@version" for installs)
    application_type: str | None


@dataclass(frozen=True)
class ListQuery:
    task_type: str | None = None
    statuses: frozenset[str] = frozenset()   # empty: every status
    start: float | None = None
    end: float | None = None
    page_size: int = PAGE_SIZE_DEFAULT
    page_number: int = 1


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if value == "":
        raise missing_parameter(name)
    return value


def _task_type(value: str) -> str:
    if value not in TASK_TYPES:
        raise invalid_parameter("TaskType", value)
    return value


def validate_create(params: Mapping[str, str]) -> CreateRequest:
    """CreateBatchTask's parameters; required ones are checked first, in the documented order."""
    region, name, task_type, instances_text = (_required(params, n) for n in
                                               ("RegionId", "TaskName", "TaskType", "InstanceIds"))
    if not _REGION.match(region):
        raise invalid_parameter("RegionId", region)
    if len(name) > 128:
        raise invalid_parameter("TaskName", name)
    _task_type(task_type)
    instances = wire.json_array("InstanceIds", instances_text)
    if not instances or not all(isinstance(i, str) and _INSTANCE.match(i) for i in instances):
        raise invalid_parameter("InstanceIds", instances_text)
    application_type = params.get("ApplicationType") or None
    if application_type is not None and len(application_type) > 64:
        raise invalid_parameter("ApplicationType", application_type)
    param = params.get("Param") or None
    skills = _skills(task_type, param) if param is not None else ()
    return CreateRequest(region, name, task_type, tuple(dict.fromkeys(instances)), param, skills, application_type)


def _skills(task_type: str, text: str) -> tuple[str, ...]:
    """Param's skills; its shape must be the one of ``task_type``."""
    items = wire.json_array("Param", text)
    if task_type == INSTALL:
        ok = all(isinstance(i, dict) and set(i) == {"skillName", "version"} and isinstance(i["skillName"], str)
                 and isinstance(i["version"], str) and _SKILL.match(i["skillName"])
                 and _SKILL_VERSION.match(i["version"]) for i in items)
        skills = tuple(f"{i['skillName']}@{i['version']}" for i in items) if ok else ()
    else:
        ok = all(isinstance(i, str) and _SKILL.match(i) for i in items)
        skills = tuple(items) if ok else ()
    if not items or not ok:
        raise invalid_parameter("Param", text)
    return skills


def parse_query_time(name: str, text: str) -> float:
    """``yyyy-MM-ddTHH:mmZ`` or ``yyyy-MM-ddTHH:mm:ssZ`` (UTC) -> unix seconds; a date the calendar
    does not have is invalid too."""
    match = _QUERY_TIME.match(text)
    if not match:
        raise invalid_parameter(name, text)
    try:
        return float(calendar.timegm(time.strptime(match[1] + (match[2] or ":00"), "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        raise invalid_parameter(name, text) from None


def validate_list(params: Mapping[str, str]) -> ListQuery:
    """DescribeBatchTasks' filters and paging. ``Status=[]`` (the SDK's empty list) means no filter."""
    task_type = params.get("TaskType") or None
    if task_type is not None:
        _task_type(task_type)
    statuses: frozenset[str] = frozenset()
    if params.get("Status"):
        values = wire.json_array("Status", params["Status"])
        for value in values:
            if value not in BATCH_STATUSES:
                raise invalid_parameter("Status", value if isinstance(value, str) else params["Status"])
        statuses = frozenset(values)
    start = parse_query_time("StartTime", params["StartTime"]) if params.get("StartTime") else None
    end = parse_query_time("EndTime", params["EndTime"]) if params.get("EndTime") else None
    size = wire.integer("PageSize", params["PageSize"], minimum=1, maximum=PAGE_SIZE_MAX) \
        if params.get("PageSize") else PAGE_SIZE_DEFAULT
    number = wire.integer("PageNumber", params["PageNumber"], minimum=1, maximum=PAGE_NUMBER_MAX) \
        if params.get("PageNumber") else 1
    return ListQuery(task_type, statuses, start, end, size, number)


def validate_detail(params: Mapping[str, str]) -> str:
    """DescribeBatchTask's BatchId: documented optional, but nothing can be described without it."""
    batch_id = _required(params, "BatchId")
    if not _BATCH_ID.match(batch_id):
        raise invalid_parameter("BatchId", batch_id)
    return batch_id


def not_found(batch_id: str) -> AcsError:
    """An unknown BatchId, or another account's (ours: the vendor publishes no code)."""
    error = AcsError.of("InvalidBatchId.NotFound")
    error.parameter = "BatchId"
    return error


# -- creating a batch -----------------------------------------------------------------------------
def batch_id(seed: int, counter: int) -> str:
    """The ``counter``-th batch id of a run with ``seed``: ``pcb-`` and 20 base-36 characters."""
    number = int.from_bytes(hashlib.sha256(f"polardb-batch\x1f{seed}\x1f{counter}".encode()).digest()[:13], "big")
    digits = ""
    for _ in range(20):
        number, digit = divmod(number, 36)
        digits += "0123456789abcdefghijklmnopqrstuvwxyz"[digit]
    return "pcb-" + digits


def pacing(*overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """DEFAULT_PACING with each override applied in turn (``runSeconds`` merged per task type)."""
    merged = {**DEFAULT_PACING, "runSeconds": dict(DEFAULT_PACING["runSeconds"])}
    for override in overrides:
        for key, value in (override or {}).items():
            if key == "runSeconds" and isinstance(value, Mapping):
                merged["runSeconds"].update(value)
            elif key == "runSeconds":
                merged["runSeconds"] = dict.fromkeys(TASK_TYPES, value)
            else:
                merged[key] = value
    return merged


def create_batch(request: CreateRequest, *, batch_id: str, first_task_id: int, account: str,
                 owned: Collection[str], now: float, seed: int, pace: Mapping[str, Any] = DEFAULT_PACING,
                 failing: Collection[str] | None = None) -> dict:
    """The record of a new batch: one sub-task per instance, its whole plan fixed now. A sub-task fails
    when the account does not own its instance, else when ``failing`` names it, else by the seeded share."""
    subtasks = []
    for index, instance in enumerate(request.instance_ids):
        draw = seed_for(seed, batch_id, instance)
        if instance not in owned:
            fails, seconds, message = True, pace["unknownInstanceSeconds"], NOT_OWNED.format(instance=instance)
        else:
            fails = instance in failing if failing is not None else draw % 100 < pace["failurePercent"]
            skill = request.skills[draw % len(request.skills)] if request.skills else "(none)"
            seconds, message = pace["runSeconds"][request.task_type], FAILURES[request.task_type].format(skill=skill)
        subtasks.append({"TaskId": str(first_task_id + index), "InstanceId": instance,
                         # the dispatcher reaches sub-task i after dispatching, i staggers later
                         "waitSeconds": pace["dispatchSeconds"] + index * pace["staggerSeconds"],
                         "runSeconds": seconds,
                         "fails": fails, "errorMsg": message if fails else ""})
    return {"BatchId": batch_id, "TaskName": request.task_name, "TaskType": request.task_type,
            "ApplicationType": request.application_type, "RegionId": request.region_id, "Param": request.param,
            "account": account, "createdAt": now, "dispatchSeconds": pace["dispatchSeconds"], "subTasks": subtasks}


# The stored batch (``create_batch``) and pacing, checked on every admin import (mock_server/snapshot.py).
RECORD = obj({
    "BatchId": {**TEXT, "pattern": _BATCH_ID.pattern}, "TaskName": TEXT, "TaskType": one_of(*TASK_TYPES),
    "ApplicationType": nullable(TEXT), "RegionId": TEXT, "Param": nullable(TEXT), "account": TEXT,
    "createdAt": MOMENT, "dispatchSeconds": SECONDS,
    "subTasks": array(obj({"TaskId": {**TEXT, "pattern": "^[0-9]+$"}, "InstanceId": TEXT, "waitSeconds": SECONDS,
                           "runSeconds": SECONDS, "fails": BOOLEAN, "errorMsg": TEXT}), min_items=1),
})
PACING = obj({"dispatchSeconds": SECONDS, "staggerSeconds": SECONDS,
              "runSeconds": obj({task_type: SECONDS for task_type in TASK_TYPES}), "unknownInstanceSeconds": SECONDS,
              "failurePercent": {"type": "number", "minimum": 0, "maximum": 100}})


# -- what the actions answer (RequestId is added by the caller) -----------------------------------
def _time(moment: float | None, layout: str) -> str:
    return "" if moment is None else time.strftime(layout, time.gmtime(moment))


def _counts(batch: dict, now: float) -> tuple[int, int]:
    done = sum(subtask_status(batch, sub, now).state == "COMPLETED" for sub in batch["subTasks"])
    return len(batch["subTasks"]), done


def summary(batch: dict, now: float) -> dict:
    """One DescribeBatchTasks entry. TaskBegin is the creation time; TaskEnd is empty until it ends."""
    status = batch_status(batch, now)
    total, done = _counts(batch, now)
    return {"BatchId": batch["BatchId"], "TaskName": batch["TaskName"], "TaskType": batch["TaskType"],
            "Status": status.state, "TotalCount": total, "SuccessCount": done,
            "TaskBegin": _time(status.entered["DISPATCHING"], LIST_TIME),
            "TaskEnd": _time(status.finished_at, LIST_TIME)}


def detail(batch: dict, now: float) -> dict:
    """DescribeBatchTask's body; times in the detail page's documented form (``2026/05/28T16:38:20Z``)."""
    status = batch_status(batch, now)
    total, done = _counts(batch, now)
    subtasks = []
    for sub in batch["subTasks"]:
        sub_status = subtask_status(batch, sub, now)
        subtasks.append({
            "TaskId": sub["TaskId"], "InstanceId": sub["InstanceId"], "Status": sub_status.state,
            "TaskBegin": _time(sub_status.entered.get("RUNNING"), DETAIL_TIME),
            "TaskEnd": _time(sub_status.finished_at, DETAIL_TIME),
            "ErrorMsg": sub["errorMsg"] if sub_status.outcome == "failed" else ""})
    body = {"BatchId": batch["BatchId"], "TaskName": batch["TaskName"], "TaskType": batch["TaskType"],
            "ApplicationType": batch["ApplicationType"], "Status": status.state, "TotalCount": total,
            "SuccessCount": done, "TaskBegin": _time(status.entered["DISPATCHING"], DETAIL_TIME),
            "TaskEnd": _time(status.finished_at, DETAIL_TIME), "SubTasks": subtasks}
    return {k: v for k, v in body.items() if v is not None}


def describe_batch_tasks(batches: Iterable[dict], query: ListQuery, now: float) -> dict:
    """A page of the caller's batches, newest first, filtered by type, creation time and status at ``now``."""
    matching = [b for b in batches
                if (query.task_type is None or b["TaskType"] == query.task_type)
                and (query.start is None or b["createdAt"] >= query.start)
                and (query.end is None or b["createdAt"] <= query.end)]
    entries = [summary(b, now) for b in sorted(matching, key=lambda b: (b["createdAt"], b["BatchId"]), reverse=True)]
    if query.statuses:
        entries = [e for e in entries if e["Status"] in query.statuses]
    first = (query.page_number - 1) * query.page_size
    return {"TaskList": entries[first:first + query.page_size], "TotalCount": len(entries),
            "PageSize": query.page_size, "PageNumber": query.page_number}


# -- fixtures -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    id: str
    secret: str
    instances: frozenset[str]


def access_keys(fixtures: Mapping[str, Any]) -> dict[str, Account]:
    """Access key id -> its account, from ``accounts:`` in fixtures/polardb.yaml."""
    keys = {}
    for account in fixtures.get("accounts") or []:
        for key in account.get("accessKeys") or []:
            keys[key["id"]] = Account(str(account["id"]), key["secret"], frozenset(account.get("instances") or ()))
    return keys


def seed_batches(fixtures: Mapping[str, Any], *, now: float, seed: int) -> list[dict]:
    """The records of the fixture's earlier batches, created ``createdAgo`` seconds before ``now``;
    sub-task ids count up from TASK_ID_FLOOR in fixture order."""
    owned = {str(a["id"]): frozenset(a.get("instances") or ()) for a in fixtures.get("accounts") or []}
    records, next_task = [], TASK_ID_FLOOR
    for entry in fixtures.get("batches") or []:
        params = {"RegionId": entry.get("region", "cn-hangzhou"), "TaskName": entry["name"],
                  "TaskType": entry["type"], "InstanceIds": wire.compact_json(entry["instances"])}
        if entry.get("param") is not None:
            params["Param"] = wire.compact_json(entry["param"])
        request = validate_create(params)
        account = str(entry["account"])
        records.append(create_batch(
            request, batch_id=entry["id"], first_task_id=next_task, account=account, owned=owned.get(account, ()),
            now=now - entry.get("createdAgo", 0), seed=seed, pace=pacing(fixtures.get("pacing"), entry.get("pacing")),
            failing=entry.get("failing")))
        next_task += len(request.instance_ids)
    return records
