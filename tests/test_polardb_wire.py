"""The official PolarDB SDK against the pure core: what it sends decodes to the right action and
parameters, its signatures (ACS3 and v1) verify, and every kind of tampering is refused."""

from __future__ import annotations

import calendar
import time

import pytest
from alibabacloud_polardb20170801 import models
from alibabacloud_polardb20170801.client import Client
from alibabacloud_tea_openapi import models as open_api_models

from mock_server.apis.polardb import signature, wire
from mock_server.apis.polardb.errors import AcsError
from tests.polardb_capture import PROXY_VARIABLES, Captured, CaptureServer

KEY, SECRET = "testAccessKeyId", "testAccessKeySecret"
SECRETS = {KEY: SECRET, "otherAccessKeyId": "otherAccessKeySecret"}
ALL_STATUSES = ["COMPLETED", "DISPATCHING", "FAILED", "RUNNING"]


@pytest.fixture(scope="module")
def capture():
    with pytest.MonkeyPatch.context() as patch:
        # The SDK sends even loopback traffic through an environment proxy.
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        with CaptureServer() as server:
            yield server


def sdk(capture: CaptureServer, **config) -> Client:
    return Client(open_api_models.Config(access_key_id=config.pop("key", KEY),
                                         access_key_secret=config.pop("secret", SECRET),
                                         endpoint=capture.endpoint, protocol="http", **config))


def sent_at(request: Captured) -> float:
    """The request's own timestamp, so verification runs at the moment it was signed."""
    stamp = request.header("x-acs-date") or dict(wire.parse_query(request.query_string))["Timestamp"]
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def verify(request: Captured, *, nonces=None, now=None, method=None, query=None, headers=None, body=None,
           secrets=SECRETS) -> signature.Verdict:
    return signature.verify(method or request.method, request.path,
                            request.query_string if query is None else query,
                            request.headers if headers is None else headers,
                            request.body if body is None else body,
                            secret_for=secrets.get, nonces=set() if nonces is None else nonces,
                            now=sent_at(request) if now is None else now)


def decode(request: Captured) -> wire.RpcRequest:
    return wire.decode(request.method, request.path, request.query_string, request.headers, request.body)


def list_every_filter(client: Client) -> None:
    client.describe_batch_tasks(models.DescribeBatchTasksRequest(
        task_type="polarclaw_install_skills", status=ALL_STATUSES, start_time="2026-11-22T04:20Z",
        end_time="2026-11-22T06:20:48Z", page_size=10, page_number=2))


def test_create_batch_task_decodes_to_its_action_and_json_text_arrays(capture):
    sdk(capture).create_batch_task(models.CreateBatchTaskRequest(
        region_id="cn-hangzhou", task_name="batch_task_test", task_type="polarclaw_install_skills",
        instance_ids=["pa-example1", "pa-example2"], param='[{"skillName":"github","version":"1.0.0"}]',
        application_type="polarclaw"))
    request = capture.last()
    call = decode(request)
    assert (request.method, request.path, request.body) == ("POST", "/", b"")
    assert call.action == "CreateBatchTask" and call.version == "2017-08-01"
    assert call.params == {"RegionId": "cn-hangzhou", "TaskName": "batch_task_test",
                           "TaskType": "polarclaw_install_skills", "InstanceIds": '["pa-example1","pa-example2"]',
                           "Param": '[{"skillName":"github","version":"1.0.0"}]', "ApplicationType": "polarclaw"}
    assert call.protocol == {} and call.virtual_path == "/rpc/polardb/CreateBatchTask"
    assert verify(request).ok, verify(request).error


def test_describe_batch_tasks_with_every_filter_decodes_and_verifies(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    assert decode(request).params == {
        "TaskType": "polarclaw_install_skills", "Status": '["COMPLETED","DISPATCHING","FAILED","RUNNING"]',
        "StartTime": "2026-11-22T04:20Z", "EndTime": "2026-11-22T06:20:48Z", "PageSize": "10", "PageNumber": "2"}
    verdict = verify(request)
    assert verdict.ok and verdict.access_key_id == KEY and verdict.algorithm == "ACS3-HMAC-SHA256", verdict.error


def test_empty_status_list_is_sent_and_decoded_as_an_empty_json_array(capture):
    sdk(capture).describe_batch_tasks(models.DescribeBatchTasksRequest(status=[]))
    assert decode(capture.last()).params == {"Status": "[]"}
    assert verify(capture.last()).ok


def test_describe_batch_task_and_a_call_without_arguments_verify(capture):
    client = sdk(capture)
    client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id="pcb-xxx"))
    assert decode(capture.last()).params == {"BatchId": "pcb-xxx"}
    assert verify(capture.last()).ok
    client.describe_batch_tasks(models.DescribeBatchTasksRequest())
    assert capture.last().query_string == b"" and decode(capture.last()).params == {}
    assert verify(capture.last()).ok


def test_python_booleans_arrive_capitalised_and_parse(capture):
    sdk(capture).install_polar_claw_skill(models.InstallPolarClawSkillRequest(
        application_id="pa-example1", slug="github", force=True))
    params = decode(capture.last()).params
    assert params["Force"] == "True" and wire.boolean("Force", params["Force"]) is True
    assert verify(capture.last()).ok


def test_v1_signature_from_the_sdk_is_accepted_and_its_protocol_parameters_are_set_apart(capture):
    list_every_filter(sdk(capture, signature_algorithm="v2"))
    request = capture.last()
    call = decode(request)
    assert set(call.protocol) == {"Action", "Format", "Version", "Timestamp", "SignatureNonce", "SignatureMethod",
                                  "SignatureVersion", "AccessKeyId", "Signature"}
    assert call.action == "DescribeBatchTasks"
    assert call.params["Status"] == '["COMPLETED","DISPATCHING","FAILED","RUNNING"]'
    verdict = verify(request)
    assert verdict.ok and verdict.algorithm == "HMAC-SHA1" and verdict.access_key_id == KEY, verdict.error


def test_v1_action_is_read_from_the_query_when_no_header_carries_it(capture):
    sdk(capture, signature_algorithm="v2").describe_batch_task(models.DescribeBatchTaskRequest(batch_id="pcb-1"))
    request = capture.last()
    headers = [(k, v) for k, v in request.headers if not k.lower().startswith("x-acs-")]
    call = wire.decode(request.method, request.path, request.query_string, headers)
    assert (call.action, call.params) == ("DescribeBatchTask", {"BatchId": "pcb-1"})


# -- tampering -----------------------------------------------------------------------------------
def refusal(verdict: signature.Verdict) -> tuple[int, str]:
    assert verdict.error is not None, "a tampered request was accepted"
    return verdict.error.status, verdict.error.code


def test_tampered_query_value_is_signature_does_not_match(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    tampered = request.query_string.replace(b"PageSize=10", b"PageSize=11")
    assert refusal(verify(request, query=tampered)) == (400, "SignatureDoesNotMatch")


def test_added_query_parameter_is_signature_does_not_match(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    assert refusal(verify(request, query=request.query_string + b"&RegionId=cn-beijing")) == (
        400, "SignatureDoesNotMatch")


def test_tampered_signed_header_is_signature_does_not_match(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    headers = [(k, "DescribeBatchTask" if k.lower() == "x-acs-action" else v) for k, v in request.headers]
    assert refusal(verify(request, headers=headers)) == (400, "SignatureDoesNotMatch")


def test_changed_method_or_body_is_signature_does_not_match(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    assert refusal(verify(request, method="GET")) == (400, "SignatureDoesNotMatch")
    assert refusal(verify(request, body=b"Status=x")) == (400, "SignatureDoesNotMatch")


def test_wrong_secret_is_signature_does_not_match_for_both_signatures(capture):
    for config in ({}, {"signature_algorithm": "v2"}):
        list_every_filter(sdk(capture, secret="not-the-secret", **config))
        assert refusal(verify(capture.last())) == (400, "SignatureDoesNotMatch")


def test_v1_mismatch_message_carries_the_servers_string_to_sign(capture):
    list_every_filter(sdk(capture, secret="not-the-secret", signature_algorithm="v2"))
    error = verify(capture.last()).error
    assert error.message.startswith("Specified signature is not matched with our calculation. "
                                    "server string to sign is:POST&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3D")


def test_unknown_access_key_is_404_not_found(capture):
    for config in ({}, {"signature_algorithm": "v2"}):
        list_every_filter(sdk(capture, key="noSuchKey", **config))
        assert refusal(verify(capture.last())) == (404, "InvalidAccessKeyId.NotFound")


def test_replayed_nonce_is_refused_the_second_time(capture):
    for config in ({}, {"signature_algorithm": "v2"}):
        list_every_filter(sdk(capture, **config))
        seen: set[str] = set()
        assert verify(capture.last(), nonces=seen).ok
        assert refusal(verify(capture.last(), nonces=seen)) == (400, "SignatureNonceUsed")


def test_a_refused_request_does_not_use_up_its_nonce(capture):
    list_every_filter(sdk(capture))
    request, seen = capture.last(), set()
    verify(request, nonces=seen, query=request.query_string + b"&x=1")
    assert verify(request, nonces=seen).ok


def test_timestamp_more_than_15_minutes_off_the_virtual_clock_is_expired(capture):
    for config in ({}, {"signature_algorithm": "v2"}):
        list_every_filter(sdk(capture, **config))
        request = capture.last()
        assert verify(request, now=sent_at(request) + 15 * 60).ok
        assert refusal(verify(request, now=sent_at(request) + 15 * 60 + 1)) == (400, "InvalidTimeStamp.Expired")
        assert refusal(verify(request, now=sent_at(request) - 16 * 60)) == (400, "InvalidTimeStamp.Expired")


def test_missing_authorization_is_incomplete_signature(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    headers = [(k, v) for k, v in request.headers if k.lower() != "authorization"]
    assert refusal(verify(request, headers=headers)) == (400, "IncompleteSignature")


def test_unsigned_acs_header_is_incomplete_signature(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    headers = [(k, v.replace("x-acs-date;", "")) if k.lower() == "authorization" else (k, v)
               for k, v in request.headers]
    assert refusal(verify(request, headers=headers)) == (400, "IncompleteSignature")


def test_malformed_date_is_timestamp_format(capture):
    list_every_filter(sdk(capture))
    request = capture.last()
    headers = [(k, "yesterday" if k.lower() == "x-acs-date" else v) for k, v in request.headers]
    assert refusal(verify(request, headers=headers)) == (400, "InvalidTimeStamp.Format")


def test_v1_without_signature_is_missing_signature(capture):
    list_every_filter(sdk(capture, signature_algorithm="v2"))
    request = capture.last()
    query = b"&".join(p for p in request.query_string.split(b"&") if not p.startswith(b"Signature="))
    assert refusal(verify(request, query=query)) == (400, "MissingSignature")


# -- the gateway's routing errors ----------------------------------------------------------------
def routing_error(**changes) -> tuple[int, str]:
    request = {"method": "POST", "path": "/", "query_string": b"BatchId=pcb-1",
               "headers": {"x-acs-action": "DescribeBatchTask", "x-acs-version": "2017-08-01"}, **changes}
    with pytest.raises(AcsError) as caught:
        wire.decode(**request)
    return caught.value.status, caught.value.code


def test_unknown_action_wrong_version_method_and_path_get_the_gateways_answers():
    assert routing_error(headers={"x-acs-action": "CancelBatchTask", "x-acs-version": "2017-08-01"}) == (
        404, "InvalidAction.NotFound")
    assert routing_error(headers={"x-acs-action": "DescribeBatchTask", "x-acs-version": "2019-01-01"}) == (
        400, "InvalidVersion")
    assert routing_error(headers={"x-acs-action": "DescribeBatchTask"}) == (400, "MissingParameter")
    assert routing_error(headers={"x-acs-version": "2017-08-01"}) == (400, "MissingParameter")
    assert routing_error(method="DELETE") == (403, "UnsupportedHTTPMethod")
    assert routing_error(path="/v1/batch") == (404, "InvalidApi.NotFound")


def test_flat_arrays_fold_into_json_text_and_a_form_body_counts():
    call = wire.decode("POST", "/", b"Status.2=FAILED&Status.1=RUNNING&Status.10=COMPLETED",
                       {"x-acs-action": "DescribeBatchTasks", "x-acs-version": "2017-08-01",
                        "content-type": "application/x-www-form-urlencoded; charset=utf-8"}, b"PageSize=5")
    assert call.params == {"Status": '["RUNNING","FAILED","COMPLETED"]', "PageSize": "5"}


def test_both_array_forms_at_once_are_invalid():
    assert routing_error(query_string=b'Status=["RUNNING"]&Status.1=FAILED',
                         headers={"x-acs-action": "DescribeBatchTasks", "x-acs-version": "2017-08-01"}) == (
        400, "InvalidParameter")


def test_booleans_parse_in_any_case_and_nothing_else():
    assert [wire.boolean("Force", v) for v in ("True", "true", "FALSE", "false")] == [True, True, False, False]
    with pytest.raises(AcsError):
        wire.boolean("Force", "yes")


def test_encode_request_builds_what_the_sdk_sends_and_the_verifier_accepts(capture):
    list_every_filter(sdk(capture))
    sent = capture.last()
    built = wire.encode_request(
        "DescribeBatchTasks",
        {"TaskType": "polarclaw_install_skills", "Status": ALL_STATUSES, "StartTime": "2026-11-22T04:20Z",
         "EndTime": "2026-11-22T06:20:48Z", "PageSize": 10, "PageNumber": 2, "RegionId": None},
        host=capture.endpoint, credentials=(KEY, SECRET), date=sent.header("x-acs-date"),
        nonce=sent.header("x-acs-signature-nonce"))
    assert (built.method, built.path) == ("POST", "/")
    assert built.query_string.encode() == sent.query_string and built.target == "/?" + built.query_string
    verdict = signature.verify(built.method, built.path, built.query_string, built.headers, built.body,
                               secret_for=SECRETS.get, nonces=set(), now=sent_at(sent))
    assert verdict.ok, verdict.error
    assert wire.decode(built.method, built.path, built.query_string, built.headers).params == decode(sent).params


def test_a_v1_requests_unsigned_action_header_cannot_reroute_it(capture):
    sdk(capture, signature_algorithm="v2").describe_batch_task(models.DescribeBatchTaskRequest(batch_id="pcb-1"))
    request = capture.last()
    headers = [(k, "CreateBatchTask" if k.lower() == "x-acs-action" else v) for k, v in request.headers]
    assert wire.decode(request.method, request.path, request.query_string, headers).action == "DescribeBatchTask"
