"""PolarClaw applications: asynchronous tasks over a lifecycle table, and synchronous skill installs.

Pure, like ``batches``: a task record holds its plan (creation time, how long it is pending and
running, its result or error); ``mock_server.lifecycle`` gives its state at virtual time t. An
install answers from the application's installed skills, which the caller keeps. Decisions:
specs/notes/polardb.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from mock_server.apis.polardb import wire
from mock_server.apis.polardb.errors import AcsError, missing_parameter
from mock_server.lifecycle import History, Lifecycle, Step
from mock_server.records import MOMENT, OBJECT, SECONDS, TEXT, nullable, obj

DEFAULT_VERSION = "1.0.0"
SKILLS_DIR = "/home/node/.openclaw/skills/"
_ARCHIVE = re.compile(r"(\.tar\.gz|\.tgz|\.tar|\.zip)$", re.IGNORECASE)
_NOT_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
RUN_STEP = 1   # the step whose end is a failure


def task_lifecycle(pending_seconds: float, run_seconds: float) -> Lifecycle:
    """pending -> running -> succeeded | failed (the four documented states)."""
    return Lifecycle(steps=(Step("pending", pending_seconds), Step("running", run_seconds)),
                     done="succeeded", failed="failed")


def task_record(entry: Mapping[str, Any], *, account: str, created: float) -> dict:
    """A fixture entry of ``polarclawTasks`` as a stored task."""
    return {"TaskId": str(entry["id"]).lower(), "ApplicationId": entry["application"], "account": account,
            "Operation": entry["operation"], "createdAt": created,
            "pendingSeconds": entry.get("pendingSeconds", 2), "runSeconds": entry.get("runSeconds", 5),
            "result": entry.get("result"), "error": entry.get("error")}


# The stored task (``task_record``), checked on every admin import (mock_server/snapshot.py).
RECORD = obj({"TaskId": TEXT, "ApplicationId": TEXT, "account": TEXT, "Operation": TEXT, "createdAt": MOMENT,
              "pendingSeconds": SECONDS, "runSeconds": SECONDS, "result": nullable(OBJECT), "error": nullable(OBJECT)})


def describe_task(task: dict, now: float) -> dict:
    """DescribePolarClawTask's body (without RequestId): the task's state at ``now``."""
    failing = task.get("error") is not None
    status = task_lifecycle(task["pendingSeconds"], task["runSeconds"]).at(
        History(start=task["createdAt"], failures=[RUN_STEP] if failing else []), now)
    shown: dict[str, Any] = {"TaskId": task["TaskId"], "State": status.state, "Operation": task["Operation"],
                             "CreatedAtMs": _ms(task["createdAt"]), "UpdatedAtMs": _ms(status.since)}
    if status.state == "succeeded":
        shown["Result"] = dict(task.get("result") or {})
    elif status.state == "failed":
        shown["Error"] = dict(task["error"])
    return {"Code": 200, "Message": "successful", "ApplicationId": task["ApplicationId"], "Task": shown}


def _ms(moment: float) -> int:
    """Epoch milliseconds, as the documented CreatedAtMs / UpdatedAtMs."""
    return int(round(moment * 1000))


def slug_of(params: Mapping[str, str]) -> str:
    """The skill's slug: ``Slug``, else the file name of ``Url`` without its archive suffix. Neither
    given: MissingParameter (one of them is needed to know what to install)."""
    if params.get("Slug"):
        return params["Slug"]
    if not params.get("Url"):
        raise missing_parameter("Slug")
    name = _ARCHIVE.sub("", urlparse(params["Url"]).path.rsplit("/", 1)[-1])
    name = _NOT_SLUG.sub("-", name).strip("-._")[:128]
    return name or "skill"


def install(application: str, params: Mapping[str, str], installed: Mapping[str, str],
            latest: Mapping[str, str]) -> tuple[dict, dict[str, str]]:
    """InstallPolarClawSkill's body (without RequestId) and the application's skills afterwards.
    Reinstalling the installed version needs ``Force``; without it the answer says so (``Ok`` false)."""
    slug = slug_of(params)
    version = params.get("SkillVersion") or str(latest.get(slug, DEFAULT_VERSION))
    force = wire.boolean("Force", params["Force"]) if params.get("Force") else False
    body = {"Code": 200, "ApplicationId": application, "Slug": slug, "Version": version,
            "TargetDir": SKILLS_DIR + slug}
    if installed.get(slug) == version and not force:
        return {**body, "Ok": False, "Message": f"Skill {slug} {version} is already installed; set Force to "
                                                "reinstall it."}, dict(installed)
    return {**body, "Ok": True, "Message": "success"}, {**installed, slug: version}


def instance_not_found() -> AcsError:
    """An application the caller does not own (or that does not exist): PolarDB's documented 404."""
    error = AcsError.of("Forbidden.InstanceNotFound")
    error.parameter = "ApplicationId"
    return error


def task_not_found() -> AcsError:
    error = AcsError.of("InvalidTaskId.NotFound")
    error.parameter = "TaskId"
    return error
