"""PolarDB batch tasks without a server: validation answers, the lifecycle at any virtual time,
listing filters and paging, fixtures; every body conforms to the fragments' response schemas."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from mock_server import PROJECT_ROOT
from mock_server.apis.polardb import batches
from mock_server.apis.polardb.errors import AcsError
from mock_server.lifecycle import Lifecycle

FIXTURES = yaml.safe_load((PROJECT_ROOT / "fixtures" / "polardb.yaml").read_text())
T0 = 1767225600.0   # 2026-01-01T00:00:00Z
OWNED = {"pa-a1", "pa-a2", "pa-a3"}
CREATE = {"RegionId": "cn-hangzhou", "TaskName": "batch_task_test", "TaskType": "polarclaw_install_skills",
          "InstanceIds": '["pa-a1","pa-a2"]', "Param": '[{"skillName":"github","version":"1.0.0"}]'}


def fragment_schema(action: str, name: str):
    """A component schema of the action's fragment, with its local $refs resolvable."""
    doc = yaml.safe_load((PROJECT_ROOT / "specs" / "fragments" / "polardb" / f"{action}.yaml").read_text())
    return {**doc["components"]["schemas"][name], "components": doc["components"]}


def conforms(body: dict, action: str, name: str) -> None:
    jsonschema.validate({"RequestId": "C61892A4-0850-4516-9E26-44D96C1782DE", **body}, fragment_schema(action, name))


def refusal(fn, params) -> tuple[int, str, str]:
    with pytest.raises(AcsError) as caught:
        fn(params)
    return caught.value.status, caught.value.code, caught.value.message


def batch(params=None, *, now=T0, owned=OWNED, failing=(), pace=None) -> dict:
    request = batches.validate_create({**CREATE, **(params or {})})
    return batches.create_batch(request, batch_id="pcb-test1", first_task_id=100, account="acc", owned=owned,
                                now=now, seed=1, pace=batches.pacing(pace), failing=failing)


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["RegionId", "TaskName", "TaskType", "InstanceIds"])
def test_each_missing_required_create_parameter_is_named(missing):
    params = {k: v for k, v in CREATE.items() if k != missing}
    assert refusal(batches.validate_create, params) == (400, "MissingParameter",
                                                         f"{missing} is mandatory for this action.")


@pytest.mark.parametrize(("name", "value"), [
    ("TaskType", "polarclaw_reboot"), ("InstanceIds", "[]"), ("InstanceIds", '["pc-cluster"]'),
    ("InstanceIds", '["pa-a1", "pa-a2"]'), ("InstanceIds", "pa-a1"), ("RegionId", "Hangzhou"),
    ("TaskName", "x" * 129), ("Param", '["github"]'), ("Param", '[{"skillName":"github"}]'), ("Param", "{"),
])
def test_malformed_create_parameters_are_invalid_parameter(name, value):
    status, code, message = refusal(batches.validate_create, {**CREATE, name: value})
    assert (status, code) == (400, "InvalidParameter") and f'"{name}"' in message


def test_uninstall_takes_a_list_of_skill_names_and_duplicates_collapse():
    request = batches.validate_create({**CREATE, "TaskType": "polarclaw_uninstall_skills",
                                       "InstanceIds": '["pa-a1","pa-a1","pa-a2"]', "Param": '["github"]'})
    assert request.instance_ids == ("pa-a1", "pa-a2") and request.skills == ("github",)


def test_list_filters_parse_and_the_sdks_empty_status_list_means_every_status():
    query = batches.validate_list({"TaskType": "polarclaw_install_skills", "Status": '["RUNNING","FAILED"]',
                                   "StartTime": "2026-01-01T00:00Z", "EndTime": "2026-01-01T00:10:30Z",
                                   "PageSize": "100", "PageNumber": "2"})
    assert query == batches.ListQuery("polarclaw_install_skills", frozenset({"RUNNING", "FAILED"}), T0, T0 + 630,
                                      100, 2)
    assert batches.validate_list({"Status": "[]"}) == batches.ListQuery()


@pytest.mark.parametrize(("name", "value"), [
    ("Status", '["BOGUS"]'), ("Status", "RUNNING"), ("Status", '["RUNNING",]'), ("PageSize", "0"),
    ("PageSize", "-1"), ("PageSize", "101"), ("PageSize", "ten"), ("PageNumber", "0"),
    ("PageNumber", "2147483648"), ("StartTime", "2026-01-01 00:00:00"), ("EndTime", "2026-02-30T00:00Z"),
    ("TaskType", "other"),
])
def test_malformed_list_parameters_are_invalid_parameter(name, value):
    status, code, message = refusal(batches.validate_list, {name: value})
    assert (status, code) == (400, "InvalidParameter") and f'"{name}"' in message


def test_unknown_status_message_names_the_bad_value():
    assert refusal(batches.validate_list, {"Status": '["RUNNING","BOGUS"]'})[2] == (
        'The specified parameter "Status" is not valid: BOGUS.')


def test_describe_needs_a_well_formed_batch_id():
    assert refusal(batches.validate_detail, {})[:2] == (400, "MissingParameter")
    assert refusal(batches.validate_detail, {"BatchId": "123"})[:2] == (400, "InvalidParameter")
    assert batches.validate_detail({"BatchId": "pcb-xxx"}) == "pcb-xxx"
    error = batches.not_found("pcb-nope")
    assert (error.status, error.code) == (404, "InvalidBatchId.NotFound")


# -- lifecycle ------------------------------------------------------------------------------------
def states(record: dict, now: float) -> tuple[str, list[str], int]:
    body = batches.detail(record, now)
    return body["Status"], [s["Status"] for s in body["SubTasks"]], body["SuccessCount"]


def test_batch_walks_dispatching_running_completed_and_sub_tasks_waiting_running_completed():
    record = batch()      # dispatch 2 s, stagger 1 s, install 8 s
    assert states(record, T0) == ("DISPATCHING", ["WAITING", "WAITING"], 0)
    assert states(record, T0 + 2) == ("RUNNING", ["RUNNING", "WAITING"], 0)
    assert states(record, T0 + 3) == ("RUNNING", ["RUNNING", "RUNNING"], 0)
    assert states(record, T0 + 10) == ("RUNNING", ["COMPLETED", "RUNNING"], 1)
    assert states(record, T0 + 11) == ("COMPLETED", ["COMPLETED", "COMPLETED"], 2)
    assert states(record, T0 + 10**6) == states(record, T0 + 11)


def test_an_instance_the_account_does_not_own_fails_its_sub_task_and_the_batch():
    record = batch({"InstanceIds": '["pa-a1","pa-other"]'})
    body = batches.detail(record, T0 + 3)
    assert [s["Status"] for s in body["SubTasks"]] == ["RUNNING", "RUNNING"] and body["SubTasks"][1]["ErrorMsg"] == ""
    body = batches.detail(record, T0 + 20)
    assert (body["Status"], body["SuccessCount"], body["TotalCount"]) == ("FAILED", 1, 2)
    assert body["SubTasks"][1]["Status"] == "FAILED"
    assert "pa-other does not exist or does not belong" in body["SubTasks"][1]["ErrorMsg"]
    assert body["SubTasks"][1]["TaskEnd"] == "2026/01/01T00:00:04Z"


def test_times_follow_each_pages_documented_form_and_are_empty_until_known():
    record = batch()
    running = batches.summary(record, T0 + 5)
    assert (running["TaskBegin"], running["TaskEnd"]) == ("2026-01-01 00:00:00", "")
    done = batches.summary(record, T0 + 60)
    assert done["TaskEnd"] == "2026-01-01 00:00:11"
    sub = batches.detail(record, T0)["SubTasks"][0]
    assert (sub["TaskBegin"], sub["TaskEnd"]) == ("", "")
    assert batches.detail(record, T0 + 60)["TaskBegin"] == "2026/01/01T00:00:00Z"


def test_seeded_failure_share_is_reproducible_and_roughly_the_configured_share():
    ids = ",".join(f'"pa-x{i}"' for i in range(400))
    params = {"InstanceIds": f"[{ids}]"}
    owned = {f"pa-x{i}" for i in range(400)}
    request = batches.validate_create({**CREATE, **params})

    def failures(seed: int) -> list[bool]:
        record = batches.create_batch(request, batch_id="pcb-share", first_task_id=1, account="a", owned=owned,
                                      now=T0, seed=seed, pace=batches.pacing({"failurePercent": 10}))
        return [s["fails"] for s in record["subTasks"]]

    assert failures(1) == failures(1) != failures(2)
    assert 20 <= sum(failures(1)) <= 60


def test_counts_stay_consistent_at_every_second():
    record = batch({"InstanceIds": '["pa-a1","pa-a2","pa-a3","pa-zz"]'}, failing={"pa-a2"})
    for second in range(0, 20):
        body = batches.detail(record, T0 + second)
        finished = [s for s in body["SubTasks"] if s["Status"] in ("COMPLETED", "FAILED")]
        assert body["SuccessCount"] == sum(s["Status"] == "COMPLETED" for s in finished) <= body["TotalCount"] == 4
        assert (body["Status"] in ("COMPLETED", "FAILED")) == (len(finished) == 4)
    assert batches.detail(record, T0 + 20)["Status"] == "FAILED"


def test_the_states_come_from_the_engines_lifecycle_tables():
    record = batch()
    table = batches.subtask_lifecycle(2, 8)
    assert isinstance(table, Lifecycle) and table.states() == ["WAITING", "RUNNING", "COMPLETED", "FAILED"]
    assert batches.batch_lifecycle(2, 9).states() == ["DISPATCHING", "RUNNING", "COMPLETED", "FAILED"]
    status = batches.subtask_status(record, record["subTasks"][1], T0 + 4)
    assert (status.state, status.entered["RUNNING"]) == ("RUNNING", T0 + 3)


# -- listing --------------------------------------------------------------------------------------
def many() -> list[dict]:
    records = []
    for index in range(7):
        task_type = "polarclaw_install_skills" if index % 2 == 0 else "polarclaw_uninstall_skills"
        param = '[{"skillName":"github","version":"1.0.0"}]' if index % 2 == 0 else '["github"]'
        request = batches.validate_create({**CREATE, "TaskType": task_type, "Param": param})
        records.append(batches.create_batch(request, batch_id=f"pcb-{index}", first_task_id=index * 10, account="a",
                                            owned=OWNED, now=T0 + index * 60, seed=1, failing=()))
    return records


def test_list_is_newest_first_and_pages_with_the_total_ignoring_paging():
    page = batches.describe_batch_tasks(many(), batches.ListQuery(page_size=3, page_number=2), T0 + 1000)
    assert [e["BatchId"] for e in page["TaskList"]] == ["pcb-3", "pcb-2", "pcb-1"]
    assert (page["TotalCount"], page["PageSize"], page["PageNumber"]) == (7, 3, 2)
    beyond = batches.describe_batch_tasks(many(), batches.ListQuery(page_size=3, page_number=9), T0 + 1000)
    assert beyond["TaskList"] == [] and beyond["TotalCount"] == 7


def test_list_filters_by_type_creation_window_and_status_at_now():
    records = many()
    query = batches.validate_list({"TaskType": "polarclaw_install_skills", "StartTime": "2026-01-01T00:01Z",
                                   "EndTime": "2026-01-01T00:06:00Z"})
    assert [e["BatchId"] for e in batches.describe_batch_tasks(records, query, T0 + 1000)["TaskList"]] == [
        "pcb-6", "pcb-4", "pcb-2"]
    running = batches.describe_batch_tasks(records, batches.ListQuery(statuses=frozenset({"RUNNING"})), T0 + 365)
    assert [e["BatchId"] for e in running["TaskList"]] == ["pcb-6"] and running["TotalCount"] == 1
    backwards = batches.validate_list({"StartTime": "2026-01-01T00:06Z", "EndTime": "2026-01-01T00:01Z"})
    assert batches.describe_batch_tasks(records, backwards, T0 + 1000)["TotalCount"] == 0


# -- bodies against the fragments' schemas, and fixtures ------------------------------------------
def seeded() -> list[dict]:
    return batches.seed_batches(FIXTURES, now=T0, seed=1)


def test_fixture_batches_cover_every_batch_state_at_seeding_time():
    assert {batches.summary(b, T0)["Status"] for b in seeded()} == set(batches.BATCH_STATUSES)
    ids = [s["TaskId"] for b in seeded() for s in b["subTasks"]]
    assert ids == [str(batches.TASK_ID_FLOOR + i) for i in range(len(ids))]


def test_fixture_accounts_have_the_default_test_key_and_a_second_account():
    keys = batches.access_keys(FIXTURES)
    assert keys["testAccessKeyId"].secret == "testAccessKeySecret"
    assert keys["otherAccessKeyId"].id != keys["testAccessKeyId"].id
    assert all(i.startswith("pa-") for account in keys.values() for i in account.instances)


@pytest.mark.parametrize("offset", [0, 5, 90_000])
def test_every_body_conforms_to_the_fragments_schemas(offset):
    records = seeded() + [batch(now=T0, owned=OWNED | {"pa-zz"})]
    page = batches.describe_batch_tasks(records, batches.ListQuery(), T0 + offset)
    conforms(page, "DescribeBatchTasks", "DescribeBatchTasksResponse")
    for record in records:
        conforms(batches.detail(record, T0 + offset), "DescribeBatchTask", "DescribeBatchTaskResponse")
    conforms({"BatchId": batches.batch_id(1, 1)}, "CreateBatchTask", "CreateBatchTaskResponse")


def test_batch_ids_are_deterministic_and_well_formed():
    assert batches.batch_id(1, 1) == batches.batch_id(1, 1) != batches.batch_id(1, 2)
    assert batches.validate_detail({"BatchId": batches.batch_id(3, 9)})
