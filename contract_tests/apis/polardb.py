"""Alibaba Cloud PolarDB (RPC): every request on the RPC wire, ACS3-HMAC-SHA256-signed.

Schemathesis generates each action on its virtual path ``/rpc/polardb/<Action>`` (the merged
spec's form). Just before sending, a ``requests`` auth rewrites it onto the wire the real service
and the mock's decoder speak (``POST /``, ``x-acs-action``/``x-acs-version``, the parameters in
the query) with ``mock_server.apis.polardb.wire.encode_request`` and signs it with
``signature.sign_acs3`` -- the same code the mock verifies with. It signs only a request that
still carries the config's placeholder ``Authorization``: the requests Schemathesis sends without
or with broken credentials (``ignored_auth``) go out unsigned, as they should.
Against a mock that does not decode the wire yet, requests stay on the virtual path (signed).

Plug-in point for a hooks module written for PolarDB elsewhere: replace ``WireAuth`` (or
``request_auth``) with a thin wrapper around its mapping/signing function.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import requests

from contract_tests.apis import Adapter, Resource, Target
from mock_server.apis.polardb import signature, wire

KEY_ID, KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
PLACEHOLDER = "ACS3-HMAC-SHA256 (signed per request by contract_tests)"


def _mock_speaks_wire() -> bool:
    from mock_server.vendor import discover

    return any(v.name == "polardb" and v.wire is not None for v in discover())


class WireAuth(requests.auth.AuthBase):
    """Rewrites a virtual-path request onto the RPC wire (if ``on_wire``) and signs it."""

    def __init__(self, action: str, version: str, on_wire: bool) -> None:
        self.action, self.version, self.on_wire = action, version, on_wire

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed = request.headers.get("Authorization") == PLACEHOLDER
        credentials = (os.environ.get(KEY_ID, ""), os.environ.get(KEY_SECRET, "")) if signed else None
        url = urlsplit(request.url)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        request.headers.pop("Authorization", None)
        if self.on_wire:
            routed = wire.encode_request(self.action, params, host=url.netloc, version=self.version,
                                         credentials=credentials)
            request.method = routed.method
            request.url = f"{url.scheme}://{url.netloc}{routed.target}"
            for name, value in routed.headers.items():
                request.headers[name] = value
        elif credentials is not None:
            headers = {"host": url.netloc, "x-acs-content-sha256": signature.hashlib.sha256(
                request.body if isinstance(request.body, bytes) else (request.body or "").encode()).hexdigest()}
            request.headers.update(headers)
            request.headers["Authorization"] = signature.sign_acs3(
                request.method, url.path, parse_qsl(url.query, keep_blank_values=True), headers, *credentials)
        return request


class PolarDB(Adapter):
    def read_only(self, method: str, operation: dict) -> bool:
        action = (operation.get("x-rpc") or {}).get("action", operation.get("operationId", ""))
        return action.startswith(("Describe", "List", "Get"))

    def prepare(self, target: Target) -> dict:
        return {"wire": _mock_speaks_wire() if target.is_mock else True}

    def created(self, case, response) -> list[Resource]:
        """CreateBatchTask's batches: PolarDB has no action that cancels or deletes one (listed)."""
        if case.operation.definition.raw.get("operationId") != "CreateBatchTask" or response.status_code != 200:
            return []
        try:
            batch = response.json().get("BatchId")
        except (ValueError, AttributeError):
            return []
        return [Resource("batch", str(batch))] if batch else []

    def request_auth(self, case, data: dict):
        rpc = case.operation.definition.raw.get("x-rpc") or {}
        if not rpc:
            return None
        return WireAuth(rpc["action"], rpc.get("version", wire.VERSION), bool(data.get("wire")))


adapter = PolarDB(
    "polardb",
    credentials={KEY_ID: "testAccessKeyId", KEY_SECRET: "testAccessKeySecret"},
    auth={"openapi": {"AcsSignatureV3": {"api_key": PLACEHOLDER}}},
)
