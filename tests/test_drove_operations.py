"""The Drove operations (one pure function per operationId) over the engine's MemoryStore: each
answer is checked against the merged spec with openapi-core, and the real drove-cli 0.0.14 runs
unchanged against a stdlib HTTP server that only routes requests onto these functions."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from mock_server import PROJECT_ROOT
from mock_server.apis.drove import operations as ops
from mock_server.apis.drove import render
from mock_server.apis.drove.cluster import Cluster
from mock_server.response_check import ResponseChecker
from mock_server.spec import SpecIndex
from mock_server.store import MemoryStore
from tests import drove_cli

SETTINGS = yaml.safe_load((PROJECT_ROOT / "fixtures" / "drove.yaml").read_text())
DOC = yaml.safe_load((PROJECT_ROOT / "specs" / "openapi.yaml").read_text())
INDEX, CHECKER = SpecIndex(DOC), ResponseChecker(DOC)
T0 = 1767225600.0
SPEC = {
    "sourceAppName": "TEST_APP", "taskId": "T0100",
    "executable": {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task", "dockerPullTimeout": "100 seconds"},
    "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 512}],
    "placementPolicy": {"type": "ANY"}, "volumes": [],
    "logging": {"type": "LOCAL", "maxSize": "100m", "maxFiles": 3, "compress": True},
    "env": {"ITERATIONS": "5", "MOCK_RUN_SECONDS": "10", "MOCK_EXIT_CODE": "0"},
}
OP_SPEC = {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}


def encoded(answer: render.Answer) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = answer.body
    data = b"" if body is None else body if isinstance(body, bytes) else body.encode() if isinstance(body, str) \
        else json.dumps(body).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
    if answer.media_type and body is not None:
        headers.append((b"content-type", answer.media_type.encode()))
    return headers, data


def conforms(op_id: str, answer: render.Answer) -> render.Answer:
    headers, data = encoded(answer)
    verdict = CHECKER.check(INDEX.operations[op_id], answer.status, headers, data)
    assert verdict == "", f"{op_id} {answer.status} does not conform to the spec: {verdict}\n{answer.body!r}"
    return answer


class Controller:
    """The stand-in over a MemoryStore and a settable clock."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.now = T0
        self.cluster = ops.load_fixtures(self.store, SETTINGS, now=T0, seed=1)

    def operate(self, body) -> render.Answer:
        return conforms("taskOperation", ops.task_operation(self.store, body, now=self.now, seed=1,
                                                            cluster=self.cluster))


@pytest.fixture
def drove() -> Controller:
    return Controller()


def test_create_show_list_kill_delete_and_every_answer_conforms(drove):
    created = drove.operate({"type": "CREATE", "spec": SPEC, "opSpec": OP_SPEC})
    assert created.body == {"status": "SUCCESS", "data": {"taskId": "TEST_APP-T0100"}, "message": "success"}
    duplicate = drove.operate({"type": "CREATE", "spec": SPEC, "opSpec": OP_SPEC})
    assert duplicate.status == 400
    assert duplicate.body["data"]["validationErrors"] == [
        "Task already exists for TEST_APP/T0100 with taskID: TEST_APP-T0100"]
    for offset in (0.5, 2, 4.5, 6, 15.5, 17, 100):
        drove.now = T0 + offset
        shown = conforms("getTaskInstance", ops.get_task(drove.store, "TEST_APP", "T0100", now=drove.now))
        listed = conforms("listTasks", ops.list_tasks(drove.store, now=drove.now))
        state = shown.body["data"]["state"]
        in_list = [t["taskId"] for t in listed.body["data"]]
        assert ("T0100" in in_list) == (state != "STOPPED"), f"{state} at +{offset}s, list {in_list}"
    assert shown.body["data"]["taskResult"] == {"status": "SUCCESSFUL", "exitCode": 0}
    assert shown.body["data"]["loggingSpec"]["type"] == "LOCAL"
    late_kill = drove.operate({"type": "KILL", "sourceAppName": "TEST_APP", "taskId": "T0100", "opSpec": OP_SPEC})
    assert late_kill.body["data"]["validationErrors"] == [
        "Either task does not exist or has already finished for TEST_APP/T0100"]
    deleted = conforms("deleteTaskInstance", ops.delete_task(drove.store, "TEST_APP", "T0100"))
    assert deleted.body == {"status": "SUCCESS", "data": {"deleted": True}, "message": "success"}
    again = conforms("deleteTaskInstance", ops.delete_task(drove.store, "TEST_APP", "T0100"))
    assert again.body == {"status": "FAILED", "data": {"deleted": False}, "message": "Could not delete TEST_APP/T0100"}
    gone = conforms("getTaskInstance", ops.get_task(drove.store, "TEST_APP", "T0100", now=drove.now))
    assert gone.body == {"status": "FAILED", "message": "No such task instance TEST_APP/T0100"}


def test_kill_while_running_ends_cancelled(drove):
    drove.operate({"type": "CREATE", "spec": SPEC, "opSpec": OP_SPEC})
    drove.now = T0 + 7
    killed = drove.operate({"type": "KILL", "sourceAppName": "TEST_APP", "taskId": "T0100", "opSpec": OP_SPEC})
    assert killed.body["data"] == {"taskId": "T0100"}
    drove.now = T0 + 30
    info = ops.get_task(drove.store, "TEST_APP", "T0100", now=drove.now).body["data"]
    assert (info["state"], info["taskResult"]) == ("STOPPED", {"status": "CANCELLED", "exitCode": -1})


def test_refusals_conform_to_the_spec(drove):
    bean = drove.operate({"type": "CREATE", "spec": {**SPEC, "taskId": ""}, "opSpec": {**OP_SPEC, "parallelism": 0}})
    assert bean.body["data"]["validationErrors"] == ["spec.taskId - Task ID is mandatory",
                                                     "opSpec.parallelism must be greater than or equal to 1"]
    assert drove.operate({"type": "RESTART"}).body["message"] == "JSON validation failure"
    no_policy = {k: v for k, v in SPEC.items() if k != "placementPolicy"}
    server_like = Cluster(drove.cluster.executors, type(drove.cluster.options)(missing_placement_policy_fails=True))
    npe = conforms("taskOperation", ops.task_operation(drove.store, {"type": "CREATE", "spec": no_policy,
                                                                      "opSpec": OP_SPEC},
                                                        now=drove.now, seed=1, cluster=server_like))
    assert npe.status == 500 and npe.body["message"] == "Unexpected Server error"
    assert drove.operate({"type": "CREATE", "spec": no_policy, "opSpec": OP_SPEC}).status == 200, "default: off"
    capacity = {**SPEC, "resources": [{"type": "CPU", "count": 33}, {"type": "MEMORY", "sizeInMB": 512}]}
    refused = conforms("validateTaskSpec", ops.validate_spec(drove.store, capacity, now=drove.now,
                                                             cluster=drove.cluster))
    assert refused.body["data"]["validationErrors"][0].startswith("Cluster does not have enough CPU. Required: 33")
    valid = conforms("validateTaskSpec", ops.validate_spec(drove.store, SPEC, now=drove.now, cluster=drove.cluster))
    assert valid.body == {"status": "SUCCESS", "message": "success"}
    assert conforms("taskOperation", render.unauthorized()).status == 401
    assert conforms("taskOperation", render.forbidden()).status == 403
    assert conforms("ping", ops.ping()).body == {"status": "SUCCESS", "data": "pong", "message": "success"}


def test_fixture_tasks_are_listed_and_shown(drove):
    listed = conforms("listTasks", ops.list_tasks(drove.store, now=T0)).body["data"]
    assert sorted(t["taskId"] for t in listed) == ["adhoc-query-77", "nightly-export-20261201"]
    failed = ops.get_task(drove.store, "billing-app", "invoice-run-0417", now=T0).body["data"]
    assert failed["errorMessage"] == "Task instance exited with status: 3"
    assert failed["volumes"] == [{"pathInContainer": "/data", "pathOnHost": "/mnt/billing", "mode": "READ_ONLY"}]


def test_search_redirects(drove):
    found = conforms("searchTask", ops.search_task(drove.store, {"taskSearchAppName": "TEST_APP",
                                                                 "taskSearchTaskID": "T0012"}))
    assert (found.status, found.headers) == (303, {"Location": "/tasks/TEST_APP/T0012"})
    missing = ops.search_task(drove.store, {"taskSearchAppName": "TEST_APP", "taskSearchTaskID": "nope"})
    assert missing.headers == {"Location": "/"}
    bad = conforms("searchTask", ops.search_task(drove.store, {"taskSearchAppName": "a b"}))
    assert bad.body["data"]["validationErrors"] == [
        'form field taskSearchAppName must match "[a-zA-Z\\d\\-_]*"', "form field taskSearchTaskID must not be empty"]


def test_log_endpoints_conform_and_grow(drove):
    drove.operate({"type": "CREATE", "spec": SPEC, "opSpec": OP_SPEC})
    drove.now = T0 + 9
    kw = {"now": drove.now, "seed": 1, "cluster": drove.cluster}
    listed = conforms("listTaskLogFiles", ops.list_log_files(drove.store, "TEST_APP", "T0100", **kw))
    assert listed.body == {"files": ["output.log"]}
    end = conforms("readTaskLogFile", ops.read_log_file(drove.store, "TEST_APP", "T0100", "output.log", **kw))
    assert end.body["data"] == "" and end.body["offset"] > 0
    chunk = conforms("readTaskLogFile", ops.read_log_file(drove.store, "TEST_APP", "T0100", "output.log",
                                                          offset=0, length=40, **kw))
    assert chunk.body == {"data": chunk.body["data"], "offset": 0} and len(chunk.body["data"]) == 40
    drove.now = T0 + 30
    later = ops.read_log_file(drove.store, "TEST_APP", "T0100", "output.log", now=drove.now, seed=1,
                              cluster=drove.cluster)
    assert later.body["offset"] > end.body["offset"]
    download = conforms("downloadTaskLogFile", ops.download_log_file(drove.store, "TEST_APP", "T0100", "output.log",
                                                                     now=drove.now, seed=1, cluster=drove.cluster))
    assert len(download.body) == later.body["offset"] and download.media_type == "text/plain"
    unknown = conforms("listTaskLogFiles", ops.list_log_files(drove.store, "X", "Y", **kw))
    assert unknown.status == 204
    drove.now = T0 + 100
    drove.operate({"type": "CREATE", "spec": {**SPEC, "taskId": "T0101"}, "opSpec": OP_SPEC})
    pending = {"now": drove.now, "seed": 1, "cluster": drove.cluster}
    not_yet = conforms("listTaskLogFiles", ops.list_log_files(drove.store, "TEST_APP", "T0101", **pending))
    assert not_yet.status == 500 and "Could not read logs from" in not_yet.body["error"], "no file before a line"
    no_file = conforms("downloadTaskLogFile", ops.download_log_file(drove.store, "TEST_APP", "T0101", "output.log",
                                                                    **pending))
    assert no_file.status == 500 and "Could not read log file" in no_file.body["error"]
    missing = conforms("readTaskLogFile", ops.read_log_file(drove.store, "TEST_APP", "T0100", "other.log",
                                                            offset=0, **kw))
    assert missing.status == 500
    negative = conforms("readTaskLogFile", ops.read_log_file(drove.store, "TEST_APP", "T0100", "output.log",
                                                             offset=-2, **kw))
    assert negative.body["data"]["validationErrors"] == ["query param offset must be greater than or equal to -1"]


def test_auth_helpers(drove):
    users = SETTINGS["users"]
    assert ops.authenticate(users, "Basic YWRtaW46YWRtaW4=")["role"] == "DROVE_EXTERNAL_READ_WRITE"
    assert ops.authenticate(users, "Basic Z3Vlc3Q6Z3Vlc3Q=")["role"] == "DROVE_EXTERNAL_READ_ONLY"
    assert ops.authenticate(users, "Basic YWRtaW46d3Jvbmc=") is None
    assert ops.authenticate(users, None) is None and ops.authenticate(users, "Bearer x") is None
    assert ops.may_operate("DROVE_EXTERNAL_READ_WRITE") and not ops.may_operate("DROVE_EXTERNAL_READ_ONLY")
    assert ops.may_read_logs("DROVE_EXTERNAL_READ_ONLY")


# -- the real client against the core ---------------------------------------------------------------
class CoreHandler(BaseHTTPRequestHandler):
    """Routes the wire onto ``operations``; the clock moves 10 virtual seconds per request."""

    controller: Controller

    def log_message(self, *args) -> None:
        pass

    def _send(self, answer: render.Answer) -> None:
        headers, data = encoded(answer)
        self.send_response(answer.status)
        for name, value in headers:
            self.send_header(name.decode(), value.decode())
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        c = self.controller
        c.now += 10
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        user = ops.authenticate(SETTINGS["users"], self.headers.get("Authorization"))
        if user is None:
            return self._send(render.unauthorized())
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = url.path.split("/")[3:]  # after /apis/v1
        kw = {"now": c.now, "seed": 1, "cluster": c.cluster}
        if parts == ["ping"]:
            return self._send(ops.ping())
        if parts == ["tasks"]:
            return self._send(ops.list_tasks(c.store, now=c.now))
        if parts == ["tasks", "operations"]:
            if not ops.may_operate(user["role"]):
                return self._send(render.forbidden())
            return self._send(ops.task_operation(c.store, json.loads(raw) if raw else None, **kw))
        if len(parts) == 4 and parts[0] == "tasks" and parts[2] == "instances":
            return self._send(ops.get_task(c.store, parts[1], parts[3], now=c.now))
        if parts[:2] == ["logfiles", "tasks"] and parts[4:5] == ["list"]:
            return self._send(ops.list_log_files(c.store, parts[2], parts[3], **kw))
        if parts[:2] == ["logfiles", "tasks"] and parts[4:5] == ["read"]:
            return self._send(ops.read_log_file(c.store, parts[2], parts[3], parts[5],
                                                offset=int(query.get("offset", -1)),
                                                length=int(query.get("length", -1)), **kw))
        if parts[:2] == ["logfiles", "tasks"] and parts[4:5] == ["download"]:
            return self._send(ops.download_log_file(c.store, parts[2], parts[3], parts[5], **kw))
        return self._send(render.Answer(404))

    do_GET = do_POST = do_DELETE = _handle


@pytest.fixture(scope="module")
def served():
    drove_cli.install()
    CoreHandler.controller = Controller()
    server = ThreadingHTTPServer(("127.0.0.1", 0), CoreHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_drove_cli_runs_unchanged_against_the_core(served, tmp_path):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**SPEC, "taskId": "CLI1", "env": {"MOCK_RUN_SECONDS": "600"}}))
    created = drove_cli.run(served, "tasks", "create", str(spec_file))
    assert created.stdout == "Task created. Source App Name: TEST_APP Task ID: CLI1. Drove assigned task ID: " \
                             "TEST_APP-CLI1\n", created
    listed = drove_cli.run(served, "tasks", "list", "-a", "TEST_APP")
    assert "CLI1" in listed.stdout and "RUNNING" in listed.stdout, listed
    shown = drove_cli.run(served, "tasks", "show", "TEST_APP", "CLI1")
    assert "ghcr.io/appform-io/test-task (DOCKER)" in shown.stdout and "drove-exec-0" in shown.stdout, shown
    logs = drove_cli.run(served, "tasks", "logs", "TEST_APP", "CLI1")
    assert logs.stdout.split() == ["files", "['output.log']"], logs
    out = tmp_path / "out.log"
    downloaded = drove_cli.run(served, "tasks", "download", "TEST_APP", "CLI1", "output.log", "-o", str(out))
    assert "Downloaded size:" in downloaded.stdout and b"Starting to monitor TEST_APP/CLI1" in out.read_bytes()
    guest = drove_cli.run(served, "tasks", "kill", "TEST_APP", "CLI1", username="guest", password="guest")
    assert guest.stdout == "Error making Drove call: \n"
    killed = drove_cli.run(served, "tasks", "kill", "TEST_APP", "CLI1")
    assert killed.stdout == "Task kill issued\n"
    final = drove_cli.run(served, "tasks", "show", "TEST_APP", "CLI1")
    assert "CANCELLED (Task exit code: -1)" in final.stdout, final
    bad = drove_cli.run(served, "tasks", "list", password="nope")
    assert bad.stdout == "Error making Drove call: Credentials are required to access this resource.\n"
    unknown = drove_cli.run(served, "tasks", "show", "TEST_APP", "NOPE")
    assert unknown.stdout == "Error making Drove call: No such task instance TEST_APP/NOPE\n"
    spec_file.write_text(json.dumps({**SPEC, "taskId": "", "executable": {"url": "x"}}))
    refused = drove_cli.run(served, "tasks", "create", str(spec_file))
    assert refused.stdout == ("Error: [400 - FAILED] Command validation failure.\nValidation errors:\n"
                              "  - spec.taskId - Task ID is mandatory\n"
                              "  - spec.executable.dockerPullTimeout - Specify container fetch (docker pull) timeout\n")
