"""PolarDB's RPC wire form: a raw request -> action, version and parameters; and back, for real targets.

On the wire every action is ``POST /`` (GET works too), the action and version in the
``x-acs-action``/``x-acs-version`` headers (and ``Action``/``Version`` in the query with the older
v1 signature), every parameter in the query string or an ``application/x-www-form-urlencoded`` body.
Arrays travel as compact JSON text (``Status=["RUNNING"]``, what the SDK sends) or flat
(``Status.1=RUNNING``); ``decode`` folds the flat form into JSON text, so the parameters always
look like the spec's (``specs/fragments/polardb``). Free of server state: the contract-test harness
(mock_server/apis/polardb/contract_hooks.py) addresses the same actions with ``request_headers``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from mock_server.apis.polardb import signature as _signature
from mock_server.apis.polardb._codec import FORM, Headers, header, header_pairs, parse_query
from mock_server.apis.polardb.errors import (
    AcsError,
    invalid_parameter,
    missing_common_parameter,
)
from mock_server.apis.polardb.product import ACTIONS, VERSION

# Parameters of the signature protocol (v1) and the RPC envelope, never an operation's. RegionId is
# a common parameter too, but CreateBatchTask documents it as its own, so it stays a parameter.
PROTOCOL_PARAMS = frozenset({"Action", "Version", "Format", "Timestamp", "SignatureNonce", "SignatureMethod",
                             "SignatureVersion", "SignatureType", "AccessKeyId", "Signature", "SecurityToken",
                             "BearerToken"})
METHODS = ("POST", "GET")
VIRTUAL_PREFIX = "/rpc/polardb/"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_FLAT = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)\.(?P<index>[1-9][0-9]{0,5})$")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,19}$")


@dataclass(frozen=True)
class RpcRequest:
    """One decoded RPC call. ``params`` are the operation's, arrays as compact JSON text."""

    action: str
    version: str
    params: dict[str, str]
    protocol: dict[str, str] = field(default_factory=dict)

    @property
    def virtual_path(self) -> str:
        """Where the merged spec declares this action (``/rpc/polardb/<Action>``)."""
        return VIRTUAL_PREFIX + self.action

    @property
    def query_string(self) -> bytes:
        """The operation parameters as a query string for the virtual path (Connexion validates it)."""
        return urlencode(sorted(self.params.items())).encode()


def is_virtual(path: str) -> bool:
    """A request on a virtual path (``/rpc/polardb/<Action>``, what Schemathesis sends): no wire decoding."""
    return path.startswith(VIRTUAL_PREFIX)


def decode(method: str, path: str, query_string: bytes | str, headers: Headers, body: bytes = b"", *,
           actions: Collection[str] = ACTIONS, version: str = VERSION) -> RpcRequest:
    """The action, version and parameters of a wire request, or an ``AcsError`` in the gateway's terms."""
    pairs = header_pairs(headers)
    if method.upper() not in METHODS:
        raise AcsError.of("UnsupportedHTTPMethod")
    if path.split("?", 1)[0] != "/":
        raise AcsError.of("InvalidApi.NotFound")
    merged = parse_query(query_string)
    content_type = (header(pairs, "content-type") or "").split(";")[0].strip().lower()
    if body and content_type == FORM:
        merged += parse_query(body)
    protocol = {k: v for k, v in merged if k in PROTOCOL_PARAMS}
    # The query wins over the headers: both signatures cover it, while v1 leaves the headers unsigned.
    wanted_version = protocol.get("Version") or header(pairs, "x-acs-version")
    if not wanted_version:
        raise missing_common_parameter("Version")
    if wanted_version != version:
        raise AcsError.of("InvalidVersion")
    action = protocol.get("Action") or header(pairs, "x-acs-action")
    if not action:
        raise missing_common_parameter("Action")
    if action not in actions:
        raise AcsError.of("InvalidAction.NotFound")
    params = _fold_flat_arrays([(k, v) for k, v in merged if k not in PROTOCOL_PARAMS])
    return RpcRequest(action, wanted_version, params, protocol)


def _fold_flat_arrays(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """``Status.1=A&Status.2=B`` -> ``Status=["A","B"]`` (ordered by index); other pairs: the last value wins."""
    params: dict[str, str] = {}
    flat: dict[str, dict[int, str]] = {}
    for key, value in pairs:
        match = _FLAT.match(key)
        if match:
            flat.setdefault(match["name"], {})[int(match["index"])] = value
        else:
            params[key] = value
    for name, items in flat.items():
        if name in params:
            # Both forms at once: the gateway could not tell which is meant.
            raise invalid_parameter(name, params[name])
        params[name] = compact_json([items[i] for i in sorted(items)])
    return params


# -- parameter encodings --------------------------------------------------------------------------
def compact_json(value: Any) -> str:
    """JSON text as the SDK writes it (no spaces, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_array(name: str, text: str) -> list:
    """A JSON-text array parameter. Only the compact form the SDK sends is accepted (see the notes)."""
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid_parameter(name, text) from None
    if not isinstance(value, list) or compact_json(value) != text:
        raise invalid_parameter(name, text)
    return value


def boolean(name: str, text: str) -> bool:
    """``true``/``false`` in any case: the Python SDK sends ``True``, other SDKs ``true``."""
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise invalid_parameter(name, text)
    return lowered == "true"


def integer(name: str, text: str, *, minimum: int, maximum: int) -> int:
    if not _INTEGER.match(text) or not minimum <= int(text) <= maximum:
        raise invalid_parameter(name, text)
    return int(text)


def encode_value(value: Any) -> str:
    """A parameter value as the SDK sends it: arrays and objects as compact JSON text, ``True``/``False``."""
    if isinstance(value, (list, tuple, dict)):
        return compact_json(value)
    return str(value)


# -- the reverse: a wire request for a real target ------------------------------------------------
@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def query_string(self) -> str:
        """URL-encoded as the SDK does it (``urlencode``: a space is ``+``, ``:`` is ``%3A``)."""
        return urlencode(self.query)

    @property
    def target(self) -> str:
        """The request target: path plus query."""
        return self.path + ("?" + self.query_string if self.query else "")


def encode_request(action: str, params: Mapping[str, Any], *, host: str, version: str = VERSION,
                   credentials: tuple[str, str] | None = None, date: str | None = None,
                   nonce: str | None = None, extra_headers: Mapping[str, str] | None = None) -> WireRequest:
    """The SDK's default wire form of ``action``: ``POST /``, sorted query, ``x-acs-*`` headers, ACS3-signed
    when ``credentials`` (access key id, secret) are given. ``None`` parameters are left out."""
    query = tuple(sorted((k, encode_value(v)) for k, v in params.items() if v is not None))
    headers = request_headers(action, version, host, query, credentials=credentials, date=date, nonce=nonce,
                              extra_headers=extra_headers)
    return WireRequest("POST", "/", query, headers)


def request_headers(action: str, version: str, host: str, query: Sequence[tuple[str, str]], *, method: str = "POST",
                    credentials: tuple[str, str] | None = None, date: str | None = None, nonce: str | None = None,
                    extra_headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The SDK's common headers for ``method /?query`` calling ``action``, with the ACS3 Authorization over
    them when ``credentials`` are given (the contract hooks sign the query exactly as it is sent)."""
    headers = {
        "host": host,
        "x-acs-version": version,
        "x-acs-action": action,
        "x-acs-date": date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "accept": "application/json",
        **(extra_headers or {}),
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    if credentials is not None:
        headers["Authorization"] = _signature.sign_acs3(method, "/", query, headers, *credentials)
    return headers
