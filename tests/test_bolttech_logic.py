"""The bolttech core without a server: validation, the secret, the calendar, the event lifecycle,
instance operations, rendering (checked against the merged spec) and the fixture replay."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from mock_server import PROJECT_ROOT
from mock_server.apis.bolttech import events as ev
from mock_server.apis.bolttech import instances, render, seeding, strategies
from mock_server.apis.bolttech.schedule import (
    ScheduleError,
    add_delay,
    calendar_for_cycle,
    first_main_date,
    iso,
    next_main_date,
    reset,
    zone,
)
from mock_server.errors import Rejection

FIXTURES = yaml.safe_load((PROJECT_ROOT / "fixtures" / "bolttech.yaml").read_text())
SPEC = yaml.safe_load((PROJECT_ROOT / "specs" / "openapi.yaml").read_text())
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MONTHLY = {"unit": "months", "amount": 1}


def dt(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fixture_strategy_body() -> dict:
    spec = copy.deepcopy(FIXTURES["strategies"][0])
    return {k: spec[k] for k in ("name", "description", "secret", "settings")}


def make_strategy(**settings_changes) -> dict:
    body = fixture_strategy_body()
    body["settings"].update(settings_changes)
    return strategies.new_strategy(body, sid="6f1c2a8e-3b7d-4f5a-9c2e-1d4b8a7e9f30", now=T0)


def env(now: float, **kwargs) -> instances.Env:
    counter = kwargs.pop("counter", None) or itertools.count(1)
    return instances.Env(now=now, mint=lambda: render.sid(7, next(counter)), **kwargs)


def response_errors(op_id: str, body, status: str = "200") -> list[str]:
    """Why ``body`` is not a valid ``status`` answer of ``op_id`` in the merged spec."""
    op = next(op for path in SPEC["paths"].values() for op in path.values()
              if isinstance(op, dict) and op.get("operationId") == op_id)
    schema = op["responses"][status]["content"]["application/json"]["schema"]
    root = {**schema, "components": SPEC["components"]}
    return [f"{list(e.absolute_path)}: {e.message}" for e in OAS30Validator(root).iter_errors(body)]


# -- validation -------------------------------------------------------------------------------------
def test_fixture_strategy_is_valid_for_create_and_patch():
    body = fixture_strategy_body()
    assert strategies.validate_strategy(body) == []
    assert strategies.validate_strategy({"settings": body["settings"]}, update=True) == []


def test_empty_task_key_gets_class_validator_wording():
    body = fixture_strategy_body()
    body["settings"]["tasks"][0]["key"] = ""
    assert "settings.tasks.0.key should not be empty" in strategies.validate_strategy(body)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s["schedule"]["calendars"][0]["scheduleAfter"].update(unit="weeks"),
     "settings.schedule.calendars.0.scheduleAfter.unit must be one of the following values: "
     "years, months, days, hours, minutes"),
    (lambda s: s["schedule"]["calendars"][0]["scheduleAfter"].update(amount=0),
     "settings.schedule.calendars.0.scheduleAfter.amount must be a positive number"),
    (lambda s: s["schedule"]["calendars"][0]["scheduleAfter"].update(amount="1"),
     "settings.schedule.calendars.0.scheduleAfter.amount must be a number conforming to the specified constraints"),
    (lambda s: s["schedule"].update(calendars=[]), "settings.schedule.calendars should not be empty"),
    (lambda s: s["schedule"].update(resetTo={"hour": 25}),
     "settings.schedule.resetTo.hour must not be greater than 24"),
    (lambda s: s["schedule"].update(initialDelay={"unit": "days", "amount": 1, "resetTo": {"month": 0}}),
     "settings.schedule.initialDelay.resetTo.month must not be less than 1"),
    (lambda s: s["onCreateTasks"][0].update(delayBy={"unit": "days"}),
     "settings.onCreateTasks.0.delayBy.amount should not be null or undefined"),
    (lambda s: s["onCreateTasks"][0].update(task="nope"),
     "settings.onCreateTasks.0.task must be the key of one of settings.tasks"),
    (lambda s: s["onCancelTasks"].append({}), "settings.onCancelTasks.1.task should not be empty"),
    (lambda s: s["tasks"][0]["steps"][0].update(action="nope"),
     "settings.tasks.0.steps.0.action must be the key of one of settings.actions"),
    (lambda s: s["tasks"][0]["steps"][0].update(nextStep="nope"),
     "settings.tasks.0.steps.0.nextStep must be the key of one of the task's steps"),
    (lambda s: s["tasks"][0]["steps"][0].update(nextStepRules=[{"if": "always", "nextStep": "charge"}]),
     "settings.tasks.0.steps.0.nextStepRules.0.if must be one of the following values: "
     "onError, onBeforeRetry, onBeforePause, callback"),
    (lambda s: s["tasks"][0]["steps"][2].update(final="yes"), "settings.tasks.0.steps.2.final must be a boolean value"),
    (lambda s: s["tasks"][0].update(initialStep="nope"),
     "settings.tasks.0.initialStep must be the key of one of the task's steps"),
    (lambda s: s["tasks"][0]["retryConfig"].pop("times"),
     "settings.tasks.0.retryConfig.times should not be null or undefined"),
    (lambda s: s["tasks"][0]["retryConfig"].update(pauseBeforeCancel=1),
     "settings.tasks.0.retryConfig.pauseBeforeCancel must be a boolean value"),
    (lambda s: s["tasks"][0]["retryConfig"]["retryAfter"].update(unit="seconds"),
     "settings.tasks.0.retryConfig.retryAfter.unit must be one of the following values: "
     "years, months, days, hours, minutes"),
    (lambda s: s["tasks"][1].update(key="execute-flow"), "settings.tasks.1.key must be unique"),
    (lambda s: s["config"].update(requestDelayTime=5001),
     "settings.config.requestDelayTime must not be greater than 5000"),
    (lambda s: s["config"].update(timezone="Mars/Olympus"), "settings.config.timezone must be a valid IANA time-zone"),
    (lambda s: s["actions"][0].update(method="nope"),
     "settings.actions.0.method must be the key of one of the methods of service policy"),
    (lambda s: s["services"][1]["methods"][0].update(method="send"),
     "settings.services.1.methods.0.method must be one of the following values: get, delete, post, put, patch"),
])
def test_a_broken_rule_names_its_property(change, message):
    body = fixture_strategy_body()
    change(body["settings"])
    assert message in strategies.validate_strategy(body)


def test_create_body_needs_name_secret_settings():
    assert strategies.validate_strategy({"name": "Not A Slug"}) == [
        "name must match /^[a-z0-9]+(-[a-z0-9]+)*$/ regular expression",
        "secret should not be empty",
        "secret must be a string",
        "settings should not be null or undefined",
    ]


def test_patch_needs_every_settings_block():
    settings = fixture_strategy_body()["settings"]
    del settings["config"], settings["onCancelTasks"]
    messages = strategies.validate_strategy({"settings": settings}, update=True)
    assert messages == ["settings.config should not be null or undefined",
                        "settings.onCancelTasks should not be null or undefined"]
    settings["config"], settings["onCancelTasks"] = {}, None  # null is a value: "may be null"
    assert strategies.validate_strategy({"settings": settings}, update=True) == []


def test_hostile_shapes_give_messages_not_crashes():
    body = fixture_strategy_body()
    body["settings"]["tasks"][0]["key"] = ["not", "hashable"]
    body["settings"]["services"][0]["key"] = {"x": 1}
    body["settings"]["actions"] = [1, None]
    messages = strategies.validate_strategy(body)
    assert "settings.tasks.0.key must be a string" in messages
    assert "settings.actions.0 nested property 0 must be either object or array" in messages
    assert strategies.validate_strategy([]) == ["body must be an object"]


def test_bad_request_body_is_nestjs_shaped():
    assert strategies.bad_request(["a should not be empty"]) == {
        "statusCode": 400, "message": ["a should not be empty"], "error": "Bad Request"}


# -- the strategy record ----------------------------------------------------------------------------
def test_patch_replaces_settings_and_bumps_version():
    record = make_strategy()
    settings = copy.deepcopy(record["settings"])
    settings["config"] = {"requestDelayTime": 2000}
    patched = strategies.patched_strategy(record, {"settings": settings, "description": "slower"}, now=T0 + 60)
    assert patched["version"] == 2 and patched["settings"]["config"] == {"requestDelayTime": 2000}
    summary = strategies.summary(patched)
    assert summary == {"version": 2, "sid": record["sid"], "name": "recurring-payment", "description": "slower",
                       "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:01:00.000Z"}
    assert response_errors("ExecutionStrategyController_update", summary) == []
    assert response_errors("ExecutionStrategyController_create", strategies.summary(record)) == []


def test_get_strategy_shows_settings_but_never_the_secret():
    record = make_strategy()
    body = strategies.details(record)
    assert "secret" not in body and body["settings"] == record["settings"]
    assert "dev-secret" not in str(strategies.embedded(record))
    assert response_errors("ExecutionStrategyController_findOne", body) == []


# -- the secret -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "known", "expected"), [
    (None, True, 400), (None, False, 400), ("", True, 400),
    ("ZGV2LXNlY3JldA==", False, 404), ("d3Jvbmc=", False, 404),
    ("d3Jvbmc=", True, 403), ("%%%", True, 403), ("/w==", True, 403),
    ("ZGV2LXNlY3JldA==", True, None),
])
def test_secret_checks_run_missing_then_unknown_then_wrong(header, known, expected):
    verdict = strategies.check_secret(header, make_strategy() if known else None, "Execution instance not found")
    assert (verdict.status if verdict else None) == expected
    if expected == 404:
        assert verdict.kind == "not_found" and verdict.message == "Execution instance not found"


def test_secret_header_is_base64_of_the_plain_secret():
    assert strategies.secret_header("dev-secret") == "ZGV2LXNlY3JldA=="
    assert make_strategy()["secret"].startswith("sha256:")


def test_queue_accepts_the_secret_of_any_strategy():
    known = [make_strategy()]
    assert strategies.check_any_secret("ZGV2LXNlY3JldA==", known) is None
    assert strategies.check_any_secret("d3Jvbmc=", known).status == 403
    assert strategies.check_any_secret(None, known).status == 400


# -- the calendar -----------------------------------------------------------------------------------
def test_month_ends_clamp_and_the_execution_day_comes_back():
    jan31 = dt(2026, 1, 31, 9)
    feb = add_delay(jan31, MONTHLY, execution_day=31)
    assert feb == dt(2026, 2, 28, 9)
    assert add_delay(feb, MONTHLY, execution_day=31) == dt(2026, 3, 31, 9)
    assert add_delay(dt(2026, 3, 31), MONTHLY, execution_day=31) == dt(2026, 4, 30)


def test_leap_years():
    assert add_delay(dt(2028, 1, 31), MONTHLY, execution_day=31) == dt(2028, 2, 29)
    yearly = {"unit": "years", "amount": 1}
    assert add_delay(dt(2028, 2, 29), yearly, execution_day=29) == dt(2029, 2, 28)
    assert add_delay(dt(2028, 2, 29), {"unit": "years", "amount": 4}, execution_day=29) == dt(2032, 2, 29)
    assert add_delay(dt(2028, 2, 28), {"unit": "days", "amount": 1}) == dt(2028, 2, 29)


def test_units_and_fractions():
    base = dt(2026, 1, 1, 12)
    assert add_delay(base, {"unit": "hours", "amount": 36}) == dt(2026, 1, 3)
    assert add_delay(base, {"unit": "minutes", "amount": 90}) == dt(2026, 1, 1, 13, 30)
    assert add_delay(base, {"unit": "days", "amount": 1.5}) == dt(2026, 1, 3)
    assert add_delay(base, {"unit": "months", "amount": 1.9}) == dt(2026, 2, 1, 12)  # JS setMonth truncates
    assert add_delay(base, {"unit": "days", "amount": 3}, sign=-1) == dt(2025, 12, 29, 12)


def test_reset_to_sets_fields_and_zeroes_finer_ones():
    t = dt(2026, 4, 10, 13, 45, 30)
    assert reset(t, {"day": 31}) == dt(2026, 4, 30)
    assert reset(t, {"hour": 9}) == dt(2026, 4, 10, 9)
    assert reset(t, {"hour": 24}) == dt(2026, 4, 11)
    assert reset(t, {"month": 2, "day": 30, "hour": 6, "minute": 15}) == dt(2026, 2, 28, 6, 15)
    assert add_delay(t, {"unit": "months", "amount": 1, "resetTo": {"day": 1, "hour": 8}}) == dt(2026, 5, 1, 8)
    assert add_delay(t, MONTHLY, default_reset={"day": 5}) == dt(2026, 5, 5)


def test_days_keep_the_wall_clock_across_daylight_saving():
    lisbon = zone("Europe/Lisbon")
    before = datetime(2026, 3, 28, 9, tzinfo=lisbon)
    assert add_delay(before, {"unit": "days", "amount": 1}, tz=lisbon) == datetime(2026, 3, 29, 9, tzinfo=lisbon)
    assert add_delay(before, {"unit": "hours", "amount": 24}, tz=lisbon).astimezone(lisbon).hour == 10


def test_first_main_date_initial_delay_and_attribute_base():
    schedule = {"initialDelay": {"unit": "days", "amount": 2}, "resetTo": {"hour": 6}, "calendars": []}
    assert first_main_date(dt(2026, 1, 1, 15), schedule) == dt(2026, 1, 3, 6)
    from_attr = {"initialDelay": {"unit": "months", "amount": 1, "from": "policyStart"}, "calendars": []}
    assert first_main_date(dt(2026, 1, 1), from_attr, {"policyStart": "2026-03-15T00:00:00Z"}) == dt(2026, 4, 15)


def test_run_on_cycle_picks_the_calendar():
    calendars = [{"key": "first", "runOnCycle": 2, "scheduleAfter": {"unit": "days", "amount": 10}},
                 {"key": "rest", "scheduleAfter": MONTHLY}]
    assert calendar_for_cycle(calendars, 2)["key"] == "first"
    assert calendar_for_cycle(calendars, 3)["key"] == "rest"
    assert calendar_for_cycle(calendars[:1], 3) is None
    assert next_main_date(dt(2026, 1, 31), calendars[1], execution_day=31) == dt(2026, 2, 28)


def test_out_of_range_dates_raise_schedule_error():
    with pytest.raises(ScheduleError):
        add_delay(dt(9999, 12, 1), MONTHLY)


def test_iso_is_javascript_to_iso_string():
    assert iso(T0) == "2026-01-01T00:00:00.000Z"
    assert iso(T0 + 1.2345) == "2026-01-01T00:00:01.234Z"


# -- the event lifecycle ----------------------------------------------------------------------------
def flow_event(strategy: dict, *, due: float = T0 + 100, attributes: dict | None = None, percent: float = 0,
               task: str = "execute-flow") -> dict:
    instance = {"sid": "00c974cd-8696-45db-9631-6cb5393f67c9", "cycle": 1}
    return ev.new_event(sid="e-1", correlation_id="c-1", instance=instance, strategy=strategy, task=task, main=True,
                        date=due, now=T0, failure=ev.failure_plan(attributes, percent=percent, seed=1))


def states(event: dict, times, held=()) -> list[tuple]:
    found = []
    for t in times:
        s = ev.event_state(event, list(held), T0 + t)
        found.append((t, s.status, s.attempt, s.last_step))
    return found


def sync_strategy() -> dict:
    strategy = make_strategy()
    strategy["settings"]["services"][1]["methods"][0]["async"] = False
    return strategy


def test_event_walks_pending_queued_executing_processed():
    event = flow_event(sync_strategy())
    assert states(event, [0, 99.9, 100, 100.9, 101, 104, 107, 109.9, 110, 500]) == [
        (0, "PENDING", 1, None), (99.9, "PENDING", 1, None),
        (100, "QUEUED", 1, None), (100.9, "QUEUED", 1, None),
        (101, "EXECUTING", 1, "check-policy"), (104, "EXECUTING", 1, "charge"), (107, "EXECUTING", 1, "update-crm"),
        (109.9, "EXECUTING", 1, "update-crm"), (110, "PROCESSED", 1, "update-crm"), (500, "PROCESSED", 1, "update-crm"),
    ]
    done = ev.event_state(event, [], T0 + 110)
    assert [r.step for r in done.results] == ["check-policy", "charge", "update-crm"]
    assert (done.queued_at, done.executed_at, done.finished_at) == (T0 + 100, T0 + 101, T0 + 110)


def test_a_failing_step_is_retried_then_fails_and_pauses_the_instance():
    # retryConfig: times 2 (3 attempts), retryAfter 1 minute, pauseBeforeCancel true
    event = flow_event(sync_strategy(), attributes={"mockFailStep": "charge"})
    assert states(event, [103.9, 106.9, 107, 166.9, 167, 168, 171, 174, 234, 238, 241]) == [
        (103.9, "EXECUTING", 1, "check-policy"), (106.9, "EXECUTING", 1, "charge"),
        (107, "PENDING", 2, "charge"),           # failed at 107, retry due at 167
        (166.9, "PENDING", 2, "charge"), (167, "QUEUED", 2, "charge"),  # attempt 1's results until one runs
        (168, "EXECUTING", 2, "check-policy"),   # a retry reruns the route from the start
        (171, "EXECUTING", 2, "charge"), (174, "PENDING", 3, "charge"),
        (234, "QUEUED", 3, "charge"), (238, "EXECUTING", 3, "charge"), (241, "FAILED", 3, "charge"),
    ]
    retried = ev.event_state(event, [], T0 + 171)
    assert retried.results[0].from_cache and retried.date == T0 + 167
    assert (retried.queued_at, retried.executed_at) == (T0 + 167, T0 + 168)
    failed = ev.event_state(event, [], T0 + 241)
    assert failed.effect == "pause" and failed.finished_at == T0 + 241
    assert failed.error == "Step charge failed (attempt 3)"


def test_mock_fail_times_fails_only_the_first_attempts():
    event = flow_event(sync_strategy(), attributes={"mockFailStep": "charge", "mockFailTimes": 1})
    done = ev.event_state(event, [], T0 + 1000)
    assert (done.status, done.attempt) == ("PROCESSED", 2)
    assert [(r.step, r.success) for r in done.results] == [("check-policy", True), ("charge", True),
                                                            ("update-crm", True)], "the retry runs the whole route"


def test_exhausted_retries_cancel_without_pause_before_cancel():
    strategy = sync_strategy()
    strategy["settings"]["tasks"][0]["retryConfig"].update(pauseBeforeCancel=False, times=0)
    failed = ev.event_state(flow_event(strategy, attributes={"mockFailStep": "check-policy"}), [], T0 + 200)
    assert (failed.status, failed.effect) == ("FAILED", "cancel")


def test_retry_strategy_periods_come_first_then_retry_after_and_huge_times_are_capped():
    strategy = sync_strategy()
    strategy["settings"]["tasks"][0]["retryConfig"].update(
        times=10**12, retryStrategy=[{"unit": "minutes", "amount": 5}], retryAfter={"unit": "hours", "amount": 1})
    event = flow_event(strategy, attributes={"mockFailStep": "charge"})
    table = ev.table(event)
    assert table.lifecycle.retry.times == 1 + ev.MAX_RETRIES
    assert [table.lifecycle.retry.wait(n) for n in (1, 2, 3)] == [300, 3600, 3600]
    second = ev.event_state(event, [], T0 + 107)
    assert (second.status, second.attempt, second.date) == ("PENDING", 2, T0 + 107 + 300)
    third = ev.event_state(event, [], T0 + 107 + 300 + 7)
    assert (third.status, third.attempt, third.date) == ("PENDING", 3, T0 + 414 + 3600)


def test_on_error_rule_continues_instead_of_failing():
    strategy = sync_strategy()
    strategy["settings"]["tasks"][0]["steps"][0]["nextStepRules"] = [{"if": "onError", "nextStep": "update-crm"}]
    done = ev.event_state(flow_event(strategy, attributes={"mockFailStep": "check-policy"}), [], T0 + 500)
    assert done.status == "PROCESSED"
    assert [(r.step, r.success) for r in done.results] == [("check-policy", False), ("update-crm", True)]


def test_seeded_failures_are_deterministic():
    runs = [ev.event_state(flow_event(sync_strategy(), percent=50), [], T0 + 10_000) for _ in range(2)]
    assert runs[0] == runs[1]
    outcomes = {ev.event_state({**flow_event(sync_strategy(), percent=50), "sid": f"e-{i}"}, [], T0 + 10_000).attempt
                for i in range(20)}
    assert len(outcomes) > 1, "a 50 % failure rate should retry some events and not others"


def test_async_step_parks_the_event_until_resume():
    event = flow_event(make_strategy())  # boltpay charge is async in the fixture
    assert states(event, [107, 500]) == [(107, "PAUSED", 1, "charge"), (500, "PAUSED", 1, "charge")]
    parked = ev.event_state(event, [], T0 + 500)
    assert parked.parked and parked.results[-1].data == {"status": "PENDING"}
    resumed = instances.resume_event(event, [], env(T0 + 600), {"status": "PAID"})
    assert states(resumed, [600, 600.9, 601, 604]) == [
        (600, "QUEUED", 1, "charge"), (600.9, "QUEUED", 1, "charge"),
        (601, "EXECUTING", 1, "update-crm"), (604, "PROCESSED", 1, "update-crm"),
    ]
    done = ev.event_state(resumed, [], T0 + 604)
    assert done.results[1].data == {"status": "PAID"}
    assert done.results[1].after_resume_data == {"status": "PENDING"}
    assert done.cached_results[-1].data == {"status": "PENDING"}


def test_resume_and_cancel_answer_409_in_the_wrong_state():
    event = flow_event(sync_strategy())
    with pytest.raises(Rejection) as refused:
        instances.resume_event(event, [], env(T0 + 50))
    assert (refused.value.kind, refused.value.message) == ("conflict", "Execution event is not paused")
    cancelled = instances.cancel_event(event, [], env(T0 + 50))
    assert ev.event_state(cancelled, [], T0 + 60).status == "CANCELED"
    with pytest.raises(Rejection) as again:
        instances.cancel_event(cancelled, [], env(T0 + 70))
    assert again.value.message == "Execution event is already finished"


def test_cancel_stops_an_executing_event():
    event = {**flow_event(sync_strategy()), "canceledAt": T0 + 105}
    assert states(event, [104, 105, 200]) == [
        (104, "EXECUTING", 1, "charge"), (105, "CANCELED", 1, "charge"), (200, "CANCELED", 1, "charge")]


def test_paused_queue_holds_pending_and_queued_events():
    event = flow_event(sync_strategy())
    queue = ev.pause_queue({"pauses": []}, T0 + 50)
    assert ev.queue_paused(queue) and render.queue_status(queue) == {"status": "paused"}
    held = ev.holds({}, queue)
    assert states(event, [100, 1000], held) == [(100, "PENDING", 1, None), (1000, "PENDING", 1, None)]
    queue = ev.resume_queue(queue, T0 + 1000)
    assert render.queue_status(queue) == {"status": "active"}
    held = ev.holds({}, queue)
    assert states(event, [1000, 1001, 1010], held) == [
        (1000, "QUEUED", 1, None), (1001, "EXECUTING", 1, "check-policy"), (1010, "PROCESSED", 1, "update-crm")]


def test_queue_paused_while_queued_delays_pickup_and_executing_continues():
    event = flow_event(sync_strategy())
    held = [[T0 + 100.5, T0 + 200]]  # paused half a second into QUEUED
    assert states(event, [150, 200.4, 200.5, 209.5], held) == [
        (150, "QUEUED", 1, None), (200.4, "QUEUED", 1, None),
        (200.5, "EXECUTING", 1, "check-policy"), (209.5, "PROCESSED", 1, "update-crm")]
    running = [[T0 + 102, T0 + 300]]  # paused while executing: the job finishes
    assert states(event, [110], running) == [(110, "PROCESSED", 1, "update-crm")]


def test_manual_trigger_events_stay_onhold():
    strategy = make_strategy()
    inst, _, on_create = instances.create_instance(
        {"strategyId": strategy["sid"], "startDate": "2026-01-01T00:00:00.000Z"}, strategy, env(T0))
    manual = next(e for e in on_create if e["task"] == "c2p-test-failed")
    assert ev.event_state(manual, [], T0 + 10**7).status == "ONHOLD"


def test_every_state_an_event_table_can_report_is_a_documented_event_status():
    assert {"PROCESSED", "FAILED", "CANCELED"} == ev.FINAL
    enum = set(SPEC["components"]["schemas"]["Event"]["properties"]["status"]["enum"])
    assert set(ev.STATES) == enum
    for strategy in (make_strategy(), sync_strategy()):
        for task in ("execute-flow", "c2p-reminder"):
            table = ev.table(flow_event(strategy, task=task, attributes={"mockFailStep": "charge"}))
            assert set(table.lifecycle.states()) <= enum, table.lifecycle.states()


# -- instances --------------------------------------------------------------------------------------
def created(strategy: dict | None = None, start: str = "2026-01-31T09:00:00.000Z", attributes=None, counter=None):
    strategy = strategy or make_strategy()
    body = {"strategyId": strategy["sid"], "startDate": start, "description": "d", "attributes": attributes or {}}
    inst, cycle, on_create = instances.create_instance(body, strategy, env(T0, counter=counter))
    return strategy, inst, cycle + on_create


def test_create_instance_schedules_main_and_on_create_events():
    strategy, inst, events = created()
    start = datetime(2026, 1, 31, 9, tzinfo=UTC).timestamp()
    assert (inst["status"], inst["cycle"], inst["executionDay"], inst["executionDate"]) == ("ACTIVE", 1, 31, start)
    main = events[0]
    assert main["main"] and main["task"] == "execute-flow" and main["due"] == start
    expiration = next(e for e in events if e["task"] == "c2p-expiration")
    assert expiration["due"] == datetime(2026, 3, 12, 9, tzinfo=UTC).timestamp()  # startDate + 40 days


def test_processed_main_event_starts_the_next_cycle_on_the_execution_day():
    strategy = make_strategy()
    strategy["settings"]["services"][1]["methods"][0]["async"] = False
    strategy, inst, events = created(strategy)
    counter = itertools.count(100)
    start = inst["executionDate"]
    inst, events = instances.settle(inst, events, strategy, {"pauses": []}, env(start + 60, counter=counter))
    assert inst["cycle"] == 2 and inst["executionDate"] == datetime(2026, 2, 28, 9, tzinfo=UTC).timestamp()
    mains = [e for e in events if e["main"]]
    assert [m["createdCycle"] for m in mains] == [1, 2] and inst["mainEvent"] == mains[1]["sid"]
    later = datetime(2026, 3, 31, 10, tzinfo=UTC).timestamp()
    inst, events = instances.settle(inst, events, strategy, {"pauses": []}, env(later, counter=counter))
    # Mar 31 09:00 (cycle 3) has run by 10:00, so cycle 4 is due on Apr 30 (the last day, as 31 > 30)
    assert inst["cycle"] == 4 and iso(inst["executionDate"]) == "2026-04-30T09:00:00.000Z"
    reminders = [iso(e["due"]) for e in events if e["task"] == "c2p-reminder"]
    assert reminders == ["2026-01-28T09:00:00.000Z", "2026-02-25T09:00:00.000Z", "2026-03-28T09:00:00.000Z",
                         "2026-04-27T09:00:00.000Z"]
    again = instances.settle(inst, events, strategy, {"pauses": []}, env(later, counter=counter))
    assert again == (inst, events), "settling twice at the same time must change nothing"


def test_out_of_attempts_pauses_or_cancels_the_instance():
    strategy, inst, events = created(attributes={"mockFailStep": "check-policy"})
    later = inst["executionDate"] + 3600
    paused, _ = instances.settle(inst, events, strategy, {"pauses": []}, env(later, counter=itertools.count(50)))
    assert paused["status"] == "PAUSED" and paused["cycle"] == 1
    strategy["settings"]["tasks"][0]["retryConfig"]["pauseBeforeCancel"] = False
    cancelled, evs = instances.settle(inst, events, strategy, {"pauses": []}, env(later, counter=itertools.count(50)))
    assert (cancelled["status"], cancelled["cancelReason"]) == ("CANCELED", "MAX_ATTEMPTS")
    assert any(e["task"] == "notify-cancellation" and e["afterCancellation"] for e in evs)
    assert {e["cancelReason"] for e in evs if e["task"] == "c2p-expiration"} == {"CANCEL_INSTANCE"}


def test_pause_and_cancel_twice_answer_409():
    strategy, inst, events = created()
    paused = instances.pause_instance(inst, env(T0 + 1))
    with pytest.raises(Rejection) as twice:
        instances.pause_instance(paused, env(T0 + 2))
    assert (twice.value.kind, twice.value.message) == ("conflict", "Execution instance is not active")
    cancelled, evs, on_cancel, count = instances.cancel_instance(paused, events, strategy, {"pauses": []}, env(T0 + 3))
    assert cancelled["status"] == "CANCELED" and cancelled["cancelReason"] == "HTTP_REQUEST"
    assert count == 4 and [e["task"] for e in on_cancel] == ["notify-cancellation"]
    with pytest.raises(Rejection) as again:
        instances.cancel_instance(cancelled, evs, strategy, {"pauses": []}, env(T0 + 4))
    assert again.value.message == "Execution instance is already canceled"
    with pytest.raises(Rejection):
        instances.cancel_tasks(cancelled, evs, "c2p-reminder", {"pauses": []}, env(T0 + 5))
    # on-cancel events run although the instance is cancelled (and was paused)
    held = ev.holds(cancelled, {"pauses": []})
    assert ev.event_state(on_cancel[0], held, T0 + 3 + 10).status == "PROCESSED"


def test_cancel_tasks_cancels_only_open_events_of_the_named_tasks():
    strategy, inst, events = created()
    same, evs, count = instances.cancel_tasks(inst, events, "c2p-expiration,unknown", {"pauses": []}, env(T0 + 1))
    assert count == 1 and same["status"] == "ACTIVE"
    assert [e["cancelReason"] for e in evs if e["task"] == "c2p-expiration"] == ["INSTANCE_CANCEL_TASK_REQUESTED"]


def test_unschedulable_start_date_is_a_400():
    with pytest.raises(Rejection) as refused:
        created(start="9999-12-31T00:00:00.000Z", strategy=make_strategy(schedule={
            "initialDelay": MONTHLY, "calendars": [{"key": "m", "task": "execute-flow", "scheduleAfter": MONTHLY}]}))
    assert refused.value.kind == "invalid" and refused.value.property == "startDate"


# -- rendering --------------------------------------------------------------------------------------
def seeded(now: float = T0):
    counter = itertools.count(1)
    return seeding.seed_state(FIXTURES, now=now, mint=lambda: render.sid(1, next(counter)), seed=1)


def test_fixture_instance_is_mid_cycle_with_named_events():
    state = seeded()
    inst = state.instances[0]
    held = ev.holds(inst, state.queue)
    by_sid = {e["sid"]: ev.event_state(e, held, T0).status for e in state.events}
    assert inst["cycle"] == 2 and inst["mainEvent"] == "8d2f6b1a-4c3e-4e7b-9a5d-2f1e0c9b7a64"
    assert by_sid["3a5c7e9b-1d2f-4a6b-8c0d-e1f2a3b4c5d6"] == "PROCESSED"  # cycle 1, resumed after 2 h
    assert by_sid["8d2f6b1a-4c3e-4e7b-9a5d-2f1e0c9b7a64"] == "PAUSED"
    assert by_sid["4e2a9f7c-5d1b-4c8e-b3a6-9d0f2e1c7b58"] == "PENDING"
    assert by_sid["9c3d5e7f-1a2b-4c6d-8e9f-0a1b2c3d4e5f"] == "ONHOLD"
    main = next(e for e in state.events if e["sid"] == inst["mainEvent"])
    assert main["correlationId"] == "c0a8012e-7d3b-4b8e-a1f2-5e6d7c8b9a01"
    assert state.bearer_tokens == ["dev-bearer"]
    assert strategies.check_secret("ZGV2LXNlY3JldA==", state.strategies[0], "x") is None


def test_every_answer_matches_the_spec_and_integers_are_integers():
    state = seeded()
    inst, strategy = state.instances[0], state.strategies[0]
    held = ev.holds(inst, state.queue)
    nxt = render.next_event(inst, state.events, held, T0)
    plain = render.instance(inst, next_event=nxt)
    nested = render.instance(inst, next_event=nxt, strategy=strategy)
    tasks = [render.event(e, held, T0, instance_body=nested, strategy=strategy) for e in state.events
             if ev.event_state(e, held, T0).status in ev.OPEN]
    assert {t["status"] for t in tasks} == {"PAUSED", "PENDING", "ONHOLD"}
    assert response_errors("ExecutionInstanceController_getTasks", tasks) == []
    assert response_errors("ExecutionInstanceController_findOne", plain) == []
    assert response_errors("ExecutionInstanceController_pause", nested) == []
    paused = next(t for t in tasks if t["status"] == "PAUSED")
    assert paused["instance"]["strategy"]["sid"] == strategy["sid"] and paused["strategy"]["version"] == 1
    assert paused["correlationId"] == "c0a8012e-7d3b-4b8e-a1f2-5e6d7c8b9a01"
    assert paused["taskStatus"]["taskResults"][-1]["correlationId"] == paused["correlationId"]
    for value in (plain["cycle"], plain["executionDay"], paused["attempt"], paused["createdCycle"],
                  paused["execStrategyVersion"], paused["scheduleDelta"], paused["instance"]["strategy"]["version"]):
        assert type(value) is int, value
    assert plain["startDate"].endswith(".000Z")
    main = next(e for e in state.events if e["sid"] == inst["mainEvent"])
    event_body = render.event(main, held, T0)
    assert "instance" not in event_body
    assert response_errors("ExecutionEventController_findOne", render.wrapped_event(event_body)) == []
    assert response_errors("ExecutionEventController_resume", event_body) == []

    now = T0 + 10
    cancelled, evs, on_cancel, count = instances.cancel_instance(inst, state.events, strategy, state.queue, env(now))
    held = ev.holds(cancelled, state.queue)
    answer = render.cancelled(render.instance(cancelled), [render.event(e, held, now) for e in on_cancel], count)
    assert answer["numCanceledEvents"] == 3 and answer["executionInstance"]["cancelReason"] == "HTTP_REQUEST"
    assert response_errors("ExecutionInstanceController_cancel", answer) == []
    cancelled_event = render.event(next(e for e in evs if e["sid"] == main["sid"]), held, now)
    assert cancelled_event["status"] == "CANCELED" and cancelled_event["cancelReason"] == "CANCEL_INSTANCE"
    assert response_errors("ExecutionEventController_cancel", cancelled_event) == []

    counter = itertools.count(500)
    new_inst, cycle, on_create = instances.create_instance(
        {"strategyId": "recurring-payment", "startDate": "2026-02-01T00:00:00Z"}, strategy, env(now, counter=counter))
    held = ev.holds(new_inst, state.queue)
    body = render.created(render.instance(new_inst), render.event(cycle[0], held, now),
                          [render.event(e, held, now) for e in on_create])
    assert body["createdEvents"]["mainEvent"]["status"] == "PENDING"
    assert response_errors("ExecutionInstanceController_create", body) == []
    same, _, n = instances.cancel_tasks(new_inst, cycle + on_create, "c2p-expiration", state.queue, env(now))
    cancel_tasks_answer = render.tasks_cancelled(render.instance(same), n)
    assert response_errors("ExecutionInstanceController_cancelTasks", cancel_tasks_answer) == []
    assert response_errors("QueueController_getStatus", render.queue_status(state.queue)) == []
    assert response_errors("QueueController_pause", render.queue_changed()) == []


def test_sids_are_deterministic_uuids():
    assert render.sid(1, 1) == render.sid(1, 1) != render.sid(1, 2) != render.sid(2, 1)
    assert render.sid(1, 1)[14] == "4"


@pytest.mark.parametrize(("status", "message", "details", "expected"), [
    (400, "Strategy-Secret header is required", None,
     {"statusCode": 400, "message": ["Strategy-Secret header is required"], "error": "Bad Request"}),
    (400, "invalid", ["settings.tasks.0.key should not be empty"],
     {"statusCode": 400, "message": ["settings.tasks.0.key should not be empty"], "error": "Bad Request"}),
    (401, "Unauthorized", None, {"statusCode": 401, "message": "Unauthorized"}),
    (403, "Invalid strategy secret", None,
     {"statusCode": 403, "message": "Invalid strategy secret", "error": "Forbidden"}),
    (404, "Execution event not found", None,
     {"statusCode": 404, "message": "Execution event not found", "error": "Not Found"}),
    (409, "Execution instance is not active", None,
     {"statusCode": 409, "message": "Execution instance is not active", "error": "Conflict"}),
    (500, "boom", None, {"statusCode": 500, "message": "Internal server error"}),
])
def test_error_bodies_are_nestjs_defaults(status, message, details, expected):
    body = render.error_body(status, message, details)
    assert body == expected
    assert response_errors("ExecutionInstanceController_pause", body, str(status)) == []


# -- access rules and handlers over a MemoryStore (what the seam's Context offers, faked) ------------
class FakeContext:
    """The members of the seam's Context the access rules and handlers use."""

    def __init__(self, services, *, path=None, query=None, body=None, secret="ZGV2LXNlY3JldA=="):
        self.services, self.store, self.seed, self.settings = services, services.store, 1, FIXTURES
        self.headers = {} if secret is None else {"Strategy-Secret": secret}
        self.path_params, self.query, self.body, self.loaded = path or {}, query or {}, body, {}

    def now(self) -> float:
        return self.services.now()


@pytest.fixture
def world():
    from mock_server.apis.bolttech import handlers, vendor
    from mock_server.errors import ErrorCase
    from mock_server.store import MemoryStore
    from mock_server.vendor import Namespace, Services

    clock = [T0]
    services = Services(store=Namespace(MemoryStore(), "bolttech"), now=lambda: clock[0], seed=1, fakes=None,
                        settings=FIXTURES)
    handlers.seed(services, FIXTURES)

    def call(op_id: str, **kwargs):
        ctx = FakeContext(services, **kwargs)
        try:
            for rule in vendor.rules(op_id):
                rule(ctx)
            reply = vendor.handlers[op_id](ctx)
            status, body = reply.status, reply.body
        except Rejection as refused:
            status = refused.status or {"invalid": 400, "not_found": 404, "forbidden": 403, "conflict": 409}[
                refused.kind]
            body, _ = handlers.error_style(ErrorCase(refused, status, None, None, 1))
        assert response_errors(op_id, body, str(status)) == [], (op_id, status, body)
        return status, body

    return call, clock


INSTANCE = {"instanceSid": "00c974cd-8696-45db-9631-6cb5393f67c9"}
CYCLE_2 = "8d2f6b1a-4c3e-4e7b-9a5d-2f1e0c9b7a64"
CORRELATION = {"correlationId": "c0a8012e-7d3b-4b8e-a1f2-5e6d7c8b9a01"}


def test_walkthrough_resume_the_paused_charge_and_the_next_cycle_appears(world):
    call, clock = world
    status, tasks = call("ExecutionInstanceController_getTasks", path=INSTANCE)
    assert status == 200 and {t["sid"]: t["status"] for t in tasks}[CYCLE_2] == "PAUSED"
    status, event = call("ExecutionEventController_resume", path=CORRELATION, body={"status": "PAID"})
    assert (status, event["status"], event["sid"]) == (200, "QUEUED", CYCLE_2)
    clock[0] += 4
    _, wrapped = call("ExecutionEventController_findOne", path={"eventSid": CYCLE_2})
    assert wrapped["event"]["status"] == "PROCESSED"
    _, instance = call("ExecutionInstanceController_findOne", path=INSTANCE)
    assert instance["cycle"] == 3 and instance["nextEvent"]["sid"] != CYCLE_2
    assert call("ExecutionEventController_resume", path=CORRELATION)[0] == 409


def test_handler_errors_in_order(world):
    call, _ = world
    assert call("ExecutionInstanceController_findOne", path=INSTANCE, secret=None)[0] == 400
    unknown = {"instanceSid": "11111111-1111-4111-8111-111111111111"}
    assert call("ExecutionInstanceController_findOne", path=unknown, secret="d3Jvbmc=")[1]["message"] == (
        "Execution instance not found")
    assert call("ExecutionInstanceController_findOne", path=INSTANCE, secret="d3Jvbmc=")[0] == 403
    assert call("ExecutionEventController_findOne", path={"eventSid": unknown["instanceSid"]})[0] == 404
    assert call("QueueController_getStatus", secret="d3Jvbmc=")[0] == 403
    status, body = call("ExecutionInstanceController_pause", path=INSTANCE)
    assert status == 200 and body["status"] == "PAUSED" and body["strategy"]["name"] == "recurring-payment"
    status, body = call("ExecutionInstanceController_pause", path=INSTANCE)
    assert (status, body["message"]) == (409, "Execution instance is not active")
    status, body = call("ExecutionInstanceController_cancel", path=INSTANCE)
    assert status == 200 and body["numCanceledEvents"] == 3
    assert call("ExecutionInstanceController_cancel", path=INSTANCE)[0] == 409
    assert call("ExecutionInstanceController_cancelTasks", path=INSTANCE, query={"tasks": "c2p-reminder"})[0] == 409


def test_strategy_create_get_patch_and_conflicts(world):
    call, _ = world
    body = fixture_strategy_body()
    status, error = call("ExecutionStrategyController_create", body=body)
    assert (status, error["message"]) == (409, "Execution strategy name already exists")
    broken = copy.deepcopy(body) | {"name": "other-flow"}
    broken["settings"]["tasks"][0]["key"] = ""
    status, error = call("ExecutionStrategyController_create", body=broken)
    assert status == 400 and "settings.tasks.0.key should not be empty" in error["message"]
    status, created_summary = call("ExecutionStrategyController_create", body=body | {"name": "other-flow",
                                                                                       "secret": "s3cret"})
    assert status == 200 and created_summary["version"] == 1
    sid = {"strategySid": created_summary["sid"]}
    assert call("ExecutionStrategyController_findOne", path=sid)[0] == 403  # dev-secret is not its secret
    secret = strategies.secret_header("s3cret")
    status, patched = call("ExecutionStrategyController_update", path=sid, secret=secret,
                           body={"settings": body["settings"], "description": "v2"})
    assert (status, patched["version"], patched["description"]) == (200, 2, "v2")
    status, error = call("ExecutionStrategyController_update", path=sid, secret=secret,
                         body={"settings": body["settings"], "name": "recurring-payment"})
    assert status == 409
    status, instance = call("ExecutionInstanceController_create", secret=secret,
                            body={"strategyId": "other-flow", "startDate": "2026-02-01T00:00:00.000Z"})
    assert status == 200 and instance["createdEvents"]["mainEvent"]["status"] == "PENDING"
    assert call("ExecutionInstanceController_create", body={"strategyId": "nope", "startDate": "2026-02-01"})[0] == 404


def test_queue_pause_holds_new_events(world):
    call, clock = world
    assert call("QueueController_pause") == (200, {})
    assert call("QueueController_getStatus") == (200, {"status": "paused"})
    _, made = call("ExecutionInstanceController_create",
                   body={"strategyId": "recurring-payment", "startDate": iso(T0 + 10)})
    sid = made["createdEvents"]["mainEvent"]["sid"]
    clock[0] += 600
    assert call("ExecutionEventController_findOne", path={"eventSid": sid})[1]["event"]["status"] == "PENDING"
    assert call("QueueController_resume") == (200, {})
    clock[0] += 7
    assert call("ExecutionEventController_findOne", path={"eventSid": sid})[1]["event"]["status"] == "PAUSED"
