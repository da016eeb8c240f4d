"""The README's walkthroughs and recipe, exactly as written, against real servers."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

from mock_server import PROJECT_ROOT
from tests import drove_cli

README = (PROJECT_ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(title)
    following = README.find("\n## ", start + len(title))
    return README[start: following if following > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", text, re.S)


# -- the recipe ---------------------------------------------------------------------------------
def write_recipe(folder: Path) -> dict[str, Path]:
    """The recipe's files, each written where its first-line comment says."""
    written = {}
    recipe = section("## Adding a new API")
    for block in blocks(recipe, "yaml") + blocks(recipe, "python"):
        first, _, rest = block.partition("\n")
        name = first.removeprefix("# ").strip()
        assert name.startswith("my-api/"), f"a recipe block without its file name: {first!r}"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block + "\n")
        written[path.name] = path
    assert set(written) == {"jobs-api.yaml", "jobs.yaml", "jobs.py"}, sorted(written)
    return written


def test_the_recipe_followed_literally_serves_a_toy_vendor_over_a_real_server(serve, tmp_path):
    files = write_recipe(tmp_path)
    (command,) = [line for line in blocks(section("## Adding a new API"), "sh")[0].splitlines()
                  if line.startswith("mock-server serve")]
    args = command.split()[2:]
    args = [str(tmp_path / a) if a.startswith("my-api") else a for a in args]
    assert str(files["jobs-api.yaml"]) in args
    server = serve(*args)
    rw, ro, bad = ({"X-Jobs-Key": k} for k in ("key-rw", "key-ro", "nope"))
    with server.client() as http:
        created = http.post("/jobs", json={"name": "nightly"}, headers=rw)
        assert created.status_code == 201, created.text
        assert created.json() == {"id": 1, "name": "nightly", "state": "QUEUED"}
        refused = http.post("/jobs", json={"name": "x"}, headers=ro)
        assert (refused.status_code, refused.json()) == (403, {"reason": "This key may only read"})
        unknown = http.get("/jobs/1", headers=bad)
        assert (unknown.status_code, unknown.json()) == (401, {"reason": "Unknown API key"})
        invalid = http.post("/jobs", json={}, headers=rw)
        assert invalid.status_code == 400 and "name" in invalid.json()["reason"], invalid.text
        assert http.get("/jobs/2", headers=rw).status_code == 404
        assert http.post("/__admin/clock/advance", json={"seconds": 29.9}).status_code == 200
        assert http.get("/jobs/1", headers=rw).json()["state"] == "QUEUED"
        assert http.post("/__admin/clock/advance", json={"seconds": 0.1}).status_code == 200
        assert http.get("/jobs/1", headers=rw).json() == {"id": 1, "name": "nightly", "state": "DONE"}
        journal = http.get("/__admin/requests").json()
        assert all(e["response"] in ("valid", "unchecked") for e in journal), journal


# -- the i3D walkthrough --------------------------------------------------------------------------
def run_walkthrough(url: str, title: str = "## i3D.net ODP") -> list[str]:
    """The section's walkthrough block run by bash as written (only the URL changed); the output of
    each curl."""
    text = section(title)
    (block, *_) = blocks(text[text.index("**Walkthrough**"):], "sh")
    separate = "curl() { command curl \"$@\"; printf '\\n\\036\\n'; }\n"
    result = subprocess.run(["bash", "-ec", separate + block.replace("http://127.0.0.1:8000", url)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [chunk.strip() for chunk in result.stdout.split("\036")[:-1]]


def test_the_i3d_walkthrough_works_as_typed_on_a_fresh_make_serve(serve):
    server = serve()   # what `make serve` runs: a running clock, the embedded fixtures
    outputs = [json.loads(o) for o in run_walkthrough(server.url)]
    freeze, templates, created, running, clock, advanced, paused, cancelled, batch, other = outputs
    assert freeze["frozen"] is True and clock["now"] == freeze["now"] + 3
    assert [t["id"] for t in templates] == [1, 2, 3, 4]
    (batch_status,) = created
    assert batch_status["id"] == 5 and batch_status["numTasks"] == 10 and batch_status["taskIds"][0] == 29
    assert (running[0]["resultCode"], running[0]["resultText"]) == (1, "In progress: Stop instance")
    assert advanced[0]["currentActionIdx"] == 1 and advanced[0]["resultText"] == "In progress: Start instance"
    assert paused[0]["resultCode"] == 2
    assert cancelled[0]["resultCode"] == 125
    assert batch[0]["numTasksCancelled"] == 1
    assert other["errorCode"] == 10001, "another account's task is i3D's not-found"


# -- the PolarDB SDK snippet ----------------------------------------------------------------------
def test_the_polardb_sdk_snippet_runs_as_written_on_a_fresh_make_serve(serve, tmp_path):
    server = serve()   # what `make serve` runs: a running clock, the embedded fixtures
    (block,) = blocks(section("## Alibaba Cloud PolarDB"), "python")
    assert '"127.0.0.1:8000"' in block
    script = tmp_path / "try_polardb.py"
    script.write_text(block.replace("127.0.0.1:8000", server.url.removeprefix("http://")))
    # A proxy in the environment, as on many machines: the snippet has to clear it itself.
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout.splitlines()
    expected = [line.split("# ")[-1].strip() for line in block.splitlines() if "print(" in line]
    assert len(printed) == len(expected) == 4, printed
    assert re.fullmatch(r"pcb-[a-z0-9]{20}", printed[0]), printed
    assert printed[1:] == expected[1:], printed


# -- the bolttech walkthrough ---------------------------------------------------------------------
def test_the_bolttech_walkthrough_works_as_typed_on_a_fresh_make_serve(serve):
    server = serve()   # what `make serve` runs: a running clock, the embedded fixtures
    outputs = [json.loads(o) for o in run_walkthrough(server.url, "## bolttech subscription-service")]
    freeze, tasks, resumed, clock, processed, instance, created, paused, cancelled, wrong, unknown = outputs
    assert freeze["frozen"] is True and clock["now"] == freeze["now"] + 4
    assert {t["task"]: t["status"] for t in tasks} == {"execute-flow": "PAUSED", "c2p-expiration": "PENDING",
                                                       "c2p-test-failed": "ONHOLD"}
    assert all(t["instance"]["strategy"]["name"] == "recurring-payment" for t in tasks)
    assert (resumed["sid"], resumed["status"]) == ("8d2f6b1a-4c3e-4e7b-9a5d-2f1e0c9b7a64", "QUEUED")
    assert processed["event"]["status"] == "PROCESSED"
    assert processed["event"]["taskStatus"]["taskResults"][1]["data"] == {"status": "PAID"}
    assert (instance["cycle"], instance["status"]) == (3, "ACTIVE")
    new = created["executionInstance"]
    assert (new["sid"], new["status"], new["cycle"], new["executionDay"]) == (
        "4a2b074e-bed4-4e4d-92db-453b6ca71ddb", "ACTIVE", 1, 15)
    assert created["createdEvents"]["mainEvent"]["status"] == "PENDING"
    assert paused["status"] == "PAUSED" and paused["strategy"]["name"] == "recurring-payment"
    assert (cancelled["executionInstance"]["status"], cancelled["executionInstance"]["cancelReason"]) == (
        "CANCELED", "HTTP_REQUEST")
    assert [e["task"] for e in cancelled["createdEvents"]["onCancelEvents"]] == ["notify-cancellation"]
    assert (wrong["statusCode"], unknown["statusCode"]) == (403, 404)


# -- the replicas walkthrough ---------------------------------------------------------------------
def test_the_replicas_walkthrough_works_as_typed_on_two_replicas(serve, redis_url):
    block = blocks(section("## Running several replicas"), "sh")[1]
    lines = block.splitlines()
    commands = [line for line in lines if line.startswith("mock-server serve")]
    assert len(commands) == 2, commands
    store = f"{redis_url}?prefix=readme-{uuid.uuid4().hex}"
    urls = {}
    for command in commands:
        args = shlex.split(command.rstrip("& "))[2:]
        port = args[args.index("--port") + 1]
        args[args.index("--port") + 1] = "0"
        args[args.index("--state") + 1] = store
        urls[f"localhost:{port}"] = serve(*args).url
    script = "\n".join(line for line in lines if line not in commands)
    for written, url in urls.items():
        script = script.replace(written, url.removeprefix("http://"))
    separate = "curl() { command curl \"$@\"; printf '\\n\\036\\n'; }\n"
    result = subprocess.run(["bash", "-ec", separate + script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    freeze, created, read, advanced, moved = (json.loads(o.strip()) for o in result.stdout.split("\036")[:-1])
    assert freeze["frozen"] is True and advanced["now"] == freeze["now"] + 3
    (batch,) = created
    assert batch["taskIds"] == [29], "the task the block reads"
    assert read[0]["id"] == 29 and read[0]["currentActionIdx"] == 0
    assert moved[0]["currentActionIdx"] == 1, moved


# -- the Drove walkthroughs -----------------------------------------------------------------------
def drove_block(title: str) -> str:
    drove = section("## Drove — task management")
    (block, *_) = blocks(drove[drove.index(title):], "sh")
    return block


def test_the_drove_curl_walkthrough_works_as_typed_on_a_fresh_make_serve(serve):
    server = serve()   # what `make serve` runs: a running clock, the shipped fixtures
    separate = "curl() { command curl \"$@\"; printf '\\n\\036\\n'; }\n"
    block = drove_block("**curl walkthrough**")
    result = subprocess.run(["bash", "-ec", separate + block.replace("http://127.0.0.1:8000", server.url)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    outputs = [chunk.strip() for chunk in result.stdout.split("\036")[:-1]]
    (freeze, ping, listed, created, pending, advanced, running, log, guest, killed, advanced_again, stopped,
     deleted, gone, unauthorized) = outputs
    assert json.loads(freeze)["frozen"] is True
    assert json.loads(ping) == {"status": "SUCCESS", "data": "pong", "message": "success"}
    assert sorted(t["taskId"] for t in json.loads(listed)["data"]) == ["adhoc-query-77", "nightly-export-20261201"]
    assert json.loads(created) == {"status": "SUCCESS", "data": {"taskId": "TEST_APP-T0100"}, "message": "success"}
    pending = json.loads(pending)["data"]
    assert pending["state"] == "PENDING" and "hostname" not in pending
    assert pending["executable"]["dockerPullTimeout"] == "100 seconds"
    assert json.loads(advanced_again)["now"] == json.loads(advanced)["now"] + 3 == json.loads(freeze)["now"] + 9
    running = json.loads(running)["data"]
    assert (running["state"], running["hostname"]) == ("RUNNING", "drove-exec-01.local")
    log = json.loads(log)
    assert log["offset"] == 0 and "Pulling docker image: ghcr.io/appform-io/test-task" in log["data"]
    assert guest == "403"
    assert json.loads(killed)["data"] == {"taskId": "T0100"}
    stopped = json.loads(stopped)["data"]
    assert (stopped["state"], stopped["taskResult"]) == ("STOPPED", {"status": "CANCELLED", "exitCode": -1})
    assert json.loads(deleted)["data"] == {"deleted": True}
    assert json.loads(gone) == {"status": "FAILED", "message": "No such task instance TEST_APP/T0100"}
    assert unauthorized == "Credentials are required to access this resource."


def test_the_drove_cli_walkthrough_works_as_typed(serve, tmp_path):
    drove = str(drove_cli.install())
    server = serve("--frozen-clock")
    install, *lines = drove_block("**drove-cli walkthrough**").splitlines()
    assert install.startswith("python3 -m venv /tmp/drove-cli"), "the first line installs drove-cli"
    block = ("\n".join(lines).replace("/tmp/drove-cli/bin/drove", drove)
             .replace("http://127.0.0.1:8000", server.url).replace("/tmp/spec.json", str(tmp_path / "spec.json")))
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    result = subprocess.run(["bash", "-ec", block], capture_output=True, text=True, timeout=120,
                            env={**env, "NO_PROXY": "*", "TZ": "UTC"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    expected = ["Task created. Source App Name: TEST_APP Task ID: T0200. Drove assigned task ID: TEST_APP-T0200",
                "T0200", "RUNNING", "files", "['output.log']", "Task kill issued", "Error making Drove call: \n",
                "STOPPED", "CANCELLED (Task exit code: -1)",
                "Error: [400 - FAILED] Command validation failure.",
                "Task already exists for TEST_APP/T0200 with taskID: TEST_APP-T0200",
                "Error making Drove call: No such task instance TEST_APP/NOPE"]
    position = 0
    for text in expected:
        found = out.find(text, position)
        assert found >= 0, f"{text!r} missing after position {position}:\n{out}"
        position = found + len(text)
