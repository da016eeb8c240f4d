"""Forgiving loading over a corpus of broken specs (tests/specs/): each is served by a real server
that reports each problem once at start-up, ``mock-server lint`` reports the same, the repairs
behave as reported, and Schemathesis finds no failure; unusable documents are refused in one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mock_server import DEFAULT_SPEC, PROJECT_ROOT, merge, repair, spec
from mock_server.__main__ import main

from .conftest import start_server
from .test_schemathesis_engine import SCHEMATHESIS, failures

SPECS = PROJECT_ROOT / "tests" / "specs"
TOKEN = {"PRIVATE-TOKEN": "dev-token"}  # i3D's dev credential (the excerpt is served as i3D)

# Every corpus file: the problems lint must report (pointer, a phrase of the message), and requests
# that show the repair works (method, path, httpx arguments, expected status, expected body part).
CORPUS: dict[str, dict] = {
    "broken/swagger2-parameter-fields.yaml": {
        "problems": [("/paths/~1tasks/get/parameters/0", "Swagger 2 parameter fields type, items, collectionFormat, "
                      "default; moved into schema (collectionFormat csv -> style form, explode false)")],
        "probes": [("GET", "/tasks", {"params": {"status": "queued,done"}}, 200, None),
                   ("GET", "/tasks", {"params": {"status": "lost"}}, 400, None)],
    },
    "broken/swagger2-body-parameter.yaml": {
        "problems": [("/paths/~1tasks/post/parameters/0", "'in: body' parameter 'task'; now the requestBody")],
        "probes": [("POST", "/tasks", {"json": {"title": "write docs"}}, 201, None),
                   ("POST", "/tasks", {"json": {}}, 400, None)],
    },
    "broken/swagger2-form-data.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}~1comments/post/parameters/1",
                      "'in: formData' parameters 'author', 'text'; now the requestBody "
                      "(application/x-www-form-urlencoded)")],
        "probes": [("POST", "/tasks/1/comments", {"data": {"author": "ann", "text": "done"}}, 201, None),
                   ("POST", "/tasks/1/comments", {"data": {"text": "no author"}}, 400, None)],
    },
    "broken/swagger2-consumes-produces.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}/put/consumes", "'consumes' on an operation"),
                     ("/paths/~1tasks~1{taskId}/get/produces", "'produces' on an operation")],
        "probes": [("PUT", "/tasks/1", {"json": {"title": "t"}}, 404, None),
                   ("PUT", "/tasks/1", {"content": b"<task/>", "headers": {"content-type": "application/xml"}},
                    400, None)],
    },
    "broken/swagger2-response-schema.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}~1result/get/responses/200/schema",
                      "'schema' on a response; now content application/json")],
        "probes": [("GET", "/tasks/3/result", {}, 200, None)],
    },
    "broken/undeclared-path-parameter.yaml": {
        "problems": [("/paths/~1queues~1{queueId}~1tasks/get/parameters",
                      "path parameter 'queueId' is not declared; declared as a string")],
        "probes": [("GET", "/queues/nightly/tasks", {}, 200, None)],
    },
    "broken/openapi-31-undeclared-path-parameter.yaml": {
        "problems": [("/paths/~1workers~1{workerId}~1tasks/get/parameters",
                      "path parameter 'workerId' is not declared; declared as a string")],
        "probes": [("GET", "/workers/w1/tasks", {}, 200, None)],
    },
    "broken/misnamed-path-parameter.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}/get/parameters/0/name",
                      "path parameter 'id' is not in the template; renamed 'taskId'")],
        "probes": [("GET", "/tasks/5", {}, 200, {"id": 5}), ("GET", "/tasks/five", {}, 400, None)],
    },
    "broken/dangling-ref.yaml": {
        "problems": [("/paths/~1tasks/get/responses/200/content/application~1json/schema/properties/items/items",
                      "$ref '#/components/schemas/Taks' does not resolve; replaced with an unconstrained schema")],
        "probes": [("GET", "/tasks", {}, 200, None)],
    },
    "broken/circular-ref.yaml": {
        "problems": [("/components/schemas/Task", "circular $ref chain /components/schemas/Task -> "
                      "/components/schemas/TaskV2 -> /components/schemas/Task")],
        "probes": [("GET", "/tasks/3", {}, 200, None)],
    },
    "broken/missing-operation-id.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}~1cancel/post/operationId",
                      "missing operationId; named 'postTasksTaskIdCancel'")],
        "probes": [("POST", "/tasks/4/cancel", {}, 202, {"state": "cancelling"})],
    },
    "broken/duplicate-operation-id.yaml": {
        "problems": [("/paths/~1tasks~1summary/get/operationId",
                      "duplicate operationId 'tasks' (also GET /tasks); renamed 'tasks_2'")],
        "probes": [("GET", "/tasks", {}, 200, None), ("GET", "/tasks/summary", {}, 200, None)],
    },
    "broken/invalid-pattern.yaml": {
        "problems": [("/paths/~1tasks/get/parameters/0/schema/pattern", "invalid regex")],
        "probes": [("GET", "/tasks", {"params": {"label": "Überprüfung"}}, 200, None)],
    },
    "broken/unknown-format.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}/get/parameters/0/schema/format",
                      "unknown format 'task-id'; kept, values are not checked against it (and 1 more places)"),
                     ("/paths/~1tasks~1{taskId}/get/responses/200/content/application~1json/schema/properties/due"
                      "/format", "unknown format 'unix-timestamp'")],
        "probes": [("GET", "/tasks/t-17", {}, 200, {"id": "t-17"})],
    },
    "broken/required-absent-property.yaml": {
        "problems": [("/components/schemas/Task/required", "required names 'prority' that are not among the "
                      "properties; removed from required")],
        "probes": [("POST", "/tasks", {"json": {"title": "t"}}, 201, None)],
    },
    "broken/bad-example.yaml": {
        "problems": [("/paths/~1tasks/get/parameters/0/example", "500 is greater than the maximum of 100"),
                     ("/components/schemas/Task/properties/state/example", "'finished' is not one of")],
        "probes": [("GET", "/tasks", {"params": {"limit": 5}}, 200, None),
                   ("GET", "/tasks", {"params": {"limit": 500}}, 400, None)],
    },
    "broken/empty-responses.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}~1retry/post/responses", "no responses; a default response added")],
        "probes": [("POST", "/tasks/2/retry", {}, 200, None)],
    },
    "broken/response-code-ranges.yaml": {
        "problems": [("/paths/~1tasks~1{taskId}~1status/get/responses/2xx", "status '2xx' written as '2XX'")],
        "probes": [("GET", "/tasks/2/status", {}, 200, None), ("GET", "/tasks/two/status", {}, 400, "message")],
    },
    "published/i3d-odp-v3-excerpt.yaml": {
        "problems": [
            ("/paths/~1v3~1buildProvisioning~1storage~1registration~1{buildProvisioningRegistrationId}~1file/get"
             "/parameters/0/name", "'buildProvisionRegistrationId' is not in the template; renamed "
             "'buildProvisioningRegistrationId'"),
            ("/paths/~1v3~1patchJob~1{patchJobId}~1report~1progress/get/parameters",
             "path parameter 'patchJobId' is not declared"),
            ("/paths/~1v3~1customCommand~1host~1{hostId}/post/parameters", "path parameter 'hostId' is not declared"),
            *[(f"/components/schemas/{name}/example", "('' is not of type 'object'); dropped")
              for name in ("PatchJobReportFleet", "PatchJobReportDeploymentRegion", "PatchJobReportDcLocation",
                           "PatchJobReport", "PatchJob", "Host")],
        ],
        "probes": [("GET", "/v3/buildProvisioning/storage/registration/7/file", {"headers": TOKEN}, 200, None),
                   ("GET", "/v3/patchJob/9/report/progress", {"headers": TOKEN}, 200, None)],
    },
}
REFUSED = {
    "refused/invalid-yaml.yaml": "line 3 column 1: invalid YAML",
    "refused/invalid-json.json": "line 1 column 80: invalid JSON",
    "refused/swagger-2.yaml": "/swagger: a Swagger 2.0 document; only OpenAPI 3.x is served",
    "refused/not-a-mapping.yaml": "/: not an OpenAPI document (the top level is a list, not a mapping)",
    "refused/no-openapi-field.json": "/openapi: not an OpenAPI 3 document (no 'openapi' field)",
    "refused/openapi-version-2.yaml": "/openapi: not an OpenAPI 3 document (openapi is '2.0')",
}


def mock_server(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


def lint(file: str) -> subprocess.CompletedProcess:
    """``mock-server lint FILE`` through the CLI's entry point, in this process (no interpreter start-up:
    the corpus is large and the machine small; one test runs the real command too)."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["lint", file])
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(["lint", file], code, out.getvalue(), err.getvalue())


def _examine(name: str, reports: Path) -> dict:
    """Serve one corpus file, send its probes, run Schemathesis over what it serves."""
    file = f"tests/specs/{name}"
    server = start_server("--spec", file, "--strict")
    try:
        with server.client() as client:
            probes = [(method, path, client.request(method, path, **kwargs)) for method, path, kwargs, *_ in
                      CORPUS[name]["probes"]]
            probes = [(m, p, r.status_code, r.text) for m, p, r in probes]
        out = reports / Path(name).stem
        out.mkdir()
        # Schemathesis reads the document the mock serves: the repaired one (it cannot read most
        # of the originals, e.g. it crashes on an `in: body` parameter in an OpenAPI 3 document).
        run = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "--url", server.url,
             "--checks", "not_a_server_error,response_schema_conformance", "--phases", "examples,coverage,fuzzing",
             "--max-examples", "5", "--seed", "1", "--workers", "1", "--generation-database", "none",
             "-H", "PRIVATE-TOKEN: dev-token", "--no-color", "--report", "ndjson,json", "--report-dir", str(out),
             "--report-ndjson-path", str(out / "events.ndjson"), "--report-json-path", str(out / "run.json")],
            cwd=out, capture_output=True, text=True, timeout=300,
        )
        journal = server.client().get("/__admin/requests", params={"limit": 1000}).json()
    finally:
        server.kill()
    return {"log": server.log, "probes": probes, "schemathesis": run, "out": out, "journal": journal}


@pytest.fixture(scope="module")
def examined(tmp_path_factory) -> dict[str, dict]:
    reports = tmp_path_factory.mktemp("corpus")
    linted = {name: lint(f"tests/specs/{name}") for name in CORPUS}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_examine, name, reports) for name in CORPUS}
        return {name: {"lint": linted[name], **future.result()} for name, future in futures.items()}


def test_corpus_has_a_dozen_one_defect_specs_and_a_published_one():
    broken = sorted(p.name for p in (SPECS / "broken").glob("*.yaml"))
    assert len(broken) >= 12 and sorted(n.split("/")[1] for n in CORPUS if n.startswith("broken/")) == broken
    assert (SPECS / "published" / "README.md").exists()


@pytest.mark.parametrize("name", CORPUS)
def test_lint_reports_exactly_the_known_problems_and_exits_1(examined, name):
    lint = examined[name]["lint"]
    assert lint.returncode == 1, lint.stdout + lint.stderr
    lines = lint.stdout.splitlines()
    prefix = f"tests/specs/{name}: "
    problems = [line.removeprefix(prefix) for line in lines[:-1]]
    assert all(line.startswith(prefix) for line in lines), lines
    expected = CORPUS[name]["problems"]
    assert len(problems) == len(expected), "\n".join(problems)
    for (pointer, phrase), line in zip(expected, problems, strict=True):
        assert line.startswith(f"{pointer}: ") and phrase in line, f"expected {pointer}: ...{phrase}...\ngot {line}"
    assert lines[-1] == f"{prefix}{len(expected)} problem(s), each repaired as described; mock-server serve " \
                        "serves the rest"


@pytest.mark.parametrize("name", CORPUS)
def test_serve_reports_each_problem_once_at_start_up(examined, name):
    log, lint = examined[name]["log"], examined[name]["lint"]
    start_up = log.split("listening on", 1)[0]
    for problem in lint.stdout.splitlines()[:-1]:
        assert start_up.count(problem) == 1, f"{problem!r} reported {start_up.count(problem)} times:\n{start_up}"
        assert log.count(problem) == 1, f"{problem!r} reported again after start-up"
    assert "Traceback" not in log, log


@pytest.mark.parametrize("name", CORPUS)
def test_repairs_behave_as_reported(examined, name):
    for (method, path, _, status, part), (_, _, got, body) in zip(CORPUS[name]["probes"], examined[name]["probes"],
                                                                   strict=True):
        assert got == status, f"{method} {path}: expected {status}, got {got}: {body[:300]}"
        if isinstance(part, dict):
            assert json.loads(body).items() >= part.items(), f"{method} {path}: {body[:300]}"
        elif part:
            assert part in json.loads(body), f"{method} {path}: {body[:300]}"


@pytest.mark.parametrize("name", CORPUS)
def test_schemathesis_finds_no_failure(examined, name):
    run, out = examined[name]["schemathesis"], examined[name]["out"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = json.loads((out / "run.json").read_text())
    assert summary["operations"]["tested"] == summary["operations"]["selected"] > 0, summary["operations"]
    assert summary["test_cases"]["generated"] > 0, summary["test_cases"]
    assert not failures(out / "events.ndjson")
    journal = examined[name]["journal"]
    assert not [e for e in journal if e["status"] >= 500 or e["response"].startswith("invalid")], \
        json.dumps([e for e in journal if e["status"] >= 500 or e["response"].startswith("invalid")][:3])


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("command", ["serve", "lint"])
def test_unusable_document_is_refused_in_one_line(name, command):
    file = f"tests/specs/{name}"
    result = mock_server(command, "--port", "0", "--spec", file) if command == "serve" else lint(file)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{file}: {REFUSED[name]}" in lines[0], result.stderr


def test_the_lint_command_exits_1_on_a_broken_spec_and_prints_its_problems(examined):
    name = "broken/misnamed-path-parameter.yaml"
    result = mock_server("lint", f"tests/specs/{name}")
    assert (result.returncode, result.stdout, result.stderr) == (1, examined[name]["lint"].stdout, "")


def test_lint_of_the_merged_spec_is_clean_and_repair_leaves_it_unchanged():
    doc = merge.load_document(DEFAULT_SPEC)
    repaired, problems = repair.repair(doc, DEFAULT_SPEC)
    assert problems == [] and repaired == doc
    result = mock_server("lint", str(DEFAULT_SPEC.relative_to(PROJECT_ROOT)))
    assert (result.returncode, result.stdout) == (0, "specs/openapi.yaml: no problems\n"), result.stderr


def test_every_repaired_corpus_document_is_valid_openapi():
    for name in CORPUS:
        file = SPECS / name
        merge.validate_document(spec.read(file, report=lambda *_: None), file)


def test_repair_does_not_touch_its_input():
    doc = merge.load_document(SPECS / "broken" / "swagger2-body-parameter.yaml")
    before = json.dumps(doc, sort_keys=True)
    repaired, problems = repair.repair(doc, "x.yaml")
    assert problems and json.dumps(doc, sort_keys=True) == before and repaired != doc
