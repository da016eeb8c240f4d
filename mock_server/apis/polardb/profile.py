"""The PolarDB vendor profile: the pure core (wire, signature, errors, batches, polarclaw) on the pipeline.

wire      ``POST /`` (or GET) with ``x-acs-action`` / ``Action`` -> ``/rpc/polardb/<Action>``; the
          signature (header or query) handed to identify, which answers a missing one itself
identify  ACS3-HMAC-SHA256 or v1 HMAC-SHA1 against the fixture's access keys, the virtual clock and
          a nonce memory kept in the store (so it survives restarts), bounded to the 15-minute window
errors    the gateway's ``{RequestId, HostId, Code, Message, Recommend}``, HostId the Host hit
envelope  ``RequestId`` on every success
handlers  the five actions; batches and tasks are lifecycle tables replayed at virtual time
Decisions: specs/notes/polardb.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from mock_server.apis.polardb import batches, polarclaw, signature, wire
from mock_server.apis.polardb._codec import FORM, parse_query
from mock_server.apis.polardb.errors import (
    CATALOGUE,
    MEDIA_TYPE,
    AcsError,
    code_for,
    invalid_parameter,
    missing_parameter,
    request_id,
    unsupported_parameter,
)
from mock_server.apis.polardb.product import HOST
from mock_server.auth import Credential
from mock_server.errors import ErrorCase, Rejection
from mock_server.records import MOMENT, TEXT, mapping, obj
from mock_server.vendor import (
    Caller,
    Context,
    Identity,
    Namespace,
    Numbering,
    RawRequest,
    Reply,
    Routed,
    Services,
    Vendor,
)

KEYS, APPLICATIONS, TASKS, NONCES, SETTINGS = "keys", "applications", "polarclawTasks", "nonces", "settings"
PRUNE_EVERY_SECONDS = 60   # forget expired nonces at most this often (virtual time)
_HOST_ID = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
T = TypeVar("T")


def batches_of(account: str) -> str:
    """Each account's batches are a collection of their own: a list costs what the account owns."""
    return f"batches@{account}"


def rejection(error: AcsError) -> Rejection:
    """A gateway refusal as the engine's rejection: its status forced, the error itself kept for the body."""
    return Rejection(error.kind, error.message, property=error.parameter, code=error.code, status=error.status,
                     details=error)


def checked(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, its ``AcsError`` raised as a rejection."""
    try:
        return fn(*args)
    except AcsError as error:
        raise rejection(error) from None


# -- wire -----------------------------------------------------------------------------------------
def _signature_found(raw: RawRequest) -> tuple[Credential, ...]:
    """What signature the request carries, for identify (which verifies the whole raw request)."""
    authorization = raw.header("authorization")
    if authorization:
        return (Credential("AcsSignatureV3", "apiKey", authorization),)
    pairs = parse_query(raw.query_string) if raw.query_string else []
    if (raw.header("content-type") or "").split(";")[0].strip().lower() == FORM and raw.body:
        pairs += parse_query(raw.body)
    value = dict(pairs).get("Signature")
    return (Credential("AcsSignatureV1", "other", value),) if value else ()


def _addressed_to_gateway(raw: RawRequest) -> bool:
    """An RPC call: the SDK's headers, or the older query form naming the action."""
    if raw.header("x-acs-action") is not None or raw.header("x-acs-version") is not None:
        return True
    return raw.path == "/" and any(key in ("Action", "Version") for key, _ in raw.query)


class RpcWire:
    """PolarDB's RPC wire onto the virtual paths of the merged spec (``wire.decode`` does the work)."""

    def decode(self, raw: RawRequest) -> Routed | None:
        if wire.is_virtual(raw.path):   # already an operation's path: served as sent, signature verified
            return Routed(raw.method, raw.path, raw.query_string, credentials=checked(_signature_found, raw))
        if not _addressed_to_gateway(raw):
            return None
        call = checked(wire.decode, raw.method, raw.path, raw.query_string, raw.headers, raw.body)
        return Routed("POST", call.virtual_path, call.query_string, body=b"",
                      credentials=checked(_signature_found, raw))

    def encode(self, reply: Reply, raw: RawRequest) -> Reply:
        return Reply(reply.status, reply.body, dict(reply.headers), reply.media_type or MEDIA_TYPE)


# -- identify: signatures, keys, nonces ------------------------------------------------------------
class StoreNonces:
    """The nonces accepted within the signature window, kept in the vendor's store."""

    def __init__(self, store: Namespace, now: float) -> None:
        self.store, self.now = store, now
        self.horizon = now - signature.MAX_SKEW_SECONDS   # older nonces can no longer pass the time check

    def __call__(self, key: str) -> bool:
        seen = self.store.get(NONCES, key)
        if seen is not None and seen["at"] >= self.horizon:
            return False
        self.store.put(NONCES, key, {"at": self.now})
        self._forget_expired()
        return True

    def _forget_expired(self) -> None:
        pruned = self.store.get_meta("noncesPrunedAt")
        if pruned is not None and self.now - pruned < PRUNE_EVERY_SECONDS:
            return
        for key, seen in self.store.items(NONCES):
            if seen["at"] < self.horizon:
                self.store.delete(NONCES, key)
        self.store.set_meta("noncesPrunedAt", self.now)


def identify(identity: Identity) -> Caller:
    raw, store, now = identity.raw, identity.store, identity.services.now()
    with store.transaction():   # one check-and-record of the nonce at a time
        verdict = signature.verify(raw.method, raw.path, raw.query_string, raw.headers, raw.body,
                                   secret_for=lambda key: (store.get(KEYS, key) or {}).get("secret"),
                                   nonces=StoreNonces(store, now), now=now)
    if verdict.error is not None:
        raise rejection(verdict.error)
    return Caller(store.get(KEYS, verdict.access_key_id)["account"], name=verdict.access_key_id)


# -- errors and the envelope ----------------------------------------------------------------------
def _sent_params(raw: RawRequest) -> dict[str, str]:
    """The operation parameters as the client sent them (for the value an InvalidParameter names)."""
    try:
        if wire.is_virtual(raw.path):
            return dict(parse_query(raw.query_string))
        return wire.decode(raw.method, raw.path, raw.query_string, raw.headers, raw.body).params
    except AcsError:
        return {}


# The core's validation of each batch action: where the spec's validation refused a request first,
# the core's answer (its order, its wording: e.g. the one bad Status value) is the one shown.
CORE_VALIDATION = {"CreateBatchTask": batches.validate_create, "DescribeBatchTasks": batches.validate_list,
                   "DescribeBatchTask": batches.validate_detail}


def _gateway_error(case: ErrorCase) -> AcsError:
    """The gateway's error for any rejection: the core's own, else the nearest code for the engine's."""
    found = case.rejection
    if isinstance(found.details, AcsError):
        return found.details
    validate = CORE_VALIDATION.get(case.op.id) if case.op is not None and found.kind == "invalid" else None
    if validate is not None and case.raw is not None:
        try:
            validate(_sent_params(case.raw))
        except AcsError as error:
            return error
    name = found.property.split(".")[0] if found.property else None
    if name and found.code == "missing_query":
        return missing_parameter(name)
    if name and found.code == "invalid_query":
        return invalid_parameter(name, _sent_params(case.raw).get(name, "") if case.raw else "")
    code = code_for(found.kind, case.status)
    return AcsError.of(code) if code in CATALOGUE else AcsError(case.status, code, found.message)


def error_body(case: ErrorCase) -> tuple[dict, str]:
    raw = case.raw
    host = raw.header("host") if raw is not None else None
    error = _gateway_error(case)
    return (error.body(request_id(case.seed, raw.serial if raw is not None else 0),
                       host if host and _HOST_ID.match(host) else HOST), MEDIA_TYPE)


def envelope(reply: Reply, ctx: Context) -> Reply:
    """Every answer carries the request's RequestId, first (as the gateway sends it)."""
    return Reply(reply.status, {"RequestId": request_id(ctx.seed, ctx.raw.serial), **(reply.body or {})},
                 dict(reply.headers), reply.media_type)


# -- seed -----------------------------------------------------------------------------------------
def seed(services: Services, fixtures: dict) -> None:
    store, now = services.store, services.now()
    for key, account in batches.access_keys(fixtures).items():
        store.put(KEYS, key, {"account": account.id, "secret": account.secret})
    owners = {}
    for account in fixtures.get("accounts") or []:
        for application in account.get("instances") or []:
            owners[application] = str(account["id"])
            store.put(APPLICATIONS, application, {"account": str(account["id"]), "skills": {}})
    records = batches.seed_batches(fixtures, now=now, seed=services.seed)
    for record in records:
        store.put(batches_of(record["account"]), record["BatchId"], record)
    # New sub-task ids continue after the seeded ones.
    store.next_id("subtask", floor=batches.TASK_ID_FLOOR + sum(len(r["subTasks"]) for r in records) - 1)
    for entry in fixtures.get("polarclawTasks") or []:
        task = polarclaw.task_record(entry, account=owners[entry["application"]],
                                     created=now - entry.get("createdAgo", 0))
        store.put(TASKS, task["TaskId"], task)
    store.put(SETTINGS, "settings", {"pacing": batches.pacing(fixtures.get("pacing")),
                                     "skills": dict(fixtures.get("skills") or {})})


COMMON_PARAMS = frozenset({"RegionId"})   # a common parameter of every RPC action, documented or not


def only_documented_parameters(ctx: Context) -> None:
    """PolarDB answers UnsupportedParameter for a parameter the action does not document."""
    declared = {p["name"] for p in ctx.op.parameters if p.get("in") == "query"} | COMMON_PARAMS
    unknown = sorted(name for name in ctx.query if name not in declared and name not in wire.PROTOCOL_PARAMS)
    if unknown:
        raise rejection(unsupported_parameter(unknown[0]))


# The data model, checked on every admin import (mock_server/snapshot.py). Sub-task ids count up
# (their sequence must be past the largest); batch ids are minted from the seed and a counter.
RECORDS = {KEYS: obj({"account": TEXT, "secret": TEXT}), APPLICATIONS: obj({"account": TEXT, "skills": mapping(TEXT)}),
           batches_of("*"): batches.RECORD, TASKS: polarclaw.RECORD, NONCES: obj({"at": MOMENT}),
           SETTINGS: obj({"pacing": batches.PACING, "skills": mapping({"type": ["string", "number"]})})}
RECORD_KEYS = {batches_of("{account}"): "{BatchId}", TASKS: "{TaskId}"}
SEQUENCES = {"subtask": Numbering(batches_of("*"), at="subTasks.TaskId"),
             "batch": Numbering(batches_of("*"), minted=batches.batch_id)}
# An access key's id and secret are credentials; a nonce is filed under the key id that signed it.
SECRETS = {KEYS: ["$key", "secret"], NONCES: ["$key"]}

vendor = Vendor("polardb", servers=["https://polardb.aliyuncs.com"], wire=RpcWire(), identify=identify,
                errors=error_body, envelope=envelope, seed=seed, access={"*": [only_documented_parameters]},
                lifecycles={"batch": batches.batch_lifecycle, "subtask": batches.subtask_lifecycle,
                            "polarclawTask": polarclaw.task_lifecycle},
                records=RECORDS, keys=RECORD_KEYS, references={TASKS: {"ApplicationId": APPLICATIONS}},
                sequences=SEQUENCES, secrets=SECRETS)


# -- handlers -------------------------------------------------------------------------------------
def _params(ctx: Context) -> dict[str, str]:
    return {name: ctx.query[name] for name in ctx.query}


def _owned_applications(ctx: Context) -> set[str]:
    return {app for app, record in ctx.store.items(APPLICATIONS) if record["account"] == ctx.caller.account}


def _application(ctx: Context, application_id: str) -> dict:
    """The caller's own PolarClaw application; anyone else's does not exist for them."""
    record = ctx.store.get(APPLICATIONS, application_id)
    if record is None or record["account"] != ctx.caller.account:
        raise rejection(polarclaw.instance_not_found())
    return record


@vendor.operation("CreateBatchTask")
def create_batch_task(ctx: Context) -> Reply:
    request = checked(batches.validate_create, _params(ctx))
    store = ctx.store
    first_task = store.next_id("subtask", floor=batches.TASK_ID_FLOOR)
    for _ in request.instance_ids[1:]:   # reserve one id per sub-task
        store.next_id("subtask")
    batch_id = batches.batch_id(ctx.seed, store.next_id("batch"))
    record = batches.create_batch(request, batch_id=batch_id, first_task_id=first_task, account=ctx.caller.account,
                                  owned=_owned_applications(ctx), now=ctx.now(), seed=ctx.seed,
                                  pace=(store.get(SETTINGS, "settings") or {}).get("pacing", batches.DEFAULT_PACING))
    store.put(batches_of(ctx.caller.account), batch_id, record)
    return Reply(200, {"BatchId": batch_id})


@vendor.operation("DescribeBatchTasks")
def describe_batch_tasks(ctx: Context) -> Reply:
    query = checked(batches.validate_list, _params(ctx))
    records = [record for _, record in ctx.store.items(batches_of(ctx.caller.account))]
    return Reply(200, batches.describe_batch_tasks(records, query, ctx.now()))


@vendor.operation("DescribeBatchTask")
def describe_batch_task(ctx: Context) -> Reply:
    batch_id = checked(batches.validate_detail, _params(ctx))
    record = ctx.store.get(batches_of(ctx.caller.account), batch_id)
    if record is None:
        raise rejection(batches.not_found(batch_id))
    return Reply(200, batches.detail(record, ctx.now()))


@vendor.operation("DescribePolarClawTask")
def describe_polar_claw_task(ctx: Context) -> Reply:
    params = _params(ctx)
    _application(ctx, params["ApplicationId"])
    task = ctx.store.get(TASKS, params["TaskId"].lower())
    if task is None or task["ApplicationId"] != params["ApplicationId"]:
        raise rejection(polarclaw.task_not_found())
    return Reply(200, polarclaw.describe_task(task, ctx.now()))


@vendor.operation("InstallPolarClawSkill")
def install_polar_claw_skill(ctx: Context) -> Reply:
    params = _params(ctx)
    application = _application(ctx, params["ApplicationId"])
    latest = (ctx.store.get(SETTINGS, "settings") or {}).get("skills", {})
    body, skills = checked(polarclaw.install, params["ApplicationId"], params, application["skills"], latest)
    ctx.store.put(APPLICATIONS, params["ApplicationId"], {**application, "skills": skills})
    return Reply(200, body)

