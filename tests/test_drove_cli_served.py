"""The real drove-cli 0.0.14, unchanged, against a served mock (``python -m mock_server serve``, strict,
frozen clock moved with ``/__admin/clock/advance``): what it prints for each step of a task's life.
drove-cli exits 0 even on API errors, so every step is judged by its output."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests import drove_cli

from .conftest import CLOCK_START, Server, start_server

SPEC = {
    "sourceAppName": "TEST_APP", "taskId": "CLI-1",
    "executable": {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task", "dockerPullTimeout": "100 seconds"},
    "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 512}],
    "volumes": [{"pathInContainer": "/data", "pathOnHost": "/mnt/data", "mode": "READ_ONLY"}],
    "placementPolicy": {"type": "ANY"},
    "env": {"ITERATIONS": "5", "MOCK_RUN_SECONDS": "600"},
}


@pytest.fixture(scope="module")
def served() -> Iterator[Server]:
    drove_cli.install()
    server = start_server("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    yield server
    server.kill()


def fields(output: str) -> dict[str, str]:
    """``tasks show`` output: a key padded to 30 columns, then the value."""
    return {line[:30].strip(): line[30:] for line in output.splitlines()}


def advance(server: Server, seconds: float) -> None:
    with server.client() as http:
        assert http.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


def test_drove_cli_drives_a_task_through_its_life_on_the_served_mock(served, tmp_path):
    url = served.url
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(SPEC))

    created = drove_cli.run(url, "tasks", "create", str(spec_file))
    assert (created.code, created.stdout) == (0, "Task created. Source App Name: TEST_APP Task ID: CLI-1. "
                                                 "Drove assigned task ID: TEST_APP-CLI-1\n"), created

    pending = drove_cli.run(url, "tasks", "list", "-a", "TEST_APP")
    (row,) = pending.stdout.splitlines()[2:]
    assert row.split()[1:4] == ["TEST_APP", "CLI-1", "PENDING"], pending.stdout

    advance(served, 7)
    running = drove_cli.run(url, "tasks", "list")
    rows = {line.split()[2]: line.split() for line in running.stdout.splitlines()[2:]}
    assert rows["CLI-1"][3:7] == ["RUNNING", "drove-exec-01.local", "1", "512"], running.stdout
    assert "nightly-export-20261201" in rows and "T0012" not in rows, "the list holds active tasks only"

    shown = fields(drove_cli.run(url, "tasks", "show", "TEST_APP", "CLI-1").stdout)
    assert shown["State"] == "RUNNING" and shown["Executor Host"] == "drove-exec-01.local", shown
    assert shown["Executable"] == "ghcr.io/appform-io/test-task (DOCKER)"
    assert shown["CPU"] == "NUMA Node 0: Cores: [1]", "core 0 is held by the fixture task adhoc-query-77"
    assert shown["Memory (MB)"] == "NUMA Node 0: Cores: 512", "(the CLI's own label)"
    assert shown["Volumes"] == "/mnt/data (Mounted as /data in READ_ONLY mode)"
    assert (shown["Created"], shown["Last Updated"]) == ("01/01/2026, 00:00:00", "01/01/2026, 00:00:05"), (
        "created at the frozen start, updated when RUNNING was entered")
    assert shown["Instance ID"].startswith("TI-")

    logs = drove_cli.run(url, "tasks", "logs", "TEST_APP", "CLI-1")
    assert logs.stdout.split() == ["files", "['output.log']"], logs
    out = tmp_path / "output.log"
    downloaded = drove_cli.run(url, "tasks", "download", "TEST_APP", "CLI-1", "output.log", "-o", str(out))
    assert f"Downloaded size: {out.stat().st_size} bytes" in downloaded.stdout, downloaded
    assert b"Starting to monitor TEST_APP/CLI-1" in out.read_bytes()

    guest = drove_cli.run(url, "tasks", "kill", "TEST_APP", "CLI-1", username="guest", password="guest")
    assert (guest.code, guest.stdout) == (0, "Error making Drove call: \n"), "guest: the server's empty 403"

    killed = drove_cli.run(url, "tasks", "kill", "TEST_APP", "CLI-1")
    assert (killed.code, killed.stdout) == (0, "Task kill issued\n"), killed
    assert fields(drove_cli.run(url, "tasks", "show", "TEST_APP", "CLI-1").stdout)["State"] == "RUN_COMPLETED"
    advance(served, 3)
    stopped = fields(drove_cli.run(url, "tasks", "show", "TEST_APP", "CLI-1").stdout)
    assert stopped["State"] == "STOPPED" and stopped["Result"] == "CANCELLED (Task exit code: -1)", stopped
    assert "CLI-1" not in drove_cli.run(url, "tasks", "list").stdout

    again = drove_cli.run(url, "tasks", "kill", "TEST_APP", "CLI-1")
    assert again.stdout == ("Error: [400 - FAILED] Command validation failure.\nValidation errors:\n"
                            "  - Either task does not exist or has already finished for TEST_APP/CLI-1\n"), again
    duplicate = drove_cli.run(url, "tasks", "create", str(spec_file))
    assert duplicate.stdout == ("Error: [400 - FAILED] Command validation failure.\nValidation errors:\n"
                                "  - Task already exists for TEST_APP/CLI-1 with taskID: TEST_APP-CLI-1\n"), duplicate

    no_delete = drove_cli.run(url, "tasks", "delete", "TEST_APP", "CLI-1")
    assert no_delete.code == 2 and "invalid choice: 'delete'" in no_delete.stderr, "drove-cli has no delete"
    with served.client(auth=("admin", "admin")) as http:
        deleted = http.delete("/apis/v1/tasks/TEST_APP/instances/CLI-1")
        assert deleted.json() == {"status": "SUCCESS", "data": {"deleted": True}, "message": "success"}

    unknown = drove_cli.run(url, "tasks", "show", "TEST_APP", "CLI-1")
    assert (unknown.code, unknown.stdout) == (0, "Error making Drove call: No such task instance TEST_APP/CLI-1\n")
    recreated = drove_cli.run(url, "tasks", "create", str(spec_file))
    assert recreated.stdout.startswith("Task created."), "after the delete the id is free again"

    bad = drove_cli.run(url, "tasks", "list", password="wrong")
    assert (bad.code, bad.stdout) == (0, "Error making Drove call: Credentials are required to access this "
                                         "resource.\n")

    spec_file.write_text(json.dumps({**SPEC, "taskId": "", "executable": {"url": "x"}}))
    refused = drove_cli.run(url, "tasks", "create", str(spec_file))
    assert refused.stdout == ("Error: [400 - FAILED] Command validation failure.\nValidation errors:\n"
                              "  - spec.taskId - Task ID is mandatory\n"
                              "  - spec.executable.dockerPullTimeout - Specify container fetch (docker pull) "
                              "timeout\n"), refused

    with served.client() as http:
        journal = http.get("/__admin/requests", params={"limit": 1000}).json()
    assert journal and all(e["response"] == "valid" for e in journal if e["operationId"]), [
        e for e in journal if e["response"] != "valid"]
