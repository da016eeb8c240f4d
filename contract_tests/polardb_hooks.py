"""Schemathesis hooks: PolarDB's operations tested through the RPC wire, signed as the official SDK signs.

Load with ``SCHEMATHESIS_HOOKS=contract_tests.polardb_hooks``. Schemathesis generates each case on
its virtual path (``POST /rpc/polardb/<Action>``, see specs/notes/polardb.md); ``before_call`` sends
it the way the gateway is addressed instead: ``/`` with the action and version in ``x-acs-action``
/ ``x-acs-version`` (from the operation's ``x-rpc``), the generated parameters left in the query
exactly as Schemathesis encodes them, and an ACS3-HMAC-SHA256 ``Authorization`` computed by the
same code the mock verifies with (``mock_server.apis.polardb.signature``). The answers are still
checked against the virtual operation. ``map_case`` lets positive cases name the batches,
applications and PolarClaw tasks the mock seeds from ``fixtures/polardb.yaml`` (a real target simply
answers 404 for them).

Environment: ``POLARDB_ACCESS_KEY_ID`` / ``POLARDB_ACCESS_KEY_SECRET`` (default: the fixture's
``testAccessKeyId`` / ``testAccessKeySecret``); ``POLARDB_FIXTURES`` (default: fixtures/polardb.yaml).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis
import yaml
from requests.models import RequestEncodingMixin
from schemathesis.config import InferenceAlgorithm
from schemathesis.openapi.checks import MissingHeaderNotRejected, UnsupportedMethodResponse

from mock_server.apis.polardb import signature
from mock_server.apis.polardb.wire import EMPTY_SHA256

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "polardb.yaml"


def credentials() -> tuple[str, str]:
    return (os.environ.get("POLARDB_ACCESS_KEY_ID", "testAccessKeyId"),
            os.environ.get("POLARDB_ACCESS_KEY_SECRET", "testAccessKeySecret"))


def rpc_of(operation: Any) -> dict | None:
    """The operation's ``x-rpc`` (action, version), or None for operations of other APIs."""
    rpc = operation.definition.raw.get("x-rpc")
    return rpc if isinstance(rpc, dict) and rpc.get("action") else None


def sent_query(case: Any, base_url: str) -> list[tuple[str, str]]:
    """The query pairs exactly as the transport will send them for ``case`` (requests' own encoding)."""
    params = case.as_transport_kwargs(base_url=base_url).get("params") or {}
    encoded = RequestEncodingMixin._encode_params(params)
    encoded = encoded.decode() if isinstance(encoded, bytes) else encoded
    return parse_qsl(encoded, keep_blank_values=True)


def drops_authorization(case: Any) -> bool:
    """A coverage case that leaves out the Authorization header on purpose: it is sent without one."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    return (str(getattr(data, "parameter", "")).lower() == "authorization"
            and getattr(getattr(data, "scenario", None), "name", "") == "MISSING_PARAMETER")


def wire_headers(case: Any, method: str, host: str, query: list[tuple[str, str]], rpc: dict) -> dict[str, str]:
    """The SDK's common headers for this call and the ACS3 Authorization over all of them (unless the
    case is about a missing Authorization)."""
    headers = {"host": host, "x-acs-action": rpc["action"], "x-acs-version": str(rpc["version"]),
               "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "x-acs-signature-nonce": secrets.token_hex(16), "accept": "application/json",
               "x-acs-content-sha256": EMPTY_SHA256}
    if not drops_authorization(case):
        headers["Authorization"] = signature.sign_acs3(method, "/", query, headers, *credentials())
    return headers


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    rpc = rpc_of(case.operation)
    if rpc is None:
        return
    base = urlsplit(case.operation.base_url or case.operation.schema.get_base_url())
    query = sent_query(case, base.geturl())
    # Headers go on the case (the transport's `headers` argument is not ours to replace); the case's
    # own query stays as generated, so what Schemathesis believes it sent is what was sent.
    for name, value in wire_headers(case, case.method.upper(), base.netloc, query, rpc).items():
        case.headers[name] = value
    if drops_authorization(case):
        case.headers.pop("Authorization", None)
    kwargs["url"] = f"{base.scheme}://{base.netloc}/"


# -- two REST assumptions PolarDB's RPC style does not share -----------------------------------------
@schemathesis.hook
def after_load_schema(context: Any, schema: Any) -> None:
    """Links between PolarDB actions are the overlay's (specs/overlays/polardb-links.yaml), never inferred
    from parameter names: in the RPC style one name means unrelated things (DescribeBatchTask's numeric
    sub-task ``TaskId`` is not DescribePolarClawTask's UUID ``TaskId``), so an inferred link sends a
    schema-invalid value in a case marked positive. Affects only runs that load these hooks."""
    inference = schema.config.phases.stateful.inference
    inference.algorithms = [a for a in inference.algorithms if a != InferenceAlgorithm.DEPENDENCY_ANALYSIS]


def documented_answer(response: Any, status: int, *codes: str) -> bool:
    """Did the target answer exactly the gateway's documented status and error code?"""
    try:
        return response.status_code == status and response.json().get("Code") in codes
    except ValueError:
        return False


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but two, both the gateway's documented behaviour where Schemathesis assumes
    REST's. No configuration can express them: ``--checks all`` re-enables a check that
    schemathesis.toml switches off per operation, and ``missing_required_header`` hard-codes 401 for
    Authorization.

    * A request without Authorization answered 400 IncompleteSignature: PolarDB's client error codes
      list IncompleteSignature (400) and no 401 at all (specs/notes/polardb.md, "Errors").
    * A GET answered as the action itself: an RPC gateway takes the action from x-acs-action, not
      from the method and path, and accepts GET as well as POST ("RPC-style APIs support GET and
      POST", https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature);
      every other method gets 403 UnsupportedHTTPMethod, which the check accepts by itself.
    """
    if rpc_of(case.operation) is None:
        return True
    if isinstance(failure, MissingHeaderNotRejected):
        return not (failure.header_name.lower() == "authorization"
                    and documented_answer(response, 400, "IncompleteSignature"))
    if isinstance(failure, UnsupportedMethodResponse):
        return not (failure.method == "GET" and response.status_code < 500)
    return True


# -- generation that knows the fixture's ids ------------------------------------------------------
@cache
def fixture_ids() -> dict[str, list]:
    """The default account's batches, applications and PolarClaw tasks, from the mock's fixture."""
    data = yaml.safe_load(Path(os.environ.get("POLARDB_FIXTURES", FIXTURES)).read_text()) or {}
    key = credentials()[0]
    account = next((a for a in data.get("accounts") or []
                    if any(k["id"] == key for k in a.get("accessKeys") or [])), {})
    mine = str(account.get("id"))
    applications = list(account.get("instances") or [])
    return {"batches": [b["id"] for b in data.get("batches") or [] if str(b["account"]) == mine],
            "applications": applications,
            "tasks": [(t["application"], t["id"]) for t in data.get("polarclawTasks") or []
                      if t["application"] in applications]}


def _pick(options: list, value: Any) -> Any:
    """One of ``options`` or None (keep the generated value), chosen by the value: reproducible runs."""
    digest = hashlib.sha256(repr(value).encode()).digest()[0]
    slot = digest % (len(options) + 1)
    return options[slot] if slot < len(options) else None


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Positive cases of the actions that address an entity name a seeded one most of the time."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.query, dict):
        return case
    action = (rpc_of(case.operation) or {}).get("action")
    ids = fixture_ids()
    if action == "DescribeBatchTask" and "BatchId" in case.query:
        chosen = _pick(ids["batches"], case.query["BatchId"])
        if chosen:
            case.query["BatchId"] = chosen
    elif action == "DescribePolarClawTask" and {"ApplicationId", "TaskId"} <= set(case.query):
        chosen = _pick(ids["tasks"], (case.query["ApplicationId"], case.query["TaskId"]))
        if chosen:
            case.query["ApplicationId"], case.query["TaskId"] = chosen
    elif action == "InstallPolarClawSkill" and "ApplicationId" in case.query:
        chosen = _pick(ids["applications"], case.query["ApplicationId"])
        if chosen:
            case.query["ApplicationId"] = chosen
    return case
