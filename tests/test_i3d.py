"""i3D ApplicationInstanceTask scenarios over a real server on loopback, with a frozen clock."""

from __future__ import annotations

import json

import pytest
import yaml

from mock_server import PROJECT_ROOT

TOKEN, OTHER_TOKEN = "dev-token", "dev-token-2"
TASKS, BATCHES = "/v3/applicationInstance/task", "/v3/applicationInstance/taskBatch"
STOP_PARAMS = [{"paramName": "methodId", "paramValue": "1"}, {"paramName": "timeout", "paramValue": "30"}]
FIXTURES = yaml.safe_load((PROJECT_ROOT / "fixtures" / "i3d.yaml").read_text())
TEMPLATES = {t["id"]: t for t in FIXTURES["templates"]}


class I3D:
    """A thin client for one account, plus the admin clock."""

    def __init__(self, server, token: str = TOKEN) -> None:
        self.http = server.client(headers={"PRIVATE-TOKEN": token})

    def create(self, expect: int = 200, **body) -> list[dict] | dict:
        response = self.http.post(TASKS, json=body)
        assert response.status_code == expect, response.text
        return response.json()

    def task(self, task_id) -> dict:
        response = self.http.get(f"{TASKS}/{task_id}")
        assert response.status_code == 200, response.text
        (task,) = response.json()
        return task

    def batch(self, batch_id) -> dict:
        response = self.http.get(f"{BATCHES}/{batch_id}")
        assert response.status_code == 200, response.text
        (batch,) = response.json()
        return batch

    def now(self) -> float:
        return self.http.get("/__admin/clock").json()["now"]

    def advance(self, seconds: float) -> None:
        assert self.http.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


@pytest.fixture(scope="module")
def server(frozen_server):
    return frozen_server


@pytest.fixture(autouse=True)
def fresh_state(server):
    assert server.client().post("/__admin/reset").status_code == 200


@pytest.fixture
def i3d(server) -> I3D:
    return I3D(server)


def start_task(i3d: I3D, instances=("1001",), template="3", **extra) -> tuple[dict, int]:
    (batch,) = i3d.create(taskTemplateId=template, applicationInstanceIds=list(instances),
                          taskActionParam=STOP_PARAMS, **extra)
    return batch, batch["taskIds"][0]


# -- accounts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"PRIVATE-TOKEN": ""}, {"PRIVATE-TOKEN": "not-a-token"}])
def test_missing_or_unknown_token_gets_403_with_i3d_error_body(server, headers):
    response = server.client().get(TASKS, headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"errorCode", "errorMessage", "errors"}
    assert isinstance(body["errorCode"], int) and body["errorMessage"]


def test_accounts_see_only_their_own_tasks_and_batches(server, i3d):
    other = I3D(server, OTHER_TOKEN)
    batch, task_id = start_task(i3d)
    assert task_id in [t["id"] for t in i3d.http.get(TASKS).json()]
    assert task_id not in [t["id"] for t in other.http.get(TASKS).json()]
    assert batch["id"] not in [b["id"] for b in other.http.get(BATCHES).json()]
    assert other.http.get(f"{TASKS}/{task_id}").status_code == 404
    assert other.http.get(f"{BATCHES}/{batch['id']}").status_code == 404
    assert other.http.put(f"{TASKS}/{task_id}").status_code == 404
    assert other.http.delete(f"{TASKS}/{task_id}").status_code == 404
    assert i3d.task(task_id)["resultCode"] == 1, "another account's attempts must not change the task"


# -- fixtures ---------------------------------------------------------------------------------------
def test_templates_are_the_fixture_templates_without_internal_pacing(i3d):
    templates = i3d.http.get(f"{TASKS}/template").json()
    assert len(templates) >= 4
    for template in templates:
        expected = TEMPLATES[template["id"]]
        assert template["name"] == expected["name"]
        assert [a["idx"] for a in template["actions"]] == sorted(a["idx"] for a in template["actions"])
        assert [(a["actionType"], a["requiredParams"]) for a in template["actions"]] == [
            (a["actionType"], a["requiredParams"]) for a in expected["actions"]]
        assert all("durationSeconds" not in a for a in template["actions"])


def test_each_account_starts_with_earlier_batches(server, i3d):
    for client in (i3d, I3D(server, OTHER_TOKEN)):
        batches = client.http.get(BATCHES).json()
        assert batches, "fixtures seed earlier batches for every account"
        assert sum(b["numTasks"] for b in batches) == len(client.http.get(TASKS).json())


# -- create -----------------------------------------------------------------------------------------
def test_create_targets_the_union_of_ids_fleet_region_and_labels(i3d):
    (batch,) = i3d.create(taskTemplateId="1", applicationInstanceIds=["1001", "1012"], fleetId="2",
                          regionId="0", labels=[{"key": "env", "value": "staging"}, {"key": "game", "value": "racing"}])
    entities = sorted(i3d.task(t)["entityId"] for t in batch["taskIds"])
    fleet_2 = set(range(1011, 1021))
    wanted = {("env", "staging"), ("game", "racing")}
    staging_racing = {i["id"] for i in FIXTURES["instances"]
                      if {(lab["key"], lab["value"]) for lab in i["labels"]} >= wanted}
    assert entities == sorted({1001} | fleet_2 | staging_racing)
    assert batch["numTasks"] == len(batch["taskIds"]) == len(entities)


def test_create_by_region_targets_every_instance_of_that_region(i3d):
    (batch,) = i3d.create(taskTemplateId="1", regionId="2")
    entities = {i3d.task(t)["entityId"] for t in batch["taskIds"]}
    assert entities == {i["id"] for i in FIXTURES["instances"] if i["regionId"] == 2}


@pytest.mark.parametrize(("body", "prop"), [
    ({"taskTemplateId": "999", "applicationInstanceIds": ["1001"]}, "taskTemplateId"),
    ({"taskTemplateId": "start", "applicationInstanceIds": ["1001"]}, "taskTemplateId"),
    ({"taskTemplateId": "1", "applicationInstanceIds": ["4242"]}, "applicationInstanceIds"),
    ({"taskTemplateId": "1", "fleetId": "77"}, "fleetId"),
    ({"taskTemplateId": "1", "regionId": "x"}, "regionId"),
    ({"taskTemplateId": "1"}, "applicationInstanceIds"),
    ({"taskTemplateId": "1", "labels": [{"key": "env", "value": "nowhere"}]}, "applicationInstanceIds"),
    ({"taskTemplateId": "3", "applicationInstanceIds": ["1001"]}, "taskActionParam"),
    ({"taskTemplateId": "4", "applicationInstanceIds": ["1001"], "taskActionParam": STOP_PARAMS}, "taskActionParam"),
])
def test_unprocessable_create_gets_422_naming_the_property_and_changes_nothing(i3d, body, prop):
    before = i3d.http.get(BATCHES).json()
    error = i3d.create(expect=422, **body)
    assert error["errorCode"] and error["errorMessage"]
    assert [e["property"] for e in error["errors"]] == [prop]
    assert i3d.http.get(BATCHES).json() == before


def test_future_execute_at_keeps_the_task_pending_until_then(i3d):
    at = int(i3d.now()) + 600
    batch, task_id = start_task(i3d, executeAt=at)
    assert batch["executeAt"] == at
    task = i3d.task(task_id)
    assert (task["resultCode"], task["executeAt"], task["finishedAt"]) == (0, at, 0)
    i3d.advance(599)
    assert i3d.task(task_id)["resultCode"] == 0
    i3d.advance(1)
    assert i3d.task(task_id)["resultCode"] == 1


# -- lifecycle --------------------------------------------------------------------------------------
def test_task_walks_its_template_actions_then_finishes(i3d):
    template = TEMPLATES[4]
    start = int(i3d.now())
    (batch,) = i3d.create(taskTemplateId="4", applicationInstanceIds=["1005"],
                          taskActionParam=[*STOP_PARAMS, {"paramName": "buildId", "paramValue": "9"}])
    task_id = batch["taskIds"][0]
    elapsed = 0
    for action in template["actions"]:
        task = i3d.task(task_id)
        if task["resultCode"] == 126:  # this task was seeded to fail: it stops at this action
            assert task["finishedAt"] == start + elapsed
            return
        assert (task["resultCode"], task["currentActionIdx"]) == (1, action["idx"]), task
        assert task["lastActivityAt"] == start + elapsed
        assert action["actionType"] in task["resultText"]
        i3d.advance(action["durationSeconds"])
        elapsed += action["durationSeconds"]
    task = i3d.task(task_id)
    assert task["resultCode"] in (126, 127)
    if task["resultCode"] == 127:
        assert task["finishedAt"] == task["lastActivityAt"] == start + elapsed
        assert task["currentActionIdx"] == template["actions"][-1]["idx"]


def test_a_seeded_share_of_tasks_fails_and_the_rest_succeed(i3d):
    task_ids = [t for _ in range(5) for fleet in ("1", "2")
                for t in i3d.create(taskTemplateId="1", fleetId=fleet)[0]["taskIds"]]
    i3d.advance(3600)
    codes = [i3d.task(t)["resultCode"] for t in task_ids]
    assert len(codes) == 100 and set(codes) == {126, 127}, codes
    percent = FIXTURES["failurePercent"]
    assert percent // 3 <= codes.count(126) <= percent * 3, f"{codes.count(126)} of 100 failed"


def test_outcomes_are_deterministic_for_a_seed(serve):
    outcomes = []
    for _ in range(2):
        server = serve("--frozen-clock", "--clock-start", "1767225600")
        client = I3D(server)
        (batch,) = client.create(taskTemplateId="1", fleetId="1")
        client.advance(3600)
        outcomes.append([client.task(t) for t in batch["taskIds"]])
    assert outcomes[0] == outcomes[1]


def test_put_pauses_then_resumes_and_paused_time_does_not_count(i3d):
    start = int(i3d.now())
    _, task_id = start_task(i3d)          # restart: stop 3 s, start 4 s
    i3d.advance(1)
    paused = i3d.http.put(f"{TASKS}/{task_id}").json()[0]
    assert (paused["resultCode"], paused["lastActivityAt"]) == (2, start + 1)
    i3d.advance(1000)
    assert i3d.task(task_id)["resultCode"] == 2
    resumed = i3d.http.put(f"{TASKS}/{task_id}").json()[0]
    assert (resumed["resultCode"], resumed["currentActionIdx"]) == (1, 0)
    assert resumed["lastActivityAt"] == start + 1001
    i3d.advance(6)
    task = i3d.task(task_id)
    assert task["resultCode"] in (126, 127) and task["finishedAt"] == start + 1007


def test_delete_cancels_and_the_task_stays_readable(i3d):
    batch, task_id = start_task(i3d, instances=("1001", "1002"))
    i3d.advance(2)
    cancelled = i3d.http.delete(f"{TASKS}/{task_id}")
    assert cancelled.status_code == 200
    (task,) = cancelled.json()
    assert task["resultCode"] == 125 and task["finishedAt"] == int(i3d.now())
    i3d.advance(3600)
    assert i3d.task(task_id)["resultCode"] == 125
    assert i3d.batch(batch["id"])["numTasksCancelled"] == 1


def test_delete_of_a_paused_task_cancels_it(i3d):
    _, task_id = start_task(i3d)
    i3d.http.put(f"{TASKS}/{task_id}")
    assert i3d.http.delete(f"{TASKS}/{task_id}").json()[0]["resultCode"] == 125


@pytest.mark.parametrize("method", ["put", "delete"])
def test_pause_or_cancel_of_a_finished_or_cancelled_task_is_409(i3d, method):
    _, finished = start_task(i3d, template="1", instances=("1003",))
    _, cancelled = start_task(i3d, template="1", instances=("1004",))
    i3d.http.delete(f"{TASKS}/{cancelled}")
    i3d.advance(3600)
    for task_id in (finished, cancelled):
        before = i3d.task(task_id)
        response = getattr(i3d.http, method)(f"{TASKS}/{task_id}")
        assert response.status_code == 409
        assert response.json()["errors"][0]["property"] == "taskId"
        assert i3d.task(task_id) == before


@pytest.mark.parametrize("task_id", ["abc", "1.5", "99999999", "-1"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_non_integer_or_unknown_task_id_is_404(i3d, method, task_id):
    response = i3d.http.request(method.upper(), f"{TASKS}/{task_id}")
    assert response.status_code == 404
    assert response.json()["errorCode"] == 10001


def test_unknown_batch_id_is_404(i3d):
    assert i3d.http.get(f"{BATCHES}/424242").status_code == 404
    assert i3d.http.get(f"{BATCHES}/x").status_code == 404


# -- lists ------------------------------------------------------------------------------------------
def test_lists_hold_the_last_100_newest_first(i3d):
    for _ in range(6):
        i3d.create(taskTemplateId="1", fleetId="1", regionId="1")     # 5 + 5 instances: 10 tasks a batch
    tasks = i3d.http.get(TASKS).json()
    batches = i3d.http.get(BATCHES).json()
    assert len(tasks) == 100
    assert [t["id"] for t in tasks] == sorted((t["id"] for t in tasks), reverse=True)
    assert [b["id"] for b in batches] == sorted((b["id"] for b in batches), reverse=True)
    newest = i3d.create(taskTemplateId="1", applicationInstanceIds=["1020"])[0]
    assert i3d.http.get(TASKS).json()[0]["id"] == newest["taskIds"][0]


def test_batch_counters_always_agree_with_its_tasks(i3d):
    (batch,) = i3d.create(taskTemplateId="3", fleetId="1", taskActionParam=STOP_PARAMS)
    first, second = batch["taskIds"][:2]
    i3d.http.delete(f"{TASKS}/{first}")
    i3d.http.put(f"{TASKS}/{second}")
    for step in (0, 3, 4, 3600):
        i3d.advance(step)
        view = i3d.batch(batch["id"])
        codes = [i3d.task(t)["resultCode"] for t in view["taskIds"]]
        assert view["numTasks"] == len(codes)
        assert (view["numTasksOk"], view["numTasksFailed"], view["numTasksCancelled"]) == (
            codes.count(127), codes.count(126), codes.count(125))
        assert view["finishedAt"] == 0, "a paused task keeps its batch open"
    i3d.http.put(f"{TASKS}/{second}")
    i3d.advance(3600)
    view = i3d.batch(batch["id"])
    assert view["finishedAt"] == max(i3d.task(t)["finishedAt"] for t in view["taskIds"]) > 0


# -- bad input --------------------------------------------------------------------------------------
BAD_BODIES = {
    "malformed JSON": ({"content-type": "application/json"}, b'{"taskTemplateId": "1",'),
    "wrong content type": ({"content-type": "text/plain"}, b"taskTemplateId=1"),
    "form instead of JSON": ({"content-type": "application/x-www-form-urlencoded"}, b"taskTemplateId=1"),
    "not an object": ({"content-type": "application/json"}, b'["1"]'),
    "unknown field": ({"content-type": "application/json"},
                      json.dumps({"taskTemplateId": "1", "applicationInstanceIds": ["1001"], "x": 1}).encode()),
    "wrong type": ({"content-type": "application/json"}, b'{"taskTemplateId": 1}'),
    "deeply nested": ({"content-type": "application/json"},
                      b'{"taskTemplateId": "1", "labels": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "huge": ({"content-type": "application/json"},
             json.dumps({"taskTemplateId": "1", "applicationInstanceIds": ["1001"] * 300_000}).encode()),
    "not UTF-8": ({"content-type": "application/json"}, b'{"taskTemplateId": "\xff\xfe"}'),
    "empty": ({"content-type": "application/json"}, b""),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_create_body_gets_422_error_body_and_no_state_change(i3d, case):
    headers, content = BAD_BODIES[case]
    before = (i3d.http.get(TASKS).json(), i3d.http.get(BATCHES).json())
    response = i3d.http.post(TASKS, headers=headers, content=content)
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"errorCode", "errorMessage", "errors"} and body["errorCode"] == 10422
    assert (i3d.http.get(TASKS).json(), i3d.http.get(BATCHES).json()) == before


def test_undeclared_method_gets_405_with_allow(i3d):
    response = i3d.http.patch(TASKS)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["errorCode"] == 10405


def test_every_response_of_a_session_conformed_to_the_spec(server, i3d):
    start_task(i3d)
    i3d.create(expect=422, taskTemplateId="0")
    journal = server.client().get("/__admin/requests", params={"limit": 1000}).json()
    checked = [e for e in journal if e["operationId"]]
    assert checked and all(e["response"] == "valid" for e in checked), [
        e for e in checked if e["response"] != "valid"]


# -- i3D's full official spec: the single-instance endpoints share the same tasks ----------------
@pytest.fixture(scope="module")
def official(request):
    from .conftest import CLOCK_START, OFFICIAL_I3D, start_server

    server = start_server("--spec", str(OFFICIAL_I3D), "--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    request.addfinalizer(server.kill)
    return server


@pytest.mark.parametrize(("action", "body", "template"), [
    ("start", None, 1), ("stop", {"methodId": 2, "timeout": 60}, 2), ("restart", {}, 3),
    ("deploy", {"applicationBuildId": "7001"}, 4)])
def test_single_instance_shortcuts_create_a_task_of_their_template(official, action, body, template):
    i3d = I3D(official)
    response = i3d.http.post(f"/v3/applicationInstance/1007/{action}", json=body) if body is not None \
        else i3d.http.post(f"/v3/applicationInstance/1007/{action}")
    assert response.status_code == 200, response.text
    (task,) = response.json()
    assert (task["entityId"], task["name"], task["resultCode"]) == (1007, TEMPLATES[template]["name"], 1)
    assert task["id"] in [t["id"] for t in i3d.http.get(TASKS).json()]
    assert i3d.http.get("/v3/applicationInstance/1007/task").json()[0] == task
    assert I3D(official, OTHER_TOKEN).http.get("/v3/applicationInstance/1007/task").json() == []


def test_single_instance_endpoints_404_on_an_unknown_instance(official):
    i3d = I3D(official)
    assert i3d.http.post("/v3/applicationInstance/4242/start").status_code == 404
    assert i3d.http.get("/v3/applicationInstance/4242/task").json()["errorCode"] == 10001
