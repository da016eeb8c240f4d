"""The harness' PolarDB adapter puts Schemathesis' virtual-path requests on the RPC wire and signs
them so that the mock's own decoder and verifier accept them (no server needed)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests

from contract_tests.apis.polardb import KEY_ID, KEY_SECRET, PLACEHOLDER, WireAuth
from mock_server.apis.polardb import signature, wire


def prepared(authorization: str | None) -> requests.PreparedRequest:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.Request("POST", "http://127.0.0.1:9999/rpc/polardb/DescribeBatchTasks",
                            params={"RegionId": "cn-hangzhou", "Status": '["RUNNING"]'}, headers=headers).prepare()


def test_a_virtual_path_request_goes_out_on_the_rpc_wire_signed_as_the_mock_verifies(monkeypatch):
    monkeypatch.setenv(KEY_ID, "testAccessKeyId")
    monkeypatch.setenv(KEY_SECRET, "testAccessKeySecret")
    sent = WireAuth("DescribeBatchTasks", wire.VERSION, on_wire=True)(prepared(PLACEHOLDER))
    url = urlsplit(sent.url)
    assert (sent.method, url.path) == ("POST", "/")
    decoded = wire.decode(sent.method, url.path, url.query, dict(sent.headers))
    assert decoded.action == "DescribeBatchTasks"
    assert decoded.params == {"RegionId": "cn-hangzhou", "Status": '["RUNNING"]'}
    verdict = signature.verify(sent.method, url.path, url.query, dict(sent.headers), b"",
                               secret_for={"testAccessKeyId": "testAccessKeySecret"}.get, nonces=set(),
                               now=time.time())
    assert verdict.ok and verdict.access_key_id == "testAccessKeyId", verdict.error


def test_requests_without_the_placeholder_credential_go_out_unsigned(monkeypatch):
    """What ignored_auth sends (no or broken credentials) must reach the API unsigned."""
    monkeypatch.setenv(KEY_ID, "testAccessKeyId")
    monkeypatch.setenv(KEY_SECRET, "testAccessKeySecret")
    for authorization in (None, "invalid"):
        sent = WireAuth("DescribeBatchTasks", wire.VERSION, on_wire=True)(prepared(authorization))
        assert "Authorization" not in sent.headers and sent.headers["x-acs-action"] == "DescribeBatchTasks"
