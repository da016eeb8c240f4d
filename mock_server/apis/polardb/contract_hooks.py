"""PolarDB's Schemathesis hooks (loaded by contract_tests/vendor_hooks.py, never by the mock itself): its
operations tested through the RPC wire, signed as the official SDK signs. The one implementation of
that: the harness' PolarDB adapter (contract_tests/apis/polardb.py) adds nothing to it.

Schemathesis generates each case on
its virtual path (``POST /rpc/polardb/<Action>``, see specs/notes/polardb.md); ``before_call`` sends
it the way the gateway is addressed instead: ``/`` with the action and version in ``x-acs-action``
/ ``x-acs-version`` (from the operation's ``x-rpc``), the generated parameters left in the query
exactly as Schemathesis encodes them, and an ACS3-HMAC-SHA256 ``Authorization`` computed by the
same code the mock verifies with (``mock_server.apis.polardb.signature``). The answers are still
checked against the virtual operation. ``map_case`` lets positive cases name the batches,
applications and PolarClaw tasks the mock seeds from ``fixtures/polardb.yaml`` (a real target simply
answers 404 for them).

Environment: ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``, the SDK's own names
(default: the fixture's ``testAccessKeyId`` / ``testAccessKeySecret``); ``POLARDB_FIXTURES`` (default:
fixtures/polardb.yaml).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis
import yaml
from requests.models import RequestEncodingMixin
from schemathesis.openapi.checks import MissingHeaderNotRejected, UnsupportedMethodResponse

from mock_server import PROJECT_ROOT
from mock_server.apis.polardb import wire

FIXTURES = PROJECT_ROOT / "fixtures" / "polardb.yaml"
KEY_ID, KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"


def credentials() -> tuple[str, str]:
    return (os.environ.get(KEY_ID) or "testAccessKeyId", os.environ.get(KEY_SECRET) or "testAccessKeySecret")


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
    """The mock's own wire headers for this call (``wire.request_headers``), ACS3-signed unless the
    case is about a missing Authorization."""
    signed = None if drops_authorization(case) else credentials()
    return wire.request_headers(rpc["action"], str(rpc["version"]), host, query, method=method, credentials=signed)


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
