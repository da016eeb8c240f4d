"""The Drove controller stand-in over a served mock (strict, frozen clock): every behaviour of the
issue proven over HTTP, with the virtual clock frozen and advanced."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from mock_server.apis.drove.lifecycle import run_plan

from .conftest import CLOCK_START, Server, start_server

ADMIN, GUEST = ("admin", "admin"), ("guest", "guest")
OP_SPEC = {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}
TEXT_401 = "Credentials are required to access this resource."
# Run 10 s, exit 0: PENDING [0,1) PROVISIONING [1,4) STARTING [4,5) RUNNING [5,15)
# RUN_COMPLETED [15,16) DEPROVISIONING [16,18) STOPPED from 18.
TABLE = [(0, "PENDING"), (0.99, "PENDING"), (1, "PROVISIONING"), (4, "STARTING"), (5, "RUNNING"),
         (14.9, "RUNNING"), (15, "RUN_COMPLETED"), (16, "DEPROVISIONING"), (17.9, "DEPROVISIONING"), (18, "STOPPED")]


def spec(task_id: str, *, app: str = "TEST_APP", run: int | None = 10, exit_code: int | None = 0, **extra) -> dict:
    env = {}
    if run is not None:
        env["MOCK_RUN_SECONDS"] = str(run)
    if exit_code is not None:
        env["MOCK_EXIT_CODE"] = str(exit_code)
    return {"sourceAppName": app, "taskId": task_id,
            "executable": {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task", "dockerPullTimeout": "100 seconds"},
            "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 512}],
            "placementPolicy": {"type": "ANY"}, "env": env, **extra}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    started = start_server("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    yield started
    started.kill()


@pytest.fixture
def drove(server) -> Iterator[Drove]:
    """A client on a freshly reset mock (the fixtures again, the clock where it is)."""
    with server.client() as http:
        assert http.post("/__admin/reset").status_code == 200
        yield Drove(http)
        journal = http.get("/__admin/requests", params={"limit": 1000}).json()
        broken = [e for e in journal if e["response"].startswith(("invalid", "undocumented"))]
        assert not broken, f"answers that break the spec: {broken}"


class Drove:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.t0 = http.get("/__admin/clock").json()["now"]

    def at(self, seconds: float) -> None:
        """Move the virtual clock to ``t0 + seconds``."""
        now = self.http.get("/__admin/clock").json()["now"]
        assert self.http.post("/__admin/clock/advance", json={"seconds": self.t0 + seconds - now}).status_code == 200

    def create(self, body: dict, auth=ADMIN) -> httpx.Response:
        return self.http.post("/apis/v1/tasks/operations", json={"type": "CREATE", "spec": body, "opSpec": OP_SPEC},
                              auth=auth)

    def kill(self, task_id: str, app: str = "TEST_APP", auth=ADMIN) -> httpx.Response:
        return self.http.post("/apis/v1/tasks/operations", auth=auth,
                              json={"type": "KILL", "sourceAppName": app, "taskId": task_id, "opSpec": OP_SPEC})

    def show(self, task_id: str, app: str = "TEST_APP") -> dict:
        answer = self.http.get(f"/apis/v1/tasks/{app}/instances/{task_id}", auth=ADMIN)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def info(self, task_id: str, app: str = "TEST_APP") -> dict:
        body = self.show(task_id, app)
        assert body["status"] == "SUCCESS", body
        return body["data"]

    def listed(self) -> list[str]:
        answer = self.http.get("/apis/v1/tasks", auth=ADMIN)
        assert answer.status_code == 200 and answer.json()["status"] == "SUCCESS", answer.text
        return [f"{t['sourceAppName']}/{t['taskId']}" for t in answer.json()["data"]]

    def delete(self, task_id: str, app: str = "TEST_APP") -> httpx.Response:
        return self.http.delete(f"/apis/v1/tasks/{app}/instances/{task_id}", auth=ADMIN)

    def log(self, task_id: str, app: str = "TEST_APP") -> str:
        answer = self.http.get(f"/apis/v1/logfiles/tasks/{app}/{task_id}/download/output.log", auth=ADMIN)
        assert answer.status_code == 200, answer.text
        return answer.text


def refused(answer: httpx.Response, message: str = "Command validation failure") -> list[str]:
    """The validation errors of Drove's 400 answer."""
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert (body["status"], body["message"]) == ("FAILED", message), body
    return body["data"]["validationErrors"]


# -- auth -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, ("admin", "wrong"), ("nobody", "admin")], ids=["none", "bad-password",
                                                                                      "unknown-user"])
@pytest.mark.parametrize("method, path", [("GET", "/apis/v1/ping"), ("GET", "/apis/v1/tasks"),
                                          ("POST", "/apis/v1/tasks/operations"),
                                          ("GET", "/apis/v1/tasks/TEST_APP/instances/T0012")])
def test_missing_or_wrong_credentials_get_the_servers_plain_text_401(drove, auth, method, path):
    answer = drove.http.request(method, path, auth=auth, json={"type": "KILL"} if method == "POST" else None)
    assert (answer.status_code, answer.text) == (401, TEXT_401)
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["www-authenticate"] == 'Basic realm="realm"'


def test_admin_may_operate_and_guest_gets_an_empty_403_on_task_operations_only(drove):
    assert drove.create(spec("G1")).json()["status"] == "SUCCESS"
    for answer in (drove.create(spec("G2"), auth=GUEST), drove.kill("G1", auth=GUEST)):
        assert (answer.status_code, answer.content) == (403, b""), answer.text
    assert drove.info("G1")["state"] == "PENDING", "the guest's kill changed nothing"
    assert drove.show("G2")["status"] == "FAILED", "the guest's create stored nothing"
    assert drove.http.get("/apis/v1/tasks", auth=GUEST).json()["status"] == "SUCCESS", "guest reads"
    assert drove.http.get("/apis/v1/ping", auth=GUEST).json() == {"status": "SUCCESS", "data": "pong",
                                                                  "message": "success"}
    drove.at(2)
    logs = drove.http.get("/apis/v1/logfiles/tasks/TEST_APP/G1/list", auth=GUEST)
    assert logs.json() == {"files": ["output.log"]}, "log files need a read role only"


# -- envelope and encoding ------------------------------------------------------------------------
def test_the_envelope_omits_nulls_and_writes_dates_as_epoch_ms_and_durations_long(drove):
    created = drove.create(spec("E1"))
    assert created.json() == {"status": "SUCCESS", "data": {"taskId": "TEST_APP-E1"}, "message": "success"}
    info = drove.info("E1")
    assert "hostname" not in info and "taskResult" not in info and "volumes" not in info, "unset = absent"
    assert not [k for k, v in info.items() if v is None], "no null anywhere"
    assert info["created"] == info["updated"] == int(drove.t0 * 1000), "epoch milliseconds"
    assert info["executable"]["dockerPullTimeout"] == "100 seconds"
    short = spec("E2", executable={"url": "x", "dockerPullTimeout": "5m"})
    assert drove.create(short).status_code == 200
    assert drove.info("E2")["executable"] == {"type": "DOCKER", "url": "x", "dockerPullTimeout": "5 minutes"}


def test_enums_match_case_insensitively_and_unknown_properties_are_ignored(drove):
    lenient = spec("L1", volumes=[{"pathInContainer": "/data", "pathOnHost": "/mnt/x", "mode": "read-only"}],
                   someFutureField={"any": "thing"})
    answer = drove.http.post("/apis/v1/tasks/operations", auth=ADMIN, json={
        "type": "CREATE", "spec": lenient, "opSpec": {**OP_SPEC, "failureStrategy": "stop"}, "extra": 1})
    assert answer.json()["data"] == {"taskId": "TEST_APP-L1"}, answer.text
    info = drove.info("L1")
    assert info["volumes"] == [{"pathInContainer": "/data", "pathOnHost": "/mnt/x", "mode": "READ_ONLY"}]
    assert "someFutureField" not in info
    refusal = drove.http.post("/apis/v1/tasks/operations", auth=ADMIN,
                              json={"type": "create", "spec": spec("L2"), "opSpec": OP_SPEC})
    (message,) = refused(refusal, "JSON validation failure")
    assert message.startswith("Could not resolve type id 'create'"), "type ids are exact, unlike enums"


# -- create and kill ------------------------------------------------------------------------------
def test_create_reports_every_problem_of_the_spec_at_once(drove):
    bad = {"sourceAppName": "TEST_APP", "taskId": "has space", "executable": {"url": ""}, "resources": []}
    errors = refused(drove.http.post("/apis/v1/tasks/operations", auth=ADMIN, json={
        "type": "CREATE", "spec": bad, "opSpec": {"timeout": "5m", "failureStrategy": "STOP"}}))
    assert errors == ["spec.taskId - Only characters, numbers, hyphen and underscore is allowed",
                      "spec.executable.url - Specify url for container",
                      "spec.executable.dockerPullTimeout - Specify container fetch (docker pull) timeout",
                      "spec.resources - CPU/Memory requirements must be specified",
                      "opSpec.parallelism must be greater than or equal to 1"]
    semantic = spec("S1", volumes=[{"pathInContainer": "/x", "pathOnHost": "/etc/secrets", "mode": "READ_WRITE"}],
                    resources=[{"type": "CPU", "count": 40}, {"type": "MEMORY", "sizeInMB": 512}],
                    devices=[{"type": "DIRECT", "pathOnHost": "/dev/fuse"}])
    assert refused(drove.create(semantic)) == [
        "Volume mount requested on non whitelisted host directory: /etc/secrets",
        "Device access is disabled. To enable, set enableRawDeviceAccess: true in controller options.",
        "Cluster does not have enough CPU. Required: 40 Available: 31",
        "Required cores exceeds the maximum core available on a single NUMA node in the cluster. "
        "Required: 40 Max: 8"]
    assert drove.show("S1")["status"] == "FAILED", "a refused create stores nothing"


def test_a_duplicate_id_is_refused_even_once_finished_until_deleted(drove):
    assert drove.create(spec("D1")).status_code == 200
    duplicate = ["Task already exists for TEST_APP/D1 with taskID: TEST_APP-D1"]
    assert refused(drove.create(spec("D1"))) == duplicate
    drove.at(60)
    assert drove.info("D1")["state"] == "STOPPED"
    assert refused(drove.create(spec("D1"))) == duplicate, "a finished task still holds its id"
    assert refused(drove.create(spec("T0012"))) == [
        "Task already exists for TEST_APP/T0012 with taskID: TEST_APP-T0012"], "the fixture's finished task too"
    assert drove.delete("D1").json() == {"status": "SUCCESS", "data": {"deleted": True}, "message": "success"}
    assert drove.create(spec("D1")).json()["data"] == {"taskId": "TEST_APP-D1"}, "after DELETE the id is free"
    assert drove.info("D1")["state"] == "PENDING" and drove.info("D1")["created"] == int((drove.t0 + 60) * 1000)


def test_kill_of_an_unknown_or_finished_task_is_refused(drove):
    assert refused(drove.kill("NOPE")) == ["Either task does not exist or has already finished for TEST_APP/NOPE"]
    assert refused(drove.kill("T0012")) == [
        "Either task does not exist or has already finished for TEST_APP/T0012"], "the fixture's finished task"
    assert drove.kill("nightly-export-20261201", app="reports-app").json()["data"] == {
        "taskId": "nightly-export-20261201"}, "the fixture's running task can be killed"


def test_create_and_kill_answer_at_once_and_the_work_happens_over_the_virtual_clock(drove):
    assert drove.create(spec("C1", run=600)).json()["status"] == "SUCCESS"
    assert drove.info("C1")["state"] == "PENDING", "nothing ran yet: the clock is frozen"
    drove.at(7)
    assert drove.info("C1")["state"] == "RUNNING"
    assert drove.kill("C1").json() == {"status": "SUCCESS", "data": {"taskId": "C1"}, "message": "success"}
    assert drove.info("C1")["state"] == "RUN_COMPLETED", "the kill took effect at once, the clean-up takes time"
    drove.at(8)
    assert drove.info("C1")["state"] == "DEPROVISIONING"
    drove.at(10)
    info = drove.info("C1")
    assert (info["state"], info["taskResult"]) == ("STOPPED", {"status": "CANCELLED", "exitCode": -1})
    assert info["updated"] == int((drove.t0 + 10) * 1000), "updated: when STOPPED was reached"


# -- the lifecycle table ----------------------------------------------------------------------------
def test_a_task_walks_the_lifecycle_table_to_stopped_successful(drove):
    assert drove.create(spec("W1")).status_code == 200
    seen = []
    for offset, state in TABLE:
        drove.at(offset)
        info = drove.info("W1")
        seen.append((offset, info["state"]))
        assert ("hostname" in info) == (offset >= 5), f"hostname only once the container runs ({state})"
        assert ("taskResult" in info) == (offset >= 15), f"taskResult only once the run is over ({state})"
        assert info["executorId"] and re.fullmatch(r"TI-[0-9a-f-]{36}", info["instanceId"])
    assert seen == TABLE
    assert drove.info("W1")["taskResult"] == {"status": "SUCCESSFUL", "exitCode": 0}
    assert drove.info("W1")["errorMessage"] == ""


def test_a_forced_exit_code_ends_stopped_failed_with_that_code(drove):
    assert drove.create(spec("F1", exit_code=3)).status_code == 200
    drove.at(14.9)
    assert "taskResult" not in drove.info("F1")
    drove.at(15)
    info = drove.info("F1")
    assert (info["state"], info["taskResult"]) == ("RUN_COMPLETED", {"status": "FAILED", "exitCode": 3})
    assert info["errorMessage"] == "Task instance exited with status: 3"
    drove.at(18)
    assert drove.info("F1")["state"] == "STOPPED"
    assert "exiting with status 3" in drove.log("F1")


def test_without_forcing_a_seeded_share_fails_exactly_as_the_seed_says(drove):
    ids = [f"R{i}" for i in range(12)]
    for task_id in ids:
        assert drove.create(spec(task_id, run=None, exit_code=None)).status_code == 200
    drove.at(30)  # the default run is 20 s
    results = {t: drove.info(t)["taskResult"] for t in ids}
    expected = {t: run_plan(1, "TEST_APP", t, {})[1] for t in ids}   # the server's seed is 1
    assert {t: r["exitCode"] for t, r in results.items()} == expected
    assert {t: r["status"] for t, r in results.items()} == {
        t: "SUCCESSFUL" if code == 0 else "FAILED" for t, code in expected.items()}
    assert any(code != 0 for code in expected.values()), "this sample holds a failing task"


def test_resources_are_the_allocation_on_one_numa_node(drove):
    assert drove.create(spec("A1", resources=[{"type": "CPU", "count": 3}, {"type": "MEMORY", "sizeInMB": 2048}],
                             placementPolicy={"type": "MATCH_TAG", "tag": "highmem"})).status_code == 200
    drove.at(6)
    info = drove.info("A1")
    (cpu, memory) = info["resources"]
    assert cpu["type"] == "CPU" and memory["type"] == "MEMORY"
    (node,) = cpu["cores"]
    assert len(cpu["cores"][node]) == 3 and memory["memoryInMB"] == {node: 2048}
    assert info["hostname"] == "drove-exec-03.local", "MATCH_TAG highmem lands on the tagged executor"


# -- reads and delete -------------------------------------------------------------------------------
def test_the_list_holds_active_tasks_only_and_show_any_state(drove):
    assert sorted(drove.listed()) == ["reports-app/adhoc-query-77", "reports-app/nightly-export-20261201"]
    for app, task_id, state in [("TEST_APP", "T0012", "STOPPED"), ("billing-app", "invoice-run-0417", "STOPPED"),
                                ("billing-app", "invoice-run-0418", "STOPPED"),
                                ("reports-app", "nightly-export-20261201", "RUNNING"),
                                ("reports-app", "adhoc-query-77", "PROVISIONING")]:
        assert drove.info(task_id, app)["state"] == state, task_id
    assert drove.info("invoice-run-0418", "billing-app")["taskResult"] == {"status": "CANCELLED", "exitCode": -1}
    assert drove.create(spec("V1")).status_code == 200
    assert "TEST_APP/V1" in drove.listed()
    drove.at(18)
    assert "TEST_APP/V1" not in drove.listed() and drove.info("V1")["state"] == "STOPPED"


def test_an_unknown_task_is_a_200_failed_without_data(drove):
    assert drove.show("NOPE") == {"status": "FAILED", "message": "No such task instance TEST_APP/NOPE"}
    odd = drove.http.get("/apis/v1/tasks/a%0Ab/instances/x", auth=ADMIN)
    assert odd.json() == {"status": "FAILED", "message": "No such task instance a\nb/x"}, "ids are taken as sent"


def test_delete_removes_a_task_in_any_state_and_a_second_delete_fails_with_200(drove):
    assert drove.create(spec("X1", run=600)).status_code == 200
    drove.at(7)
    assert drove.info("X1")["state"] == "RUNNING"
    assert drove.delete("X1").json() == {"status": "SUCCESS", "data": {"deleted": True}, "message": "success"}
    assert drove.show("X1")["status"] == "FAILED" and "TEST_APP/X1" not in drove.listed()
    again = drove.delete("X1")
    assert (again.status_code, again.json()) == (200, {"status": "FAILED", "data": {"deleted": False},
                                                       "message": "Could not delete TEST_APP/X1"})
    assert drove.http.delete("/apis/v1/tasks/TEST_APP/instances/T0012", auth=GUEST).json()["data"] == {
        "deleted": True}, "DELETE needs no write role (@PermitAll)"


# -- validate, ping, search -------------------------------------------------------------------------
def test_validate_spec_checks_like_create_without_storing(drove):
    ok = drove.http.post("/apis/v1/tasks/validate/spec", auth=ADMIN, json=spec("T0012"))
    assert ok.json() == {"status": "SUCCESS", "message": "success"}, "no duplicate check, no data key"
    bad = drove.http.post("/apis/v1/tasks/validate/spec", auth=ADMIN, json={**spec("Z1"), "taskId": ""})
    assert refused(bad) == ["taskId - Task ID is mandatory"], "paths without `spec.`"
    assert drove.show("Z1")["status"] == "FAILED"


def test_ping_answers_pong(drove):
    assert drove.http.get("/apis/v1/ping", auth=ADMIN).json() == {"status": "SUCCESS", "data": "pong",
                                                                  "message": "success"}


def test_search_is_a_form_post_answered_with_a_303_to_the_ui(drove):
    found = drove.http.post("/apis/v1/tasks/search", auth=ADMIN,
                            data={"taskSearchAppName": "TEST_APP", "taskSearchTaskID": "T0012"})
    assert (found.status_code, found.headers["location"], found.content) == (303, "/tasks/TEST_APP/T0012", b"")
    missing = drove.http.post("/apis/v1/tasks/search", auth=ADMIN,
                              data={"taskSearchAppName": "TEST_APP", "taskSearchTaskID": "nope"})
    assert (missing.status_code, missing.headers["location"]) == (303, "/")
    assert refused(drove.http.post("/apis/v1/tasks/search", auth=ADMIN, data={"taskSearchAppName": "a b"})) == [
        'form field taskSearchAppName must match "[a-zA-Z\\d\\-_]*"', "form field taskSearchTaskID must not be empty"]


# -- log files --------------------------------------------------------------------------------------
def test_log_files_are_listed_read_and_downloaded_and_grow_as_the_task_runs(drove):
    assert drove.create(spec("LOG1", run=30, env={"ITERATIONS": "5", "MOCK_RUN_SECONDS": "30"})).status_code == 200
    base = "/apis/v1/logfiles/tasks/TEST_APP/LOG1"
    drove.at(2)
    assert drove.http.get(f"{base}/list", auth=ADMIN).json() == {"files": ["output.log"]}
    early = drove.log("LOG1")
    assert "Pulling docker image: ghcr.io/appform-io/test-task" in early and "Iteration" not in early
    drove.at(20)
    middle = drove.log("LOG1")
    assert middle.startswith(early) and "Starting to monitor TEST_APP/LOG1" in middle and "Iteration 2 of 5" in middle
    end = drove.http.get(f"{base}/read/output.log", auth=ADMIN).json()
    assert end == {"data": "", "offset": len(middle.encode())}, "the defaults: no data, the file's size"
    chunk = drove.http.get(f"{base}/read/output.log", params={"offset": 10, "length": 30}, auth=ADMIN).json()
    assert chunk == {"data": middle.encode()[10:40].decode(), "offset": 10}
    drove.at(60)
    final = drove.log("LOG1")
    assert final.startswith(middle) and "Task completed successfully" in final and "Removed container" in final
    for line in final.splitlines():
        assert re.match(r"(INFO |WARN |ERROR) \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] \[\w+\] ", line), line
    renamed = drove.http.get(f"{base}/download/output.log", params={"rename": "true"}, auth=ADMIN)
    assert re.fullmatch(r"attachment; filename=TEST_APP_LOG1_output.log-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d",
                        renamed.headers["content-disposition"])
    assert drove.http.get("/apis/v1/logfiles/tasks/TEST_APP/NOPE/list", auth=ADMIN).status_code == 204
    below = drove.http.get(f"{base}/read/output.log", params={"offset": -2}, auth=ADMIN)
    assert refused(below) == ["query param offset must be greater than or equal to -1"]
    not_a_number = drove.http.get(f"{base}/read/output.log", params={"offset": "abc"}, auth=ADMIN)
    assert (not_a_number.status_code, not_a_number.content) == (404, b""), "Jersey cannot convert it"


# -- bad input ------------------------------------------------------------------------------------
JSON = {"Content-Type": "application/json"}
BAD_BODIES = {
    "malformed JSON": (b'{"type": "CREATE", ', "JSON validation failure"),
    "unknown operation type": (b'{"type": "RESTART"}', "JSON validation failure"),
    "wrong type for a number": (b'{"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": '
                                b'{"timeout": "5m", "parallelism": "two", "failureStrategy": "STOP"}}',
                                "JSON validation failure"),
    "a list where an object is due": (b'[1, 2]', "JSON validation failure"),
    "no body": (b"", "Command validation failure"),
    "a 10 MB body": (b'{"type": "CREATE", "spec": {"taskId": "' + b"a" * 10_000_000 + b'"}}',
                     "Command validation failure"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_input_gets_the_servers_400_failed_answer_never_a_500(drove, case):
    body, message = BAD_BODIES[case]
    answer = drove.http.post("/apis/v1/tasks/operations", content=body, headers=JSON, auth=ADMIN)
    (error,) = refused(answer, message)
    assert error, case


def test_a_spec_without_placement_policy_is_placed_like_any_by_default(drove):
    body = {k: v for k, v in spec("P1").items() if k != "placementPolicy"}
    assert drove.create(body).json()["data"] == {"taskId": "TEST_APP-P1"}, (
        "the 1.33.3 server's NPE 500 is off by default (cluster.options.missingPlacementPolicyFails)")


# -- the admin export and import ------------------------------------------------------------------
SECRET_VALUES = ("http-pw-7q", "Bearer auth-hdr-7q", "hdr-key-7q", "ZGItY29uZi03cQ==", "env-pw-7q", "env-tk-7q")


def secret_spec(task_id: str) -> dict:
    """A spec with every kind of secret a Drove task carries: the credentials of a config fetched
    over HTTP, an inline config file, environment variables named like a secret."""
    http = {"protocol": "HTTPS", "hostname": "cfg.example", "port": 443, "path": "/app.conf", "verb": "GET",
            "username": "cfg-user", "password": SECRET_VALUES[0], "authHeader": SECRET_VALUES[1],
            "headers": {"X-Api-Key": SECRET_VALUES[2]}}
    return spec(task_id, configs=[{"type": "CONTROLLER_HTTP_FETCH", "localFilename": "/etc/app.conf", "http": http},
                                  {"type": "INLINE", "localFilename": "/etc/db.conf", "data": SECRET_VALUES[3]}],
                env={"MOCK_RUN_SECONDS": "10", "DB_PASSWORD": SECRET_VALUES[4], "api_token": SECRET_VALUES[5],
                     "RUN_DATE": "2026-12-01"})


def state(drove: Drove, secrets: bool = False) -> dict:
    answer = drove.http.get("/__admin/state", params={"secrets": "true"} if secrets else {})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_export_masks_a_tasks_fetch_credentials_config_files_and_secret_env(drove):
    assert drove.create(secret_spec("S1")).json()["status"] == "SUCCESS"
    masked, full = state(drove), state(drove, secrets=True)
    text = json.dumps(masked)
    assert not [s for s in SECRET_VALUES if s in text], "every secret of the spec is masked"
    assert all(s in json.dumps(full) for s in SECRET_VALUES), "?secrets=true exports them as stored"
    shown = masked["collections"]["drove/tasks"]["TEST_APP/S1"]["spec"]
    assert shown["configs"][0]["http"]["hostname"] == "cfg.example" and shown["configs"][0]["http"]["username"] \
        == "cfg-user" and set(shown["configs"][0]["http"]["headers"]) == {"X-Api-Key"}, "what is no secret stays"
    assert (shown["env"]["MOCK_RUN_SECONDS"], shown["env"]["RUN_DATE"]) == ("10", "2026-12-01")


def test_an_export_imports_back_with_its_tasks_and_the_users_still_authenticate(drove):
    assert drove.create(secret_spec("S1")).json()["status"] == "SUCCESS"
    exported = state(drove, secrets=True)
    assert drove.create(spec("AFTER")).json()["status"] == "SUCCESS"
    imported = drove.http.put("/__admin/state", json=exported)
    assert imported.status_code == 200, imported.text
    assert state(drove, secrets=True)["collections"] == exported["collections"], "the export is the state again"
    assert drove.info("S1")["env"]["DB_PASSWORD"] == SECRET_VALUES[4], "the imported task is served as stored"
    assert drove.show("AFTER")["status"] == "FAILED", "what came after the export is gone"
    assert drove.create(spec("AFTER")).json()["status"] == "SUCCESS", "and its id is free again"
    refused(drove.create(spec("S1")))   # the imported one still holds its id
    assert drove.create(spec("G1"), auth=GUEST).status_code == 403, "the users and their roles are as before"


BAD_TASKS = {
    "filed under another id": ("TEST_APP/OTHER", {}, "its key must be its '{sourceAppName}/{taskId}'"),
    "without an allocation": ("TEST_APP/T0012", {"allocation": None}, "at allocation"),
    "run seconds as text": ("TEST_APP/T0012", {"runSeconds": "ten"}, "at runSeconds"),
    "a spec without its executable": ("TEST_APP/T0012", {"spec": {"sourceAppName": "TEST_APP", "taskId": "T0012"}},
                                      "'executable' is a required property"),
}


@pytest.mark.parametrize("case", list(BAD_TASKS))
def test_an_import_of_a_malformed_or_misfiled_task_is_refused_with_400_and_changes_nothing(drove, case):
    key, changes, why = BAD_TASKS[case]
    before = state(drove, secrets=True)
    bad = copy.deepcopy(before)
    tasks = bad["collections"]["drove/tasks"]
    tasks[key] = {**tasks.pop("TEST_APP/T0012"), **changes}
    answer = drove.http.put("/__admin/state", json=bad)
    assert answer.status_code == 400, answer.text
    assert "nothing changed" in answer.json()["detail"] and why in answer.json()["detail"], answer.json()["detail"]
    after = state(drove, secrets=True)
    assert (after["collections"], after["sequences"]) == (before["collections"], before["sequences"])
