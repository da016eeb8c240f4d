"""The real drove-cli 0.0.14 against a tiny stdlib HTTP server with canned Drove answers: proves the
harness works and pins down exactly what the CLI sends and prints (documented in specs/notes/drove.md)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import drove_cli

TASK = {
    "sourceAppName": "TEST_APP", "taskId": "T0013", "instanceId": "TI-c2140806-2bb5-4ed3-9bb9-0c0c5fd0d8d6",
    "executorId": "a45442a1-d4d0-3479-ab9e-3ed0aa5f7d2d", "hostname": "ppessdev",
    "executable": {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task", "dockerPullTimeout": "100 seconds"},
    "resources": [{"type": "CPU", "cores": {"0": [2]}}, {"type": "MEMORY", "memoryInMB": {"0": 512}}],
    "volumes": [], "env": {"ITERATIONS": "10"}, "state": "RUNNING", "metadata": {}, "errorMessage": "",
    "created": 1719827035480, "updated": 1719827038414,
}
USERS = {"admin:admin": "rw", "guest:guest": "ro"}


class Drove(BaseHTTPRequestHandler):
    """Canned controller: ping, list, show, operations; Basic auth with a read-write and a read-only user."""

    calls: list[dict] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, body: object = None, media: str = "application/json", headers=None) -> None:
        data = b"" if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.calls.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                           "body": json.loads(raw) if raw else None})
        auth = self.headers.get("Authorization", "")
        user = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
        if user not in USERS:
            return self._answer(401, "Credentials are required to access this resource.", "text/plain",
                                {"WWW-Authenticate": 'Basic realm="realm"'})
        ok = {"status": "SUCCESS", "message": "success"}
        if self.path == "/apis/v1/ping":
            return self._answer(200, {**ok, "data": "pong"})
        if self.path == "/apis/v1/tasks":
            return self._answer(200, {**ok, "data": [TASK]})
        if self.path == "/apis/v1/tasks/TEST_APP/instances/T0013":
            return self._answer(200, {**ok, "data": TASK})
        if self.path.startswith("/apis/v1/tasks/") and self.command == "GET":
            app, _, task = self.path.removeprefix("/apis/v1/tasks/").partition("/instances/")
            return self._answer(200, {"status": "FAILED", "message": f"No such task instance {app}/{task}"})
        if self.path == "/apis/v1/tasks/operations":
            if USERS[user] != "ro":
                op = json.loads(raw)
                if op["type"] == "CREATE" and op["spec"]["taskId"] == "BAD":
                    return self._answer(400, {"status": "FAILED", "message": "Command validation failure", "data": {
                        "validationErrors": ["Cluster does not have enough CPU. Required: 99 Available: 32"]}})
                task = op["spec"]["sourceAppName"] + "-" + op["spec"]["taskId"] if op["type"] == "CREATE" \
                    else op["taskId"]
                return self._answer(200, {**ok, "data": {"taskId": task}})
            return self._answer(403)
        return self._answer(404)

    do_GET = do_POST = do_DELETE = _handle


@pytest.fixture(scope="module")
def drove():
    drove_cli.install()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Drove)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def cli(url: str, *args: str, **kwargs) -> tuple[drove_cli.CliRun, list[dict]]:
    Drove.calls.clear()
    result = drove_cli.run(url, *args, **kwargs)
    return result, list(Drove.calls)


def test_list_pings_first_then_reads_the_task_list_and_prints_a_table(drove):
    result, calls = cli(drove, "tasks", "list")
    assert result.code == 0, result
    assert [(c["method"], c["path"]) for c in calls] == [("GET", "/apis/v1/ping"), ("GET", "/apis/v1/tasks")]
    assert calls[0]["headers"]["Authorization"] == "Basic YWRtaW46YWRtaW4="
    header, rule, row = result.stdout.splitlines()
    assert header.split() == ["Id", "Source", "App", "Task", "ID", "State", "Host", "CPU", "Memory(MB)", "Created",
                              "Updated"]
    # the CPU column counts NUMA nodes (keys of "cores"), memory sums memoryInMB
    assert row.split()[:7] == ["TI-c2140806-2bb5-4ed3-9bb9-0c0c5fd0d8d6", "TEST_APP", "T0013", "RUNNING", "ppessdev",
                               "1", "512"]


def test_create_sends_the_spec_file_verbatim_with_a_fixed_opspec(drove, tmp_path):
    spec = {"sourceAppName": "TEST_APP", "taskId": "T0014", "anything": ["is", "sent", "as", "is"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result, calls = cli(drove, "tasks", "create", str(tmp_path / "spec.json"))
    assert result.code == 0, result
    post = calls[1]
    assert (post["method"], post["path"], post["headers"]["Content-Type"]) == (
        "POST", "/apis/v1/tasks/operations", "application/json")
    assert post["body"] == {"type": "CREATE", "spec": spec,
                            "opSpec": {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}}
    assert result.stdout == ("Task created. Source App Name: TEST_APP Task ID: T0014. "
                             "Drove assigned task ID: TEST_APP-T0014\n")


def test_create_refused_prints_the_validation_errors_and_still_exits_zero(drove, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps({"sourceAppName": "TEST_APP", "taskId": "BAD"}))
    result, _ = cli(drove, "tasks", "create", str(tmp_path / "spec.json"))
    assert (result.code, result.stdout) == (0, "Error: [400 - FAILED] Command validation failure.\n"
                                               "Validation errors:\n"
                                               "  - Cluster does not have enough CPU. Required: 99 Available: 32\n")


def test_kill_sends_the_bare_ids_and_prints_a_fixed_line(drove):
    result, calls = cli(drove, "tasks", "kill", "TEST_APP", "T0013")
    assert calls[1]["body"] == {"type": "KILL", "sourceAppName": "TEST_APP", "taskId": "T0013",
                                "opSpec": {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}}
    assert (result.code, result.stdout) == (0, "Task kill issued\n")


def test_show_prints_the_task_and_reads_logging_not_loggingspec(drove):
    result, calls = cli(drove, "tasks", "show", "TEST_APP", "T0013")
    assert calls[1]["path"] == "/apis/v1/tasks/TEST_APP/instances/T0013"
    assert result.code == 0, result
    fields = {line[:30].strip(): line[30:] for line in result.stdout.splitlines()}
    assert fields["State"] == "RUNNING"
    assert fields["Executable"] == "ghcr.io/appform-io/test-task (DOCKER)"
    assert fields["CPU"] == "NUMA Node 0: Cores: [2]"
    assert fields["Logging Mode"] == "", "the CLI reads `logging`, the server sends `loggingSpec`"


def test_unknown_task_is_a_200_failed_printed_as_an_error_with_exit_zero(drove):
    result, _ = cli(drove, "tasks", "show", "TEST_APP", "NOPE")
    assert (result.code, result.stdout) == (0, "Error making Drove call: No such task instance TEST_APP/NOPE\n")


def test_bad_password_fails_at_the_ping_with_the_plain_text_body(drove):
    result, calls = cli(drove, "tasks", "list", password="wrong")
    assert [c["path"] for c in calls] == ["/apis/v1/ping"]
    assert (result.code, result.stdout) == (
        0, "Error making Drove call: Credentials are required to access this resource.\n")


def test_guest_kill_gets_an_empty_403_printed_as_an_empty_error(drove):
    result, calls = cli(drove, "tasks", "kill", "TEST_APP", "T0013", username="guest", password="guest")
    assert [c["path"] for c in calls] == ["/apis/v1/ping", "/apis/v1/tasks/operations"]
    assert (result.code, result.stdout) == (0, "Error making Drove call: \n")


def test_the_cli_has_no_delete_and_says_so_before_any_call(drove):
    result, calls = cli(drove, "tasks", "delete", "TEST_APP", "T0013")
    assert (result.code, calls) == (2, [])
    assert "invalid choice: 'delete'" in result.stderr
