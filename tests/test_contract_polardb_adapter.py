"""PolarDB's contract hooks (the harness' one implementation of the RPC wire) sign a request so that
the mock's own decoder and verifier accept it, and leave Authorization out where the case is about
its absence (no server needed)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from mock_server.apis.polardb import contract_hooks, signature, wire

RPC = {"action": "DescribeBatchTasks", "version": wire.VERSION}
QUERY = [("RegionId", "cn-hangzhou"), ("Status", '["RUNNING"]')]


def case(parameter: str = "", scenario: str = "") -> SimpleNamespace:
    data = SimpleNamespace(parameter=parameter, scenario=SimpleNamespace(name=scenario))
    return SimpleNamespace(meta=SimpleNamespace(phase=SimpleNamespace(data=data)))


def test_a_case_goes_out_on_the_rpc_wire_signed_as_the_mock_verifies(monkeypatch):
    monkeypatch.setenv(contract_hooks.KEY_ID, "testAccessKeyId")
    monkeypatch.setenv(contract_hooks.KEY_SECRET, "testAccessKeySecret")
    headers = contract_hooks.wire_headers(case(), "POST", "127.0.0.1:9999", QUERY, RPC)
    query = "RegionId=cn-hangzhou&Status=%5B%22RUNNING%22%5D"
    decoded = wire.decode("POST", "/", query, headers)
    assert decoded.action == "DescribeBatchTasks"
    assert decoded.params == {"RegionId": "cn-hangzhou", "Status": '["RUNNING"]'}
    verdict = signature.verify("POST", "/", query, headers, b"",
                               secret_for={"testAccessKeyId": "testAccessKeySecret"}.get, nonces=set(),
                               now=time.time())
    assert verdict.ok and verdict.access_key_id == "testAccessKeyId", verdict.error


def test_a_case_about_a_missing_authorization_goes_out_unsigned():
    headers = contract_hooks.wire_headers(case("Authorization", "MISSING_PARAMETER"), "POST", "h", QUERY, RPC)
    assert "Authorization" not in headers and headers["x-acs-action"] == "DescribeBatchTasks"
