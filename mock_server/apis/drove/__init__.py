"""Drove controller stand-in: the vendor profile (HTTP Basic users, roles, Drove's error bodies,
fixtures) over the pure core, one handler per operationId calling one function of ``operations``.

Core modules, in the order a request meets them: ``durations`` (Dropwizard durations),
``validation`` (Jackson binding, bean validation, the controller's semantic checks), ``cluster``
(the mock cluster: executors, capacity, allocation), ``lifecycle`` (the task state table for the
engine's replay), ``tasks`` (task records), ``render`` (TaskInfo, the envelope, error bodies),
``logs`` (executor log files), ``operations`` (one pure function per operationId).
Facts: the PhonePe/drove server source at commit 5f3ca176 (1.33.3); decisions: specs/notes/drove.md.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from mock_server.errors import ErrorCase, Rejection
from mock_server.vendor import Caller, Context, Identity, Reply, Services, Vendor

from . import operations as ops
from . import render, tasks
from .cluster import Cluster
from .render import Answer
from .validation import JSON_FAILURE

# Jersey converts query parameters with Long.valueOf / Integer.valueOf: a failure is a 404.
_JAVA_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_RANGES = {"offset": 2**63, "length": 2**31}
# The body of a POST without one: Jackson yields null, then @NotNull on the resource parameter.
NULL_BODY = "The request body must not be null"


# -- identify, access, errors, seed ---------------------------------------------------------------
def identify(identity: Identity) -> Caller:
    """HTTP Basic against ``users:`` of fixtures/drove.yaml (Drove's userAuth, PLAIN passwords)."""
    value = identity.credentials[0].value if identity.credentials else ""
    header = "Basic " + base64.b64encode(value.encode()).decode()
    user = ops.authenticate(identity.services.settings.get("users") or [], header) if value else None
    if user is None:
        raise Rejection("unauthenticated", render.UNAUTHORIZED_TEXT, headers={"WWW-Authenticate": render.CHALLENGE})
    return Caller(account=user["username"], roles=frozenset({user["role"]}), name=user["username"])


def _roles_allowed(allowed: Callable[[str], bool]) -> Callable[[Context], None]:
    """``@RolesAllowed``: Jersey's refusal is a 403 with no entity."""
    def rule(ctx: Context) -> None:
        if not any(allowed(role) for role in ctx.caller.roles):
            raise Rejection("forbidden", "")

    rule.__name__ = f"roles_allowed({allowed.__name__})"
    return rule


def error_style(case: ErrorCase) -> tuple[object, str | None]:
    """The engine's rejections in Drove's bodies. Every 400 Drove documents is its validation
    envelope, whatever refused the request (a body over the mock's size limit included)."""
    rejection = case.rejection
    if rejection.code == "malformed_json":
        return render.failure(JSON_FAILURE, {"validationErrors": [rejection.message]}), "application/json"
    message = NULL_BODY if rejection.code == "missing_body" else rejection.message
    kind = "invalid" if case.status == 400 else rejection.kind
    details = rejection.details if isinstance(rejection.details, list) else None
    return render.error_body(kind, message, details)


def seed(services: Services, fixtures: dict) -> None:
    ops.load_fixtures(services.store, fixtures, now=services.now(), seed=services.seed)


LOGS = [_roles_allowed(ops.may_read_logs)]
vendor = Vendor(
    "drove", servers=["http://drove.local:7000"], identify=identify, errors=error_style, seed=seed,
    access={"taskOperation": [_roles_allowed(ops.may_operate)], "listTaskLogFiles": LOGS,
            "readTaskLogFile": LOGS, "downloadTaskLogFile": LOGS},
    # The controller binds these itself (fuzzy enums, unknown properties ignored, its own wording;
    # Jersey's query-parameter conversion, Boolean.valueOf): Connexion must not judge them.
    own_validation={"taskOperation", "validateTaskSpec", "searchTask", "readTaskLogFile", "downloadTaskLogFile"},
    # The data model: task ids are the client's (no sequence); nothing refers to anything else.
    records={ops.TASKS: tasks.RECORD}, keys={ops.TASKS: ops.KEY}, secrets={ops.TASKS: tasks.SECRETS},
)


# -- handlers: one per operationId, each one call into the core -----------------------------------
def _reply(answer: Answer) -> Reply:
    return Reply(answer.status, answer.body, dict(answer.headers), answer.media_type)


def _cluster(ctx: Context) -> Cluster:
    return Cluster.from_settings(ctx.settings.get("cluster") or {})


def _task(ctx: Context) -> tuple[str, str]:
    return ctx.path_params["sourceAppName"], ctx.path_params["taskId"]


def _java_number(ctx: Context, name: str) -> int:
    """A query parameter as Jersey converts it (default -1); unconvertible -> 404, no body."""
    text = ctx.query.get(name)
    if text is None:
        return -1
    if not _JAVA_INTEGER.match(text) or not -_RANGES[name] <= int(text) < _RANGES[name]:
        raise Rejection("not_found", "", property=name)
    return int(text)


@vendor.operation("ping")
def ping(ctx: Context) -> Reply:
    return _reply(ops.ping())


@vendor.operation("taskOperation")
def task_operation(ctx: Context) -> Reply:
    return _reply(ops.task_operation(ctx.store, ctx.body, now=ctx.now(), seed=ctx.seed, cluster=_cluster(ctx)))


@vendor.operation("validateTaskSpec")
def validate_spec(ctx: Context) -> Reply:
    return _reply(ops.validate_spec(ctx.store, ctx.body, now=ctx.now(), cluster=_cluster(ctx)))


@vendor.operation("listTasks")
def list_tasks(ctx: Context) -> Reply:
    return _reply(ops.list_tasks(ctx.store, now=ctx.now()))


@vendor.operation("getTaskInstance")
def get_task(ctx: Context) -> Reply:
    return _reply(ops.get_task(ctx.store, *_task(ctx), now=ctx.now()))


@vendor.operation("deleteTaskInstance")
def delete_task(ctx: Context) -> Reply:
    return _reply(ops.delete_task(ctx.store, *_task(ctx)))


@vendor.operation("searchTask")
def search_task(ctx: Context) -> Reply:
    form = ctx.body if isinstance(ctx.body, dict) else {}
    return _reply(ops.search_task(ctx.store, form))


@vendor.operation("listTaskLogFiles")
def list_log_files(ctx: Context) -> Reply:
    return _reply(ops.list_log_files(ctx.store, *_task(ctx), now=ctx.now(), seed=ctx.seed, cluster=_cluster(ctx)))


@vendor.operation("readTaskLogFile")
def read_log_file(ctx: Context) -> Reply:
    offset, length = _java_number(ctx, "offset"), _java_number(ctx, "length")
    return _reply(ops.read_log_file(ctx.store, *_task(ctx), ctx.path_params["file"], offset=offset, length=length,
                                    now=ctx.now(), seed=ctx.seed, cluster=_cluster(ctx)))


@vendor.operation("downloadTaskLogFile")
def download_log_file(ctx: Context) -> Reply:
    rename = ctx.query.get("rename", "false").lower() == "true"
    return _reply(ops.download_log_file(ctx.store, *_task(ctx), ctx.path_params["file"], rename=rename,
                                        now=ctx.now(), seed=ctx.seed, cluster=_cluster(ctx)))
