"""The pure core composed the way the engine will wire it (decode -> verify -> validate -> batches ->
error body), behind a loopback server, driven by the official SDK: its models parse every answer
and its exceptions carry the gateway's Code, status and RequestId."""

from __future__ import annotations

import calendar
import itertools
import time

import pytest
import yaml
from alibabacloud_polardb20170801 import models
from alibabacloud_polardb20170801.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException

from mock_server import PROJECT_ROOT
from mock_server.apis.polardb import batches, signature, wire
from mock_server.apis.polardb.errors import AcsError, request_id
from tests.polardb_capture import PROXY_VARIABLES, Captured, CaptureServer

FIXTURES = yaml.safe_load((PROJECT_ROOT / "fixtures" / "polardb.yaml").read_text())


class StandIn:
    """A minimal composition of the core over an in-memory state, with a virtual clock."""

    def __init__(self) -> None:
        self.now = float(calendar.timegm(time.gmtime()))
        self.keys = batches.access_keys(FIXTURES)
        self.batches = {b["BatchId"]: b for b in batches.seed_batches(FIXTURES, now=self.now, seed=1)}
        self.nonces: set[str] = set()
        self.counter = itertools.count(1)
        self.next_task = batches.TASK_ID_FLOOR + sum(len(b["subTasks"]) for b in self.batches.values())

    def __call__(self, raw: Captured) -> tuple[int, dict]:
        rid = request_id(1, next(self.counter))
        try:
            call = wire.decode(raw.method, raw.path, raw.query_string, raw.headers, raw.body)
            verdict = signature.verify(raw.method, raw.path, raw.query_string, raw.headers, raw.body,
                                       secret_for=lambda k: self.keys[k].secret if k in self.keys else None,
                                       nonces=self.nonces, now=self.now)
            if verdict.error:
                raise verdict.error
            account = self.keys[verdict.access_key_id]
            return 200, {"RequestId": rid, **self.handle(call, account)}
        except AcsError as error:
            return error.status, error.body(rid, raw.header("host") or "polardb.aliyuncs.com")

    def handle(self, call: wire.RpcRequest, account: batches.Account) -> dict:
        mine = [b for b in self.batches.values() if b["account"] == account.id]
        if call.action == "CreateBatchTask":
            request = batches.validate_create(call.params)
            record = batches.create_batch(
                request, batch_id=batches.batch_id(1, len(self.batches)), first_task_id=self.next_task,
                account=account.id, owned=account.instances, now=self.now, seed=1,
                pace=batches.pacing(FIXTURES.get("pacing")))
            self.next_task += len(request.instance_ids)
            self.batches[record["BatchId"]] = record
            return {"BatchId": record["BatchId"]}
        if call.action == "DescribeBatchTasks":
            return batches.describe_batch_tasks(mine, batches.validate_list(call.params), self.now)
        batch_id = batches.validate_detail(call.params)
        found = next((b for b in mine if b["BatchId"] == batch_id), None)
        if found is None:
            raise batches.not_found(batch_id)
        return batches.detail(found, self.now)


@pytest.fixture
def stand_in():
    state = StandIn()
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        with CaptureServer(state) as server:
            state.endpoint = server.endpoint
            yield state


def client(stand_in: StandIn, key="testAccessKeyId", secret="testAccessKeySecret", **config) -> Client:
    return Client(open_api_models.Config(access_key_id=key, access_key_secret=secret, endpoint=stand_in.endpoint,
                                         protocol="http", **config))


def test_create_then_follow_the_batch_to_completion_with_the_sdk(stand_in):
    sdk = client(stand_in)
    created = sdk.create_batch_task(models.CreateBatchTaskRequest(
        region_id="cn-hangzhou", task_name="roundtrip", task_type="polarclaw_install_skills",
        instance_ids=["pa-bp1dev0000000001", "pa-bp1dev0000000002"],
        param='[{"skillName":"github","version":"1.0.0"}]')).body
    assert created.batch_id.startswith("pcb-") and len(created.request_id) == 36
    detail = sdk.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=created.batch_id)).body
    assert (detail.status, detail.total_count, [s.status for s in detail.sub_tasks]) == (
        "DISPATCHING", 2, ["WAITING", "WAITING"])
    stand_in.now += 60
    detail = sdk.describe_batch_task(models.DescribeBatchTaskRequest(batch_id=created.batch_id)).body
    assert detail.status in ("COMPLETED", "FAILED") and detail.task_end
    page = sdk.describe_batch_tasks(models.DescribeBatchTasksRequest(page_size=2)).body
    assert page.task_list[0].batch_id == created.batch_id and page.total_count == 5 and page.page_size == 2


def test_every_status_filter_and_the_v1_signature_work_through_the_sdk(stand_in):
    sdk = client(stand_in, signature_algorithm="v2")
    page = sdk.describe_batch_tasks(models.DescribeBatchTasksRequest(status=["RUNNING", "DISPATCHING"])).body
    assert sorted(t.status for t in page.task_list) == ["DISPATCHING", "RUNNING"]


def test_the_sdk_raises_client_exceptions_carrying_the_gateways_answer(stand_in):
    with pytest.raises(ClientException) as caught:
        client(stand_in).describe_batch_tasks(models.DescribeBatchTasksRequest(status=["BOGUS"]))
    assert (caught.value.code, caught.value.status_code) == ("InvalidParameter", 400)
    assert caught.value.request_id == caught.value.data["RequestId"]
    assert caught.value.data["Recommend"].endswith(f"&requestId={caught.value.request_id}")
    with pytest.raises(ClientException) as caught:
        client(stand_in, key="nobody").describe_batch_tasks(models.DescribeBatchTasksRequest())
    assert (caught.value.code, caught.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    with pytest.raises(ClientException) as caught:
        client(stand_in, secret="wrong").describe_batch_tasks(models.DescribeBatchTasksRequest())
    assert caught.value.code == "SignatureDoesNotMatch"


def test_another_accounts_batch_is_not_found(stand_in):
    with pytest.raises(ClientException) as caught:
        client(stand_in, key="otherAccessKeyId", secret="otherAccessKeySecret").describe_batch_task(
            models.DescribeBatchTaskRequest(batch_id="pcb-seed0completed01"))
    assert (caught.value.code, caught.value.status_code) == ("InvalidBatchId.NotFound", 404)
