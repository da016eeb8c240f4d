"""PolarDB batch tasks on a served mock (``python -m mock_server serve``), driven by the official SDK
unchanged, by raw signed requests, and by a v1 HMAC-SHA1 query signature computed here by hand."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import time
from urllib.parse import quote, urlencode

import httpx
import pytest
from alibabacloud_polardb20170801 import models
from alibabacloud_polardb20170801.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from Tea.exceptions import TeaException

from mock_server.apis.polardb import signature, wire
from tests.polardb_capture import PROXY_VARIABLES

KEY, SECRET = "testAccessKeyId", "testAccessKeySecret"
OTHER_KEY, OTHER_SECRET = "otherAccessKeyId", "otherAccessKeySecret"
MINE = ["pa-bp1dev0000000001", "pa-bp1dev0000000002"]
THEIRS = "pa-bp1ops0000000001"   # the second account's application
SEEDED_MINE = {"pcb-seed0completed01", "pcb-seed0failed00002", "pcb-seed0running0003", "pcb-seed0dispatch004"}
LIST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DETAIL_TIME = re.compile(r"^\d{4}/\d{2}/\d{2}T\d{2}:\d{2}:\d{2}Z$")
REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """The SDK sends even loopback requests through HTTP(S)_PROXY: a local server needs them unset."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mock(serve, tmp_path):
    """A strict mock whose virtual clock stands still at the wall time (the SDK signs with wall time)."""
    return serve("--strict", "--frozen-clock", "--state", str(tmp_path / "state.sqlite"))


def sdk(server, key: str = KEY, secret: str = SECRET, **config) -> Client:
    return Client(open_api_models.Config(access_key_id=key, access_key_secret=secret,
                                         endpoint=server.url.removeprefix("http://"), protocol="http", **config))


def advance(server, seconds: float) -> None:
    assert server.client().post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


def refused(call, *args) -> TeaException:
    with pytest.raises(ClientException) as caught:
        call(*args)
    assert isinstance(caught.value, TeaException)
    assert REQUEST_ID.match(caught.value.request_id), caught.value.data
    return caught.value


def create(client: Client, instances=MINE, task_type="polarclaw_install_skills", **extra) -> str:
    param = '[{"skillName":"github","version":"1.0.0"}]' if task_type == "polarclaw_install_skills" else '["github"]'
    body = client.create_batch_task(models.CreateBatchTaskRequest(
        region_id="cn-hangzhou", task_name="sdk_test", task_type=task_type, instance_ids=list(instances),
        param=param, **extra)).body
    assert body.batch_id.startswith("pcb-") and REQUEST_ID.match(body.request_id)
    return body.batch_id


def listing(client: Client, **filters) -> models.DescribeBatchTasksResponseBody:
    return client.describe_batch_tasks(models.DescribeBatchTasksRequest(**filters)).body


# -- the SDK: create, list, page, detail, lifecycle -------------------------------------------------
def test_create_then_follow_one_batch_through_its_lifecycle_with_the_sdk(mock):
    client = sdk(mock)
    batch_id = create(client, instances=[*MINE, THEIRS])
    detail = client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=batch_id)).body
    assert (detail.status, detail.total_count, detail.success_count) == ("DISPATCHING", 3, 0)
    assert [s.status for s in detail.sub_tasks] == ["WAITING"] * 3
    assert [s.instance_id for s in detail.sub_tasks] == [*MINE, THEIRS]
    assert DETAIL_TIME.match(detail.task_begin) and detail.task_end == ""
    advance(mock, 2)
    detail = client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=batch_id)).body
    assert detail.status == "RUNNING" and detail.sub_tasks[0].status == "RUNNING"
    assert DETAIL_TIME.match(detail.sub_tasks[0].task_begin) and detail.sub_tasks[1].task_begin == ""
    advance(mock, 60)
    detail = client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=batch_id)).body
    # The other account's application fails its sub-task, so the batch fails.
    assert detail.status == "FAILED" and DETAIL_TIME.match(detail.task_end)
    unowned = detail.sub_tasks[2]
    assert unowned.status == "FAILED" and f"{THEIRS} does not exist or does not belong" in unowned.error_msg
    assert detail.success_count == sum(s.status == "COMPLETED" for s in detail.sub_tasks) >= 1
    assert all(s.status in ("COMPLETED", "FAILED") and s.task_end for s in detail.sub_tasks)
    entry = next(e for e in listing(client).task_list if e.batch_id == batch_id)
    assert (entry.status, entry.total_count, entry.success_count) == ("FAILED", 3, detail.success_count)
    assert LIST_TIME.match(entry.task_begin) and LIST_TIME.match(entry.task_end)


def test_list_without_filters_shows_the_accounts_own_batches_newest_first(mock):
    client = sdk(mock)
    newest = create(client)
    page = listing(client)
    assert [e.batch_id for e in page.task_list][0] == newest
    assert {e.batch_id for e in page.task_list} == SEEDED_MINE | {newest}
    assert (page.total_count, page.page_size, page.page_number) == (5, 30, 1)


def test_list_filters_by_task_type_status_and_creation_window(mock):
    client = sdk(mock)
    uninstall = create(client, task_type="polarclaw_uninstall_skills")
    assert {e.batch_id for e in listing(client, task_type="polarclaw_uninstall_skills").task_list} == {
        uninstall, "pcb-seed0failed00002"}
    for status in ("COMPLETED", "DISPATCHING", "FAILED", "RUNNING"):
        page = listing(client, status=[status])
        assert page.task_list and {e.status for e in page.task_list} == {status}, status
    both = listing(client, status=["RUNNING", "COMPLETED"])
    assert {e.batch_id for e in both.task_list} == {"pcb-seed0running0003", "pcb-seed0completed01"}
    assert listing(client, status=[]).total_count == 5   # the SDK's empty list: every status
    now = mock.client().get("/__admin/clock").json()["now"]
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    window = listing(client, start_time=time.strftime(fmt, time.gmtime(now - 3 * 3600)),
                     end_time=time.strftime(fmt, time.gmtime(now - 300)))
    assert {e.batch_id for e in window.task_list} == {"pcb-seed0failed00002", "pcb-seed0running0003"}
    since = listing(client, start_time=time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(now - 90)))   # no seconds
    assert {e.batch_id for e in since.task_list} == {"pcb-seed0dispatch004", uninstall}


def test_pages_carry_the_total_ignoring_paging(mock):
    client = sdk(mock)
    pages = [listing(client, page_size=2, page_number=n) for n in (1, 2, 3)]
    assert [len(p.task_list) for p in pages] == [2, 2, 0]
    assert all((p.total_count, p.page_size) == (4, 2) for p in pages)
    assert {e.batch_id for p in pages for e in p.task_list} == SEEDED_MINE
    assert listing(client, page_size=100).total_count == 4


def test_the_second_account_sees_only_its_own_batches_and_not_ours(mock):
    other = sdk(mock, OTHER_KEY, OTHER_SECRET)
    assert [e.batch_id for e in listing(other).task_list] == ["pcb-seed0opsfailed05"]
    mine = create(sdk(mock))
    error = refused(other.describe_batch_task, models.DescribeBatchTaskRequest(batch_id=mine))
    assert (error.code, error.status_code) == ("InvalidBatchId.NotFound", 404)


def test_polarclaw_skill_install_and_task_on_owned_applications_only(mock):
    client = sdk(mock)
    installed = client.install_polar_claw_skill(models.InstallPolarClawSkillRequest(
        application_id=MINE[0], slug="alibacloud-rds-copilot")).body
    assert (installed.ok, installed.code, installed.version, installed.target_dir) == (
        True, 200, "1.2.0", "/home/node/.openclaw/skills/alibacloud-rds-copilot")
    again = client.install_polar_claw_skill(models.InstallPolarClawSkillRequest(
        application_id=MINE[0], slug="alibacloud-rds-copilot")).body
    assert again.ok is False and "already installed" in again.message
    forced = client.install_polar_claw_skill(models.InstallPolarClawSkillRequest(
        application_id=MINE[0], slug="alibacloud-rds-copilot", force=True)).body   # sent as Force=True
    assert forced.ok is True
    error = refused(client.install_polar_claw_skill, models.InstallPolarClawSkillRequest(
        application_id=THEIRS, slug="github"))
    assert (error.code, error.status_code) == ("Forbidden.InstanceNotFound", 404)
    task = client.describe_polar_claw_task(models.DescribePolarClawTaskRequest(
        application_id=MINE[0], task_id="3f2b8c1e-7d4a-4e6b-9a0c-5d1e2f3a4b5c")).body
    assert (task.code, task.task.state, task.task.result) == (200, "succeeded", {"channel": "dingtalk",
                                                                                 "loggedIn": True})
    error = refused(client.describe_polar_claw_task, models.DescribePolarClawTaskRequest(
        application_id=MINE[0], task_id="00000000-0000-4000-8000-000000000000"))
    assert (error.code, error.status_code) == ("InvalidTaskId.NotFound", 404)


# -- the SDK: bad input and bad credentials ---------------------------------------------------------
@pytest.mark.parametrize(("request_args", "code", "named"), [
    ({"status": ["BOGUS"]}, "InvalidParameter", '"Status" is not valid: BOGUS'),
    ({"page_size": 0}, "InvalidParameter", '"PageSize"'),
    ({"page_size": -1}, "InvalidParameter", '"PageSize"'),
    ({"page_size": 101}, "InvalidParameter", '"PageSize"'),
    ({"page_number": 0}, "InvalidParameter", '"PageNumber"'),
    ({"start_time": "2026-01-01 00:00:00"}, "InvalidParameter", '"StartTime"'),
    ({"end_time": "2026-02-30T00:00Z"}, "InvalidParameter", '"EndTime"'),
    ({"task_type": "polarclaw_reboot"}, "InvalidParameter", '"TaskType"'),
])
def test_bad_list_input_surfaces_as_the_sdks_client_exception(mock, request_args, code, named):
    error = refused(sdk(mock).describe_batch_tasks, models.DescribeBatchTasksRequest(**request_args))
    assert (error.code, error.status_code) == (code, 400) and named in error.data["Message"], error.data


def test_bad_create_and_detail_input_and_an_unknown_batch(mock):
    client = sdk(mock)
    error = refused(client.create_batch_task, models.CreateBatchTaskRequest(region_id="cn-hangzhou",
                                                                            task_name="x"))
    assert (error.code, error.status_code, error.data["Message"]) == (
        "MissingParameter", 400, "TaskType is mandatory for this action.")
    error = refused(client.create_batch_task, models.CreateBatchTaskRequest(
        region_id="cn-hangzhou", task_name="x", task_type="polarclaw_install_skills", instance_ids=MINE,
        param='["github"]'))   # an uninstall list for an install
    assert (error.code, error.status_code) == ("InvalidParameter", 400) and '"Param"' in error.data["Message"]
    error = refused(client.describe_batch_task, models.DescribeBatchTaskRequest())
    assert (error.code, error.status_code) == ("MissingParameter", 400)
    error = refused(client.describe_batch_task, models.DescribeBatchTaskRequest(batch_id="pcb-nosuchbatch"))
    assert (error.code, error.status_code) == ("InvalidBatchId.NotFound", 404)


def test_bad_credentials_surface_with_the_gateways_codes(mock):
    error = refused(sdk(mock, key="nobody").describe_batch_tasks, models.DescribeBatchTasksRequest())
    assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    error = refused(sdk(mock, secret="wrong").describe_batch_tasks, models.DescribeBatchTasksRequest())
    assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)
    host = mock.url.removeprefix("http://")
    assert error.data["HostId"] == host and error.data["Recommend"].endswith(f"requestId={error.request_id}")
    error = refused(sdk(mock, secret="wrong", signature_algorithm="v2").describe_batch_tasks,
                    models.DescribeBatchTasksRequest())
    assert error.code == "SignatureDoesNotMatch" and "server string to sign is:POST&%2F&" in error.data["Message"]


def test_the_older_v1_signature_works_through_the_sdk(mock):
    client = sdk(mock, signature_algorithm="v2")
    assert create(client).startswith("pcb-")
    assert listing(client, status=["DISPATCHING"]).total_count == 2


# -- raw requests: the gateway's protocol checks ----------------------------------------------------
def signed(server, action: str, params: dict, *, key=KEY, secret=SECRET, date=None, nonce=None) -> wire.WireRequest:
    now = server.client().get("/__admin/clock").json()["now"]
    return wire.encode_request(action, params, host=server.url.removeprefix("http://"), credentials=(key, secret),
                               date=date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), nonce=nonce)


def send(server, request: wire.WireRequest, **changes) -> httpx.Response:
    headers = {**request.headers, **changes}
    return server.client().post(request.target, headers={k: v for k, v in headers.items() if v is not None})


def answer(response: httpx.Response) -> tuple[int, str | None]:
    body = response.json()
    assert REQUEST_ID.match(body["RequestId"]), body
    return response.status_code, body.get("Code")


def test_missing_signature_replayed_nonce_and_clock_skew(mock):
    request = signed(mock, "DescribeBatchTasks", {"PageSize": 1})
    assert answer(send(mock, request, Authorization=None)) == (400, "IncompleteSignature")
    assert answer(send(mock, request)) == (200, None)
    assert answer(send(mock, request)) == (400, "SignatureNonceUsed")
    now = mock.client().get("/__admin/clock").json()["now"]
    late = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 16 * 60))
    assert answer(send(mock, signed(mock, "DescribeBatchTasks", {}, date=late))) == (400, "InvalidTimeStamp.Expired")
    malformed = signed(mock, "DescribeBatchTasks", {}, date="2026-12-01 07:00:00")
    assert answer(send(mock, malformed)) == (400, "InvalidTimeStamp.Format")


def test_nonces_survive_a_restart_and_are_forgotten_after_the_window(serve, tmp_path):
    state = str(tmp_path / "state.sqlite")
    first = serve("--frozen-clock", "--state", state)
    request = signed(first, "DescribeBatchTasks", {}, nonce="0123456789abcdef0123456789abcdef")
    assert answer(send(first, request)) == (200, None)
    first.kill()
    again = serve("--frozen-clock", "--state", state)
    assert answer(send(again, request)) == (400, "SignatureNonceUsed")
    advance(again, 16 * 60)
    fresh = signed(again, "DescribeBatchTasks", {}, nonce="fedcba9876543210fedcba9876543210")
    assert answer(send(again, fresh)) == (200, None)
    kept = again.client().get("/__admin/state", params={"secrets": "true"}).json()["collections"]["polardb/nonces"]
    assert list(kept) == [f"{KEY}:fedcba9876543210fedcba9876543210"], kept


def test_unknown_action_version_and_the_flat_array_and_boolean_forms(mock):
    assert answer(send(mock, signed(mock, "DescribeEverything", {}))) == (404, "InvalidAction.NotFound")
    request = signed(mock, "DescribeBatchTasks", {})
    assert answer(send(mock, request, **{"x-acs-version": "2014-05-26"})) == (400, "InvalidVersion")
    flat = signed(mock, "DescribeBatchTasks", {"Status.1": "RUNNING", "Status.2": "COMPLETED"})
    page = send(mock, flat).json()
    assert {e["Status"] for e in page["TaskList"]} == {"RUNNING", "COMPLETED"} and page["TotalCount"] == 2
    install = signed(mock, "InstallPolarClawSkill", {"ApplicationId": MINE[1], "Slug": "github", "Force": "TRUE"})
    assert send(mock, install).json()["Ok"] is True
    unknown = signed(mock, "DescribeBatchTasks", {"Colour": "blue"})
    assert answer(send(mock, unknown)) == (400, "UnsupportedParameter")
    assert answer(send(mock, signed(mock, "DescribeBatchTasks", {"RegionId": "cn-hangzhou"}))) == (200, None)
    for params in ({"Status": "RUNNING"}, {"Status": '["RUNNING", "FAILED"]'}, {"PageNumber": "one"}):
        assert answer(send(mock, signed(mock, "DescribeBatchTasks", params))) == (400, "InvalidParameter"), params
    not_json = signed(mock, "CreateBatchTask", {"RegionId": "cn-hangzhou", "TaskName": "x",
                                                "TaskType": "polarclaw_install_skills", "InstanceIds": "pa-x,pa-y"})
    response = send(mock, not_json)
    assert answer(response) == (400, "InvalidParameter") and '"InstanceIds"' in response.json()["Message"]
    journal = mock.client().get("/__admin/requests").json()
    assert journal and not [e for e in journal if e["response"].startswith("invalid")]


def test_a_virtual_path_is_served_only_with_a_signature_over_exactly_that_request(mock):
    http = mock.client()
    assert answer(http.post("/rpc/polardb/DescribeBatchTasks")) == (400, "IncompleteSignature")
    now = mock.client().get("/__admin/clock").json()["now"]
    headers = {"host": mock.url.removeprefix("http://"), "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                     time.gmtime(now)),
               "x-acs-signature-nonce": secrets.token_hex(16), "x-acs-content-sha256": wire.EMPTY_SHA256}
    headers["Authorization"] = signature.sign_acs3("POST", "/rpc/polardb/DescribeBatchTasks", [("PageSize", "1")],
                                                   headers, KEY, SECRET)
    page = http.post("/rpc/polardb/DescribeBatchTasks?PageSize=1", headers=headers)
    assert page.status_code == 200 and page.json()["TotalCount"] == 4, page.text


# -- the v1 signature, by hand ------------------------------------------------------------------------
def rfc3986(text: str) -> str:
    return quote(text, safe="~")


def v1_query(action: str, params: dict, *, key=KEY, secret=SECRET, now: float) -> tuple[dict, str]:
    """Alibaba Cloud's documented RPC signature v1: sort every parameter, RFC 3986-encode key and value,
    join with & and =; string to sign = METHOD & encode("/") & encode(that); Signature = base64 of
    HMAC-SHA1 keyed with secret + "&"."""
    query = {"Action": action, "Version": "2017-08-01", "Format": "JSON", "AccessKeyId": key,
             "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": secrets.token_hex(16),
             "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), **params}
    canonical = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(query.items()))
    string_to_sign = f"POST&{rfc3986('/')}&{rfc3986(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return {**query, "Signature": base64.b64encode(digest).decode()}, string_to_sign


def test_a_hand_signed_v1_query_creates_and_describes_a_batch(mock):
    now = mock.client().get("/__admin/clock").json()["now"]
    http = mock.client()
    query, _ = v1_query("CreateBatchTask", {"RegionId": "cn-hangzhou", "TaskName": "by hand",
                                            "TaskType": "polarclaw_uninstall_skills",
                                            "InstanceIds": '["pa-bp1dev0000000003"]', "Param": '["github"]'}, now=now)
    created = http.post("/?" + urlencode(query))   # no x-acs-* headers at all: the query says everything
    assert created.status_code == 200, created.text
    batch_id = created.json()["BatchId"]
    query, _ = v1_query("DescribeBatchTask", {"BatchId": batch_id}, now=now)
    detail = http.post("/?" + urlencode(query)).json()
    assert (detail["BatchId"], detail["TaskName"], detail["Status"]) == (batch_id, "by hand", "DISPATCHING")
    query, string_to_sign = v1_query("DescribeBatchTasks", {}, secret="not the secret", now=now)
    wrong = http.post("/?" + urlencode(query))
    assert answer(wrong) == (400, "SignatureDoesNotMatch")
    assert wrong.json()["Message"].endswith(f"server string to sign is:{string_to_sign}")
    query, _ = v1_query("DescribeBatchTasks", {}, now=now)
    assert answer(http.post("/?" + urlencode({k: v for k, v in query.items() if k != "Signature"}))) == (
        400, "MissingSignature")


# -- the admin export and import -------------------------------------------------------------------
def exported(server, secrets: bool = False) -> dict:
    answer = server.client().get("/__admin/state", params={"secrets": "true"} if secrets else {})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_export_masks_access_keys_and_the_nonces_they_signed(mock):
    create(sdk(mock))
    masked, full = exported(mock), exported(mock, secrets=True)
    assert full["collections"]["polardb/nonces"], "a signed call leaves its nonce"
    text = json.dumps(masked)
    leaked = [s for s in (KEY, SECRET, OTHER_KEY, OTHER_SECRET) if s in text]
    assert not leaked, f"an access key's id and secret are credentials, and a nonce is filed under its key id: {leaked}"
    assert all(s in json.dumps(full) for s in (KEY, SECRET, OTHER_KEY, OTHER_SECRET))
    assert sorted(r["account"] for r in masked["collections"]["polardb/keys"].values()) == \
        ["1234567890123456", "6543210987654321"], "which account a key opens is no secret"
    assert masked["collections"]["polardb/applications"] == full["collections"]["polardb/applications"]


def test_an_export_imports_back_and_the_sdk_signs_creates_and_describes_as_before(mock):
    client = sdk(mock)
    kept = create(client)
    replay = signed(mock, "DescribeBatchTasks", {})
    assert answer(send(mock, replay)) == (200, None)
    snapshot = exported(mock, secrets=True)
    dropped = create(client)
    imported = mock.client().put("/__admin/state", json=snapshot)
    assert imported.status_code == 200, imported.text
    assert exported(mock, secrets=True)["collections"] == snapshot["collections"]
    assert client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=kept)).body.batch_id == kept
    assert answer(send(mock, replay)) == (400, "SignatureNonceUsed"), "the nonces travel with the state"
    again = create(client)
    assert again == dropped, "the sequences travel too: the next create gets the id the dropped one had"
    sub_tasks = client.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=again)).body.sub_tasks
    assert min(int(t.task_id) for t in sub_tasks) == snapshot["sequences"]["polardb/subtask"] + 1


def test_an_import_that_breaks_the_data_model_is_refused_with_400_and_changes_nothing(mock):
    create(sdk(mock))
    good = exported(mock, secrets=True)
    mine = "polardb/batches@1234567890123456"

    def broken(change) -> dict:
        snapshot = copy.deepcopy(good)
        change(snapshot["collections"], snapshot["sequences"])
        return snapshot

    def first_batch(collections: dict) -> dict:
        return next(iter(collections[mine].values()))

    cases = {
        "a sub-task id past its sequence": (
            lambda c, s: s.update({"polardb/subtask": s["polardb/subtask"] - 1}), "below the id"),
        "a batch sequence that mints an id in use": (
            lambda c, s: s.pop("polardb/batch"), "id number 1"),
        "a batch filed under another account": (
            lambda c, s: c["polardb/batches@6543210987654321"].update(c[mine]), "its fields file it under"),
        "a polarclaw task of an unknown application": (
            lambda c, s: next(iter(c["polardb/polarclawTasks"].values())).update(ApplicationId="pa-nosuchapp"),
            "no polardb/applications/pa-nosuchapp"),
        "a sub-task that fails with 'yes'": (
            lambda c, s: first_batch(c)["subTasks"][0].update(fails="yes"), "at subTasks/0/fails"),
        "an access key without its secret": (
            lambda c, s: c["polardb/keys"][KEY].pop("secret"), "'secret' is a required property"),
    }
    for case, (change, why) in cases.items():
        refused_import = mock.client().put("/__admin/state", json=broken(change))
        assert refused_import.status_code == 400, f"{case}: {refused_import.text}"
        detail = refused_import.json()["detail"]
        assert "nothing changed" in detail and why in detail, f"{case}: {detail}"
    after = exported(mock, secrets=True)
    assert (after["collections"], after["sequences"]) == (good["collections"], good["sequences"])
    assert create(sdk(mock)).startswith("pcb-"), "the served state still works"
