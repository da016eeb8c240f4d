"""The Drove stand-in's pure core: validation messages, durations, TaskInfo per state, the lifecycle
table, log files. Expected strings are the server's (PhonePe/drove 5f3ca176); no server runs here."""

from __future__ import annotations

import copy

import pytest
import yaml

from mock_server import PROJECT_ROOT
from mock_server.apis.drove import lifecycle, logs, render, tasks
from mock_server.apis.drove.cluster import Cluster, Executor
from mock_server.apis.drove.durations import DurationError, normalize, parse_duration
from mock_server.apis.drove.validation import (
    COMMAND_FAILURE,
    JSON_FAILURE,
    check_operation,
    check_spec,
    duplicate_message,
    kill_target_message,
    log_read_violations,
    search_violations,
)

SETTINGS = yaml.safe_load((PROJECT_ROOT / "fixtures" / "drove.yaml").read_text())
CLUSTER = Cluster.from_settings(SETTINGS["cluster"])
NOW = 1767225600.0
OP_SPEC = {"timeout": "5m", "parallelism": 1, "failureStrategy": "STOP"}
SPEC = {
    "sourceAppName": "TEST_APP",
    "taskId": "T0012",
    "executable": {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task", "dockerPullTimeout": "100 seconds"},
    "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 512}],
    "placementPolicy": {"type": "ANY"},
    "env": {"ITERATIONS": "10"},
}


def create(**spec_changes) -> dict:
    spec = {**copy.deepcopy(SPEC), **spec_changes}
    return {"type": "CREATE", "spec": {k: v for k, v in spec.items() if v is not None}, "opSpec": OP_SPEC}


def messages(body, root=check_operation) -> list[str]:
    verdict = root(body, CLUSTER, [])
    assert verdict.status == 400, f"expected a 400, got {verdict}"
    return verdict.messages


# -- durations ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, rendered", [
    ("5m", "5 minutes"), ("100 seconds", "100 seconds"), ("5 minutes", "5 minutes"), ("1m", "1 minute"),
    ("100s", "100 seconds"), ("1 second", "1 second"), ("15min", "15 minutes"), ("2 days", "2 days"),
    ("250ms", "250 milliseconds"), ("1h", "1 hour"), ("3  hours", "3 hours"), ("0s", "0 seconds"),
])
def test_durations_parse_like_dropwizard_and_render_in_the_long_form(text, rendered):
    assert normalize(text) == rendered


@pytest.mark.parametrize("text, error", [
    ("5 parsecs", "Invalid duration: 5 parsecs. Wrong time unit"),
    ("5M", "Invalid duration: 5M. Wrong time unit"),
    ("minutes", "Invalid duration: minutes"),
    ("-5m", "Invalid duration: -5m"),
    ("5 m s", "Invalid duration: 5 m s"),
    ("", "Invalid duration: "),
    ("99999999999999999999s", 'For input string: "99999999999999999999"'),
])
def test_bad_durations_fail_with_dropwizards_message(text, error):
    with pytest.raises(DurationError) as e:
        parse_duration(text)
    assert str(e.value) == error


def test_duration_seconds():
    assert parse_duration("5m").seconds == 300
    assert parse_duration("100 seconds").seconds == 100


def test_opspec_timeout_is_written_back_in_the_long_form():
    verdict = check_operation(create(), CLUSTER, [])
    assert verdict.ok, verdict
    assert verdict.bound["opSpec"]["timeout"] == "5 minutes"
    assert verdict.bound["spec"]["executable"]["dockerPullTimeout"] == "100 seconds"


# -- phase 1: binding (JSON validation failure) ---------------------------------------------------
@pytest.mark.parametrize("body, error", [
    ({"type": "RESTART"}, "Could not resolve type id 'RESTART' as a subtype of "
                          "`com.phonepe.drove.models.operation.TaskOperation`: known type ids = [CREATE, KILL]"),
    ({"type": "create", "spec": SPEC, "opSpec": OP_SPEC},
     "Could not resolve type id 'create' as a subtype of `com.phonepe.drove.models.operation.TaskOperation`: "
     "known type ids = [CREATE, KILL]"),
    ({"spec": SPEC}, "Missing type id when trying to resolve subtype of "
                     "[simple type, class com.phonepe.drove.models.operation.TaskOperation]: "
                     "missing type id property 'type'"),
    ({"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": {**OP_SPEC, "failureStrategy": "RETRY"}},
     'Cannot deserialize value of type `com.phonepe.drove.models.operation.deploy.FailureStrategy` from String '
     '"RETRY": RETRY was not one of [STOP, ROLLBACK]'),
    ({"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": {**OP_SPEC, "timeout": "5 parsecs"}},
     "Cannot construct instance of `io.dropwizard.util.Duration`, problem: Invalid duration: 5 parsecs. "
     "Wrong time unit"),
    ({"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": {**OP_SPEC, "timeout": 300}},
     "Cannot construct instance of `io.dropwizard.util.Duration` (although at least one Creator exists): "
     "no int/Int-argument constructor/factory method to deserialize from Number value (300)"),
    ({"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": {**OP_SPEC, "parallelism": "two"}},
     'Cannot deserialize value of type `int` from String "two": not a valid `int` value'),
    ({"type": "KILL", "sourceAppName": "A", "taskId": "T", "opSpec": {**OP_SPEC, "parallelism": 3000000000}},
     "Numeric value (3000000000) out of range of int (-2147483648 - 2147483647)"),
])
def test_binding_problems_are_json_validation_failures_with_jacksons_message(body, error):
    verdict = check_operation(body, CLUSTER, [])
    assert (verdict.status, verdict.message, verdict.messages) == (400, JSON_FAILURE, [error])


def test_nested_type_ids_name_their_property():
    body = create(resources=[{"count": 1}])
    assert messages(body) == [
        "Missing type id when trying to resolve subtype of [simple type, class "
        "com.phonepe.drove.models.application.requirements.ResourceRequirement]: missing type id property 'type' "
        "(for POJO property 'resources')"]
    body = create(placementPolicy={"type": "SPREAD"})
    assert messages(body) == [
        "Could not resolve type id 'SPREAD' as a subtype of "
        "`com.phonepe.drove.models.application.placement.PlacementPolicy`: known type ids = "
        "[ANY, COMPOSITE, LOCAL, MATCH_TAG, MAX_N_PER_HOST, NO_TAG, ONE_PER_HOST, RULE_BASED] "
        "(for POJO property 'placementPolicy')"]


def test_only_the_first_binding_problem_is_reported():
    body = create(placementPolicy={"type": "SPREAD"}, logging={"type": "FILE"})
    assert len(messages(body)) == 1


def test_enums_match_case_insensitively_and_fuzzily():
    body = create(volumes=[{"pathInContainer": "/d", "pathOnHost": "/mnt/d", "mode": "read-only"}])
    body["opSpec"] = {**OP_SPEC, "failureStrategy": " rollback "}
    verdict = check_operation(body, CLUSTER, [])
    assert verdict.ok, verdict
    assert verdict.bound["spec"]["volumes"][0]["mode"] == "READ_ONLY"
    assert verdict.bound["opSpec"]["failureStrategy"] == "ROLLBACK"


def test_unknown_properties_are_ignored_and_any_executable_type_is_docker():
    body = create(executable={"type": "RKT", "url": "x", "dockerPullTimeout": "1m", "extra": 1}, colour="blue")
    verdict = check_operation(body, CLUSTER, [])
    assert verdict.ok, verdict
    assert verdict.bound["spec"]["executable"]["type"] == "DOCKER"


def test_an_empty_body_is_a_null_request_body():
    verdict = check_operation(None, CLUSTER, [])
    assert (verdict.status, verdict.message, verdict.messages) == (
        400, COMMAND_FAILURE, ["The request body must not be null"])


# -- phase 2: bean validation ---------------------------------------------------------------------
def test_every_bean_violation_is_reported_at_once_with_its_property_path():
    body = {"type": "CREATE", "spec": {
        "sourceAppName": "TEST APP",
        "executable": {"url": ""},
        "resources": [],
        "volumes": [{"pathOnHost": "/mnt/x", "mode": None}],
        "configs": [{"type": "INLINE"}, {"type": "CONTROLLER_HTTP_FETCH", "localFilename": "/c"}],
        "logging": {"type": "LOCAL", "maxFiles": 101},
        "placementPolicy": {"type": "MAX_N_PER_HOST", "max": 65},
        "userSpec": {"group": "staff"},
    }, "opSpec": {"parallelism": 513}}
    assert messages(body) == [
        "spec.sourceAppName - Only characters, numbers, hyphen and underscore is allowed",
        "spec.taskId - Task ID is mandatory",
        "spec.executable.url - Specify url for container",
        "spec.executable.dockerPullTimeout - Specify container fetch (docker pull) timeout",
        "spec.volumes[0].pathInContainer - Provide mount path inside container",
        "spec.volumes[0].mode - Specify whether mount is read-only or read-write",
        "spec.configs[0].localFilename must not be empty",
        "spec.configs[0].data must not be empty",
        "spec.configs[1].http must not be null",
        "spec.logging.maxSize - Specify max size of logs. Use 10m, 1g etc. Files bigger than this will be rotated",
        "spec.logging.maxFiles - Maximum 100 log files can be retained",
        "spec.resources - CPU/Memory requirements must be specified",
        "spec.placementPolicy.max - Maximum 64 containers can be specified per host",
        "spec.userSpec.user must not be empty",
        "opSpec.timeout must not be null",
        "opSpec.parallelism must be less than or equal to 512",
        "opSpec.failureStrategy must not be null",
    ]


@pytest.mark.parametrize("changes, expected", [
    ({"sourceAppName": None}, ["spec.sourceAppName - Source Application name is mandatory"]),
    ({"sourceAppName": ""}, ["spec.sourceAppName - Source Application name is mandatory"]),
    ({"taskId": "a/b"}, ["spec.taskId - Only characters, numbers, hyphen and underscore is allowed"]),
    ({"executable": None}, ["spec.executable - Executable details is required"]),
    ({"resources": None}, ["spec.resources - CPU/Memory requirements must be specified"]),
    ({"logging": {"type": "LOCAL", "maxSize": "10m"}},
     ["spec.logging.maxFiles - At least one log will be present, so min value is 1"]),
    ({"logging": {"type": "RSYSLOG"}}, ["spec.logging.server - Rsyslog server url should be passed here"]),
    ({"placementPolicy": {"type": "MAX_N_PER_HOST"}},
     ["spec.placementPolicy.max - Min one hose needs to be specified"]),
    ({"placementPolicy": {"type": "MATCH_TAG"}}, ["spec.placementPolicy.tag - Tag is mandatory"]),
    ({"placementPolicy": {"type": "RULE_BASED"}},
     ["spec.placementPolicy.rule - Specify a rule to select/reject node based",
      "spec.placementPolicy.ruleType must not be null"]),
    ({"placementPolicy": {"type": "COMPOSITE", "policies": []}},
     ["spec.placementPolicy.policies - Specify one or more policies to combine"]),
    ({"args": ["x"] * 2049}, ["spec.args size must be between 0 and 2048"]),
])
def test_each_spec_rule_has_the_servers_message(changes, expected):
    body = create()
    body["spec"].update(changes)
    assert messages(body) == expected


def test_kill_needs_its_ids_and_an_opspec():
    assert messages({"type": "KILL", "taskId": ""}) == [
        "sourceAppName must not be empty", "taskId must not be empty", "opSpec must not be null"]
    assert messages({"type": "CREATE"}) == ["spec must not be null", "opSpec must not be null"]


def test_kill_ids_have_no_pattern():
    verdict = check_operation({"type": "KILL", "sourceAppName": "a b", "taskId": "x/y", "opSpec": OP_SPEC},
                              CLUSTER, [])
    assert verdict.ok, verdict


def test_validate_spec_paths_have_no_spec_prefix():
    spec = {**SPEC, "taskId": None}
    assert messages({k: v for k, v in spec.items() if v is not None}, check_spec) == [
        "taskId - Task ID is mandatory"]


def test_composite_members_are_not_bean_validated():
    body = create(placementPolicy={"type": "COMPOSITE", "policies": [{"type": "MAX_N_PER_HOST", "max": 0}]})
    assert check_operation(body, CLUSTER, []).ok


# -- phase 3: semantic checks ---------------------------------------------------------------------
def test_every_semantic_problem_is_reported_at_once_in_the_servers_order():
    body = create(
        volumes=[{"pathInContainer": "/d", "pathOnHost": "/etc/secrets", "mode": "READ_ONLY"},
                 {"pathInContainer": "/e", "pathOnHost": "/mnt/ok", "mode": "READ_ONLY"}],
        args=["x" * 2049],
        devices=[{"type": "DIRECT", "pathOnHost": "/dev/nvidia0"}],
        resources=[{"type": "CPU", "count": 40}, {"type": "MEMORY", "sizeInMB": 70000}],
        placementPolicy={"type": "COMPOSITE", "policies": [{"type": "ANY"}, {"type": "LOCAL"}]},
    )
    assert messages(body) == [
        "Volume mount requested on non whitelisted host directory: /etc/secrets",
        "Maximum combined length of command line arguments can be 2048",
        "Device access is disabled. To enable, set enableRawDeviceAccess: true in controller options.",
        "Cluster does not have enough CPU. Required: 40 Available: 32",
        "Cluster does not have enough Memory. Required: 70000 Available: 65536",
        "Required cores exceeds the maximum core available on a single NUMA node in the cluster. Required: 40 Max: 8",
        "Local service placement is not allowed for tasks",
    ]


def test_semantic_checks_only_run_when_bean_validation_passes():
    body = create(taskId="", devices=[{"type": "DIRECT", "pathOnHost": "/dev/x"}])
    assert messages(body) == ["spec.taskId - Task ID is mandatory"]


def test_args_combined_length_counts_the_joining_spaces():
    assert check_operation(create(args=["x" * 1024, "y" * 1023]), CLUSTER, []).ok
    assert messages(create(args=["x" * 1024, "y" * 1024])) == [
        "Maximum combined length of command line arguments can be 2048"]


def test_capacity_follows_the_placement_policy_and_what_is_in_use():
    tagged = create(placementPolicy={"type": "MATCH_TAG", "tag": "highmem"},
                    resources=[{"type": "CPU", "count": 17}, {"type": "MEMORY", "sizeInMB": 512}])
    assert messages(tagged)[0] == "Cluster does not have enough CPU. Required: 17 Available: 16"
    nowhere = create(placementPolicy={"type": "MATCH_TAG", "tag": "gpu"})
    assert messages(nowhere) == ["Cluster does not have enough CPU. Required: 1 Available: 0",
                                 "Cluster does not have enough Memory. Required: 512 Available: 0"]
    busy = [CLUSTER.allocate({"type": "ANY"}, 8, 16384, []) for _ in range(1)]
    busy += [CLUSTER.allocate({"type": "ANY"}, 8, 16384, busy)]
    busy += [CLUSTER.allocate({"type": "ANY"}, 8, 16384, busy)]
    busy += [CLUSTER.allocate({"type": "ANY"}, 8, 16384, busy)]
    verdict = check_operation(create(), CLUSTER, busy)
    assert verdict.messages == ["Cluster does not have enough CPU. Required: 1 Available: 0",
                                "Cluster does not have enough Memory. Required: 512 Available: 0"]


def test_a_missing_placement_policy_is_the_servers_null_pointer_500_when_switched_on():
    server_like = Cluster(CLUSTER.executors, type(CLUSTER.options)(missing_placement_policy_fails=True))
    verdict = check_operation(create(placementPolicy=None), server_like, [])
    assert verdict.status == 500 and verdict.message == "Unexpected Server error"
    assert verdict.messages[0].startswith('Cannot invoke "com.phonepe.drove.models.application.placement.')
    assert check_operation(create(placementPolicy=None), CLUSTER, []).ok, "the fixture's default: off"


def test_store_checks_messages():
    assert duplicate_message("TEST_APP", "T0012") == (
        "Task already exists for TEST_APP/T0012 with taskID: TEST_APP-T0012")
    assert kill_target_message("A", "T") == "Either task does not exist or has already finished for A/T"
    assert search_violations("", "a/b") == ["form field taskSearchAppName must not be empty",
                                            'form field taskSearchTaskID must match "[a-zA-Z\\d\\-_]*"']
    assert log_read_violations(-2, -1) == ["query param offset must be greater than or equal to -1"]


def test_executor_ids_are_drove_name_uuids():
    executor = Executor("ppessdev", 3000, frozenset(), {})
    assert executor.executor_id.count("-") == 4 and executor.executor_id[14] == "3"


# -- lifecycle ------------------------------------------------------------------------------------
@pytest.mark.parametrize("t, state, outcome", [
    (0, "PENDING", None), (0.99, "PENDING", None), (1, "PROVISIONING", None), (4, "STARTING", None),
    (5, "RUNNING", None), (24.9, "RUNNING", None), (25, "RUN_COMPLETED", "done"), (26, "DEPROVISIONING", "done"),
    (28, "STOPPED", "done"), (10_000, "STOPPED", "done"),
])
def test_lifecycle_walks_the_table(t, state, outcome):
    status = lifecycle.state_at(t, created=0, run_seconds=20, fails=False)
    assert (status.state, status.outcome) == (state, outcome)


def test_a_failing_task_ends_stopped_with_failed_outcome():
    status = lifecycle.state_at(30, created=0, run_seconds=20, fails=True)
    assert (status.state, status.outcome, status.finished_at, status.run_ended_at) == ("STOPPED", "failed", 28, 25)


def test_kill_cancels_from_the_kill_time_and_is_ignored_once_the_run_is_over():
    status = lifecycle.state_at(9.5, created=0, run_seconds=20, fails=False, killed_at=9)
    assert (status.state, status.outcome, status.run_ended_at) == ("RUN_COMPLETED", "cancelled", 9)
    assert lifecycle.state_at(12.5, created=0, run_seconds=20, fails=False, killed_at=9).state == "STOPPED"
    late = lifecycle.state_at(30, created=0, run_seconds=20, fails=False, killed_at=25.5)
    assert late.outcome == "done"
    future = lifecycle.state_at(8, created=0, run_seconds=20, fails=False, killed_at=9)
    assert future.state == "RUNNING"


def test_run_plan_can_be_forced_from_the_spec_env_and_is_seeded_otherwise():
    assert lifecycle.run_plan(1, "A", "T", {"MOCK_RUN_SECONDS": "7", "MOCK_EXIT_CODE": "3"}) == (7, 3)
    assert lifecycle.run_plan(1, "A", "T", {"MOCK_EXIT_CODE": "0"}) == (20, 0)
    plans = [lifecycle.run_plan(1, "APP", f"T{i}", None) for i in range(1000)]
    failed = sum(code != 0 for _, code in plans)
    assert 60 < failed < 140, f"about 10% should fail, {failed} did"
    assert plans == [lifecycle.run_plan(1, "APP", f"T{i}", None) for i in range(1000)], "not deterministic"


# -- TaskInfo per state ---------------------------------------------------------------------------
def record(**env) -> dict:
    verdict = check_spec({**SPEC, "env": {"ITERATIONS": "10", **env}}, CLUSTER, [])
    allocation = CLUSTER.allocate({"type": "ANY"}, 1, 512, [])
    return tasks.new_record(verdict.bound, allocation, created=NOW, seed=1)


def info_at(rec: dict, offset: float) -> dict:
    now = NOW + offset
    return render.task_info(rec, lifecycle.status_of(rec, now), now)


def test_taskinfo_while_pending_has_no_hostname_and_no_result():
    info = info_at(record(MOCK_EXIT_CODE="0"), 0.5)
    assert info["state"] == "PENDING"
    assert "hostname" not in info and "taskResult" not in info
    assert info["errorMessage"] == "" and info["metadata"] == {}
    assert info["instanceId"].startswith("TI-") and len(info["instanceId"]) == 39
    assert info["created"] == info["updated"] == int(NOW * 1000)
    assert info["resources"] == [{"type": "CPU", "cores": {"0": [0]}}, {"type": "MEMORY", "memoryInMB": {"0": 512}}]
    assert info["executable"] == {"type": "DOCKER", "url": "ghcr.io/appform-io/test-task",
                                  "dockerPullTimeout": "100 seconds"}
    assert "loggingSpec" not in info and "logging" not in info and "volumes" not in info
    assert None not in info.values()


def test_taskinfo_gets_the_hostname_once_running_and_the_result_at_the_end():
    rec = record(MOCK_EXIT_CODE="0")
    assert "hostname" not in info_at(rec, 4.5)
    running = info_at(rec, 6)
    assert (running["state"], running["hostname"]) == ("RUNNING", "drove-exec-01.local")
    assert "taskResult" not in running
    done = info_at(rec, 100)
    assert (done["state"], done["taskResult"], done["errorMessage"]) == (
        "STOPPED", {"status": "SUCCESSFUL", "exitCode": 0}, "")
    assert done["updated"] == int((NOW + 28) * 1000)


def test_taskinfo_of_a_failed_run_has_the_exit_code_and_the_executors_message():
    rec = record(MOCK_EXIT_CODE="3")
    completed = info_at(rec, 25.5)
    assert completed["state"] == "RUN_COMPLETED"
    assert completed["taskResult"] == {"status": "FAILED", "exitCode": 3}
    assert completed["errorMessage"] == "Task instance exited with status: 3"
    assert info_at(rec, 100)["errorMessage"] == "Task instance exited with status: 3"


def test_taskinfo_of_a_killed_task_is_cancelled_minus_one():
    rec = tasks.kill(record(MOCK_EXIT_CODE="0"), NOW + 10)
    info = info_at(rec, 50)
    assert (info["state"], info["taskResult"], info["errorMessage"]) == (
        "STOPPED", {"status": "CANCELLED", "exitCode": -1}, "")


def test_kill_is_refused_once_stopped_and_a_second_kill_changes_nothing():
    rec = record(MOCK_EXIT_CODE="0")
    assert tasks.kill(rec, NOW + 100) is None
    once = tasks.kill(rec, NOW + 10)
    assert tasks.kill(once, NOW + 11) == once


def test_taskinfo_keeps_logging_as_loggingspec_and_empty_volumes():
    lower = check_spec({**SPEC, "logging": {"type": "local", "maxSize": "10m", "maxFiles": 3}}, CLUSTER, [])
    assert lower.message == JSON_FAILURE, "type ids are case-sensitive (only enum values are not)"
    verdict = check_spec({**SPEC, "volumes": [], "logging": {"type": "LOCAL", "maxSize": "10m", "maxFiles": 3}},
                         CLUSTER, [])
    rec = tasks.new_record(verdict.bound, CLUSTER.allocate(None, 1, 512, []), created=NOW, seed=1)
    info = info_at(rec, 1)
    assert info["volumes"] == []
    assert info["loggingSpec"] == {"type": "LOCAL", "maxSize": "10m", "maxFiles": 3, "compress": False}


def test_updated_follows_the_executors_periodic_reports_while_running():
    rec = record(MOCK_RUN_SECONDS="300", MOCK_EXIT_CODE="0")
    assert info_at(rec, 50)["updated"] == int((NOW + 40) * 1000)


def test_envelope_and_error_answers():
    assert render.success("pong") == {"status": "SUCCESS", "data": "pong", "message": "success"}
    assert render.success() == {"status": "SUCCESS", "message": "success"}
    unauthorized = render.unauthorized()
    assert (unauthorized.status, unauthorized.body, unauthorized.media_type) == (
        401, "Credentials are required to access this resource.", "text/plain")
    assert unauthorized.headers == {"WWW-Authenticate": 'Basic realm="realm"'}
    assert (render.forbidden().status, render.forbidden().body) == (403, None)
    assert render.no_such_task("A", "T").body == {"status": "FAILED", "message": "No such task instance A/T"}
    assert render.delete_failed("A", "T").body == {"status": "FAILED", "data": {"deleted": False},
                                                   "message": "Could not delete A/T"}
    assert render.command_failure(["x"]).body == {"status": "FAILED", "data": {"validationErrors": ["x"]},
                                                  "message": "Command validation failure"}
    assert render.server_error("boom").body == {"status": "FAILED", "data": {"failure": "boom"},
                                                "message": "Unexpected Server error"}
    assert render.search_redirect(False, "A", "T").headers == {"Location": "/"}
    assert render.search_redirect(True, "A", "T").headers == {"Location": "/tasks/A/T"}


def test_error_bodies_by_rejection_kind():
    assert render.error_body("unauthenticated", "x") == ("Credentials are required to access this resource.",
                                                        "text/plain")
    assert render.error_body("invalid", "x", ["a", "b"]) == (
        {"status": "FAILED", "data": {"validationErrors": ["a", "b"]}, "message": "Command validation failure"},
        "application/json")
    assert render.error_body("forbidden", "x") == (None, None)
    assert render.error_body("unavailable", "boom")[0]["message"] == "Unexpected Server error"


# -- fixtures -------------------------------------------------------------------------------------
def test_fixture_tasks_are_in_different_states():
    records = tasks.seed_tasks(SETTINGS, CLUSTER, NOW, seed=1)
    seen = {r["taskId"]: lifecycle.status_of(r, NOW) for r in records}
    assert {k: (s.state, s.outcome) for k, s in seen.items()} == {
        "T0012": ("STOPPED", "done"),
        "invoice-run-0417": ("STOPPED", "failed"),
        "invoice-run-0418": ("STOPPED", "cancelled"),
        "nightly-export-20261201": ("RUNNING", None),
        "adhoc-query-77": ("PROVISIONING", None),
    }
    assert [u["role"] for u in SETTINGS["users"]] == ["DROVE_EXTERNAL_READ_WRITE", "DROVE_EXTERNAL_READ_ONLY"]


# -- logs -----------------------------------------------------------------------------------------
def log_at(rec: dict, offset: float) -> bytes:
    now = NOW + offset
    return logs.log_bytes(rec, lifecycle.status_of(rec, now), now, seed=1)


def test_the_log_grows_as_the_task_runs_and_only_appends():
    rec = record(MOCK_EXIT_CODE="0")
    sizes = [len(log_at(rec, t)) for t in (0, 2, 6, 12, 20, 40, 400)]
    assert sizes == sorted(sizes) and sizes[0] == 0 and sizes[-1] > sizes[2] > sizes[1] > 0
    early, late = log_at(rec, 12), log_at(rec, 40)
    assert late.startswith(early), "the log file must only grow at its end"
    assert log_at(rec, 40) == log_at(rec, 400), "nothing is written after STOPPED"
    text = late.decode()
    assert "[CommonExecutableFetchAction] Pulling docker image: ghcr.io/appform-io/test-task" in text
    assert "[InstanceLogHandler] Iteration 10 of 10" in text
    assert "Exiting monitor as task result has been generated for TEST_APP/T0012" in text
    assert text.splitlines()[0].startswith("INFO  [2026-01-01 00:00:01,004] ")


def test_the_log_is_deterministic_and_differs_per_task():
    assert log_at(record(MOCK_EXIT_CODE="0"), 30) == log_at(record(MOCK_EXIT_CODE="0"), 30)
    rec = record(MOCK_EXIT_CODE="0")
    other = {**rec, "taskId": "T0013", "spec": {**rec["spec"], "taskId": "T0013", "env": {"MOCK_EXIT_CODE": "0"}}}
    assert log_at(other, 30) != log_at(rec, 30)


def test_a_failed_and_a_killed_run_say_so_in_the_log():
    failed = log_at(record(MOCK_EXIT_CODE="3"), 40).decode()
    assert "ERROR [" in failed and "exitCodeLong=3" in failed
    killed = log_at(tasks.kill(record(MOCK_EXIT_CODE="0"), NOW + 8), 40).decode()
    assert "WARN  [" in killed and "stopped as stop was called" in killed


def test_log_read_list_and_download_answers():
    content = b"0123456789"
    assert logs.read_answer(content, -1, -1, "/p").body == {"data": "", "offset": 10}
    assert logs.read_answer(content, 2, 3, "/p").body == {"data": "234", "offset": 2}
    assert logs.read_answer(content, 8, -1, "/p").body == {"data": "89", "offset": 8}
    assert logs.read_answer(content, 20, 5, "/p").body == {"data": "", "offset": 20}
    negative = logs.read_answer(content, -1, 5, "/p/output.log")
    assert negative.status == 500 and "Negative seek offset" in negative.body["error"]
    assert logs.list_answer().body == {"files": ["output.log"]}
    assert (logs.no_content().status, logs.no_content().body) == (204, None)
    download = logs.download_answer(content, "output.log")
    assert (download.media_type, download.headers) == ("text/plain",
                                                       {"Content-Disposition": "attachment; filename=output.log"})
    renamed = logs.download_answer(content, "output.log", rename=True, source_app="A", task_id="T", now=NOW)
    assert renamed.headers["Content-Disposition"] == "attachment; filename=A_T_output.log-2026-01-01_00-00-00"
    missing = logs.missing_file("/var/log/drove/drove-executor/A/T", "x.log")
    assert missing.body == {"error": 'Executor call returned: 400 body: {"error":"Could not read log file: '
                                     '/var/log/drove/drove-executor/A/T/x.log"}'}
