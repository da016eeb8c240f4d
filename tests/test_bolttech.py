"""bolttech subscription-service scenarios over a served mock (strict, frozen clock moved by hand):
strategies, instances and their events through their lifecycles, retries, asynchronous steps, the
queue, and the secret rules in the service's order."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from mock_server.apis.bolttech import strategies

from .conftest import CLOCK_START

BEARER = {"Authorization": "Bearer dev-bearer"}
FIXTURE_SECRET = {**BEARER, "Strategy-Secret": "ZGV2LXNlY3JldA=="}   # base64("dev-secret")
FIXTURE_STRATEGY = "6f1c2a8e-3b7d-4f5a-9c2e-1d4b8a7e9f30"
FIXTURE_INSTANCE = "00c974cd-8696-45db-9631-6cb5393f67c9"
CYCLE_2 = "8d2f6b1a-4c3e-4e7b-9a5d-2f1e0c9b7a64"
CORRELATION = "c0a8012e-7d3b-4b8e-a1f2-5e6d7c8b9a01"
UNKNOWN = "11111111-1111-4111-8111-111111111111"
SECRET = "scenario-secret"
OURS = {**BEARER, "Strategy-Secret": base64.b64encode(SECRET.encode()).decode()}
START = "2026-01-01T00:01:00.000Z"   # one minute after the frozen clock's start

# Monthly "collect": check (3 s) -> charge (asynchronous: waits for a resume) -> record; one retry a
# minute after a failure, then the instance is cancelled (no pauseBeforeCancel).
STRATEGY = {
    "name": "scenario-flow", "description": "Scenario strategy", "secret": SECRET,
    "settings": {
        "config": {"timezone": "UTC"},
        "schedule": {"calendars": [{"key": "monthly", "task": "collect",
                                    "scheduleAfter": {"unit": "months", "amount": 1}}]},
        "onCreateTasks": [{"task": "welcome", "delayBy": {"unit": "days", "amount": 1}}],
        "onCancelTasks": [{"task": "farewell"}],
        "services": [{"key": "pay", "baseUrls": [{"environment": "dev", "url": "https://pay.example"}],
                      "methods": [{"key": "check", "url": "/check", "method": "get"},
                                  {"key": "charge", "url": "/charge", "method": "post", "async": True},
                                  {"key": "notify", "url": "/notify", "method": "post"}]}],
        "tasks": [
            {"key": "collect", "initialStep": "check",
             "retryConfig": {"times": 1, "retryAfter": {"unit": "minutes", "amount": 1}},
             "steps": [{"key": "check", "action": "check", "nextStep": "charge"},
                       {"key": "charge", "action": "charge", "nextStep": "record"},
                       {"key": "record", "action": "notify", "final": True}]},
            {"key": "welcome", "initialStep": "send", "steps": [{"key": "send", "action": "notify", "final": True}]},
            {"key": "farewell", "initialStep": "send", "steps": [{"key": "send", "action": "notify", "final": True}]},
        ],
        "actions": [{"key": "check", "service": "pay", "method": "check"},
                    {"key": "charge", "service": "pay", "method": "charge"},
                    {"key": "notify", "service": "pay", "method": "notify"}],
    },
}


@pytest.fixture
def api(serve):
    server = serve("--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    with server.client() as http:
        yield http
        journal = http.get("/__admin/requests", params={"limit": 1000}).json()
    bad = [e for e in journal if e["response"] not in ("valid", "unchecked") or e["status"] >= 500]
    assert not bad, bad


def advance(http, seconds: float) -> None:
    assert http.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def event(http, sid: str, headers=OURS) -> dict:
    return ok(http.get(f"/execution-event/{sid}", headers=headers))["event"]


def new_strategy(http) -> str:
    created = ok(http.post("/execution-strategy", json=STRATEGY, headers=BEARER))
    assert (created["version"], created["name"]) == (1, "scenario-flow")
    return created["sid"]


def new_instance(http, strategy: str, headers=OURS, **attributes) -> dict:
    return ok(http.post("/execution-instance", headers=headers,
                        json={"strategyId": strategy, "startDate": START, "description": "scenario",
                              "attributes": {"policyId": "P-1", **attributes}}))


def test_strategy_instance_events_over_the_clock_new_cycle_pause_resume_cancel(api):
    sid = new_strategy(api)
    assert api.get(f"/execution-strategy/{sid}", headers=FIXTURE_SECRET).status_code == 403, "not its secret"
    details = ok(api.get(f"/execution-strategy/{sid}", headers=OURS))
    assert "secret" not in details and details["settings"] == STRATEGY["settings"]
    patched = ok(api.patch(f"/execution-strategy/{sid}", headers=OURS,
                           json={"settings": STRATEGY["settings"], "description": "v2"}))
    assert (patched["version"], patched["description"]) == (2, "v2")

    made = new_instance(api, "scenario-flow")   # a strategy may be named by its name
    instance, main = made["executionInstance"], made["createdEvents"]["mainEvent"]
    assert (instance["status"], instance["cycle"], instance["executionDay"]) == ("ACTIVE", 1, 1)
    assert instance["nextEvent"] == {"sid": main["sid"], "date": START}
    assert (main["status"], main["main"], main["attempt"], main["createdCycle"], main["execStrategyVersion"]) == (
        "PENDING", True, 1, 1, 2)
    (welcome,) = made["createdEvents"]["onCreateEvents"]
    assert (welcome["task"], welcome["date"]) == ("welcome", "2026-01-02T00:01:00.000Z")
    isid = instance["sid"]

    tasks = ok(api.get(f"/execution-instance/{isid}/get-tasks", headers=OURS))
    assert {t["sid"]: t["status"] for t in tasks} == {main["sid"]: "PENDING", welcome["sid"]: "PENDING"}
    assert all(t["instance"]["strategy"]["sid"] == sid and t["strategy"]["version"] == 2 for t in tasks)

    advance(api, 60)
    assert event(api, main["sid"])["status"] == "QUEUED"
    advance(api, 1)
    running = event(api, main["sid"])
    assert (running["status"], running["taskStatus"]["lastStep"]) == ("EXECUTING", "check")
    advance(api, 6)   # check (3 s), charge (3 s): the charge is asynchronous
    parked = event(api, main["sid"])
    assert (parked["status"], parked["taskStatus"]["lastStep"]) == ("PAUSED", "charge")
    correlation = parked["correlationId"]
    assert parked["taskStatus"]["taskResults"][-1] == {"step": "charge", "success": True,
                                                       "data": {"status": "PENDING"}, "correlationId": correlation}
    advance(api, 3600)
    assert event(api, main["sid"])["status"] == "PAUSED", "an asynchronous step waits for its resume"

    resumed = ok(api.post(f"/execution-event/{correlation}/resume", headers=OURS, json={"status": "PAID"}))
    assert (resumed["sid"], resumed["status"]) == (main["sid"], "QUEUED")
    assert api.post(f"/execution-event/{correlation}/resume", headers=OURS).status_code == 409
    advance(api, 4)
    done = event(api, main["sid"])
    assert done["status"] == "PROCESSED"
    charge = done["taskStatus"]["taskResults"][1]
    assert (charge["data"], charge["afterResumeData"]) == ({"status": "PAID"}, {"status": "PENDING"})
    assert isinstance(done["executionTime"], int) and done["finishedAt"] > done["executedAt"]

    # The processed main event started cycle 2, one month on, on the execution day.
    instance = ok(api.get(f"/execution-instance/{isid}", headers=OURS))
    assert (instance["cycle"], instance["executionDate"]) == (2, "2026-02-01T00:01:00.000Z")
    cycle_2 = instance["nextEvent"]["sid"]
    assert cycle_2 != main["sid"] and instance["nextEvent"]["date"] == "2026-02-01T00:01:00.000Z"
    advance(api, 86400)
    assert event(api, welcome["sid"])["status"] == "PROCESSED"
    tasks = ok(api.get(f"/execution-instance/{isid}/get-tasks", headers=OURS))
    assert [(t["sid"], t["status"], t["createdCycle"]) for t in tasks] == [(cycle_2, "PENDING", 2)]

    advance(api, 31 * 86400 + 67 - (60 + 1 + 6 + 3600 + 4 + 86400))   # to 2026-02-01 00:01:07: cycle 2 parked
    assert event(api, cycle_2)["status"] == "PAUSED"
    paused = ok(api.post(f"/execution-instance/{isid}/pause", headers=OURS))
    assert (paused["status"], paused["strategy"]["sid"]) == ("PAUSED", sid)
    again = api.post(f"/execution-instance/{isid}/pause", headers=OURS)
    assert (again.status_code, again.json()["message"]) == (409, "Execution instance is not active")
    correlation_2 = event(api, cycle_2)["correlationId"]
    assert ok(api.post(f"/execution-event/{correlation_2}/resume", headers=OURS))["status"] == "QUEUED"
    advance(api, 600)
    assert event(api, cycle_2)["status"] == "QUEUED", "a paused instance holds its queued events"

    cancelled = ok(api.post(f"/execution-instance/{isid}/cancel", headers=OURS))
    assert (cancelled["executionInstance"]["status"], cancelled["executionInstance"]["cancelReason"]) == (
        "CANCELED", "HTTP_REQUEST")
    assert cancelled["numCanceledEvents"] == 1
    (farewell,) = cancelled["createdEvents"]["onCancelEvents"]
    assert (farewell["task"], farewell["afterCancellation"]) == ("farewell", True)
    assert api.post(f"/execution-instance/{isid}/cancel", headers=OURS).status_code == 409
    stopped = event(api, cycle_2)
    assert (stopped["status"], stopped["cancelReason"]) == ("CANCELED", "CANCEL_INSTANCE")
    advance(api, 4)
    assert event(api, farewell["sid"])["status"] == "PROCESSED", "on-cancel events run after the cancel"
    assert ok(api.get(f"/execution-instance/{isid}/get-tasks", headers=OURS)) == []


def test_a_failing_step_is_retried_then_fails_and_cancels_the_instance(api):
    sid = new_strategy(api)
    made = new_instance(api, sid, mockFailStep="check")
    isid, main = made["executionInstance"]["sid"], made["createdEvents"]["mainEvent"]["sid"]
    advance(api, 60 + 1 + 3)   # queued 1 s, check fails after its 3 s
    retrying = event(api, main)
    assert (retrying["status"], retrying["attempt"]) == ("PENDING", 2)
    assert retrying["date"] == "2026-01-01T00:02:04.000Z", "retryAfter: one minute after the failure"
    assert retrying["errorMessage"] == "Step check failed (attempt 1)"
    assert retrying["taskStatus"]["taskResults"] == [
        {"step": "check", "success": False, "message": "Mock failure of step check (attempt 1)"}]
    advance(api, 60)
    assert (event(api, main)["status"], event(api, main)["attempt"]) == ("QUEUED", 2)
    advance(api, 1 + 3)
    failed = event(api, main)
    assert (failed["status"], failed["attempt"], failed["errorMessage"]) == (
        "FAILED", 2, "Step check failed (attempt 2)")
    instance = ok(api.get(f"/execution-instance/{isid}", headers=OURS))
    assert (instance["status"], instance["cancelReason"]) == ("CANCELED", "MAX_ATTEMPTS")
    tasks = ok(api.get(f"/execution-instance/{isid}/get-tasks", headers=OURS))
    assert [(t["task"], t["afterCancellation"]) for t in tasks] == [("farewell", True)]
    assert api.post(f"/execution-instance/{isid}/pause", headers=OURS).status_code == 409


def test_out_of_attempts_with_pause_before_cancel_pauses_the_instance(api):
    # The fixture strategy: execute-flow retries twice, a minute apart, then pauses the instance.
    made = new_instance(api, FIXTURE_STRATEGY, headers=FIXTURE_SECRET, mockFailStep="check-policy")
    isid, main = made["executionInstance"]["sid"], made["createdEvents"]["mainEvent"]["sid"]
    advance(api, 60 + 4 + 60 + 4 + 60 + 4)
    failed = event(api, main, FIXTURE_SECRET)
    assert (failed["status"], failed["attempt"]) == ("FAILED", 3)
    instance = ok(api.get(f"/execution-instance/{isid}", headers=FIXTURE_SECRET))
    assert (instance["status"], instance.get("cancelReason")) == ("PAUSED", None)


def test_the_fixture_instance_is_mid_cycle_and_its_paused_charge_resumes_into_cycle_3(api):
    tasks = ok(api.get(f"/execution-instance/{FIXTURE_INSTANCE}/get-tasks", headers=FIXTURE_SECRET))
    assert {t["sid"]: t["status"] for t in tasks} == {
        CYCLE_2: "PAUSED", "4e2a9f7c-5d1b-4c8e-b3a6-9d0f2e1c7b58": "PENDING",
        "9c3d5e7f-1a2b-4c6d-8e9f-0a1b2c3d4e5f": "ONHOLD"}
    charge = next(t for t in tasks if t["sid"] == CYCLE_2)
    # The seed page's shape: the event, its instance (with its strategy) and its strategy.
    assert (charge["instanceSid"], charge["strategySid"], charge["correlationId"]) == (
        FIXTURE_INSTANCE, FIXTURE_STRATEGY, CORRELATION)
    assert (charge["instance"]["sid"], charge["instance"]["cycle"], charge["instance"]["strategy"]["sid"]) == (
        FIXTURE_INSTANCE, 2, FIXTURE_STRATEGY)
    assert charge["strategy"]["secret"].startswith("sha256:") and "dev-secret" not in str(charge)
    for value in (charge["attempt"], charge["createdCycle"], charge["execStrategyVersion"],
                  charge["instance"]["cycle"], charge["instance"]["executionDay"], charge["strategy"]["version"]):
        assert type(value) is int, value
    assert ok(api.post(f"/execution-event/{CORRELATION}/resume", headers=FIXTURE_SECRET,
                       json={"status": "PAID"}))["status"] == "QUEUED"
    advance(api, 4)
    assert event(api, CYCLE_2, FIXTURE_SECRET)["status"] == "PROCESSED"
    assert ok(api.get(f"/execution-instance/{FIXTURE_INSTANCE}", headers=FIXTURE_SECRET))["cycle"] == 3
    cancelled = ok(api.post(f"/execution-instance/{FIXTURE_INSTANCE}/cancel-tasks", headers=FIXTURE_SECRET,
                            params={"tasks": "c2p-expiration,unknown-task"}))
    assert (cancelled["numCanceledEvents"], cancelled["executionInstance"]["status"]) == (1, "ACTIVE")


def test_a_paused_queue_holds_due_events_until_it_is_resumed(api):
    sid = new_strategy(api)
    main = new_instance(api, sid)["createdEvents"]["mainEvent"]["sid"]
    assert ok(api.delete("/queue", headers=OURS)) == {}
    assert ok(api.get("/queue", headers=OURS)) == {"status": "paused"}
    advance(api, 600)
    assert event(api, main)["status"] == "PENDING"
    assert ok(api.post("/queue", headers=OURS)) == {}
    assert ok(api.get("/queue", headers=FIXTURE_SECRET)) == {"status": "active"}, "any strategy's secret"
    advance(api, 1)
    assert event(api, main)["status"] == "EXECUTING"
    assert api.get("/queue", headers={**BEARER, "Strategy-Secret": "d3Jvbmc="}).status_code == 403


@pytest.mark.parametrize(("instance", "secret", "status"), [
    (UNKNOWN, None, 400), (UNKNOWN, "d3Jvbmc=", 404), (UNKNOWN, "ZGV2LXNlY3JldA==", 404),
    (FIXTURE_INSTANCE, None, 400), (FIXTURE_INSTANCE, "d3Jvbmc=", 403), (FIXTURE_INSTANCE, "ZGV2LXNlY3JldA==", 200),
])
def test_secret_rules_run_missing_then_unknown_then_wrong(api, instance, secret, status):
    headers = copy.copy(BEARER) if secret is None else {**BEARER, "Strategy-Secret": secret}
    for path in (f"/execution-instance/{instance}", f"/execution-instance/{instance}/get-tasks"):
        answer = api.get(path, headers=headers)
        assert answer.status_code == status, (path, answer.text)
        if status != 200:
            body = answer.json()
            assert body["statusCode"] == status and body["error"] == {400: "Bad Request", 403: "Forbidden",
                                                                      404: "Not Found"}[status]
            expected = {400: "Strategy-Secret", 403: "Invalid strategy secret", 404: "Execution instance not found"}
            assert expected[status] in str(body["message"]), body


def test_bearer_token_comes_first_and_bad_bodies_are_400_with_the_reason(api):
    for headers in ({}, {"Authorization": "Bearer nope", "Strategy-Secret": "ZGV2LXNlY3JldA=="}):
        answer = api.get(f"/execution-instance/{UNKNOWN}", headers=headers)
        assert (answer.status_code, answer.json()["statusCode"]) == (401, 401), answer.text
    broken = copy.deepcopy(STRATEGY)
    broken["settings"]["tasks"][0]["steps"][0]["action"] = "missing"
    answer = api.post("/execution-strategy", json=broken, headers=BEARER)
    assert answer.status_code == 400
    assert answer.json()["message"] == ["settings.tasks.0.steps.0.action must be the key of one of settings.actions"]
    answer = api.post("/execution-instance", headers=OURS, json={"strategyId": FIXTURE_STRATEGY})
    assert answer.status_code == 400 and "startDate" in str(answer.json()["message"]), answer.text
    assert api.get("/execution-event/not-a-sid", headers=FIXTURE_SECRET).status_code == 400
    assert api.get(f"/execution-event/{UNKNOWN}", headers=FIXTURE_SECRET).json()["message"] == (
        "Execution event not found")


# -- the admin export and import -------------------------------------------------------------------
def exported(http, secrets: bool = False) -> dict:
    return ok(http.get("/__admin/state", params={"secrets": "true"} if secrets else {}))


def test_an_export_masks_every_strategys_secret_digest(api):
    new_strategy(api)
    masked, full = exported(api), exported(api, secrets=True)
    digests = {strategies.secret_digest(plain) for plain in ("dev-secret", SECRET)}
    assert {s["secret"] for s in full["collections"]["bolttech/strategies"].values()} == digests
    text = json.dumps(masked)
    assert not [d for d in digests if d.removeprefix("sha256:") in text], "a digest lets any guess be checked"
    assert not [s for s in ("dev-secret", SECRET, OURS["Strategy-Secret"]) if s in text]
    kept = {sid: {k: v for k, v in s.items() if k != "secret"} for sid, s in
            full["collections"]["bolttech/strategies"].items()}
    assert {sid: {k: v for k, v in s.items() if k != "secret"} for sid, s in
            masked["collections"]["bolttech/strategies"].items()} == kept, "the rest of a strategy is shown"


def test_an_export_imports_back_and_the_bearer_and_strategy_secrets_open_it_as_before(api):
    strategy = new_strategy(api)
    instance = new_instance(api, strategy)["executionInstance"]["sid"]
    snapshot = exported(api, secrets=True)
    dropped = new_instance(api, strategy)["executionInstance"]["sid"]
    assert api.put("/__admin/state", json=snapshot).status_code == 200
    assert exported(api, secrets=True)["collections"] == snapshot["collections"]
    assert ok(api.get(f"/execution-instance/{instance}", headers=OURS))["sid"] == instance
    assert ok(api.get(f"/execution-instance/{FIXTURE_INSTANCE}", headers=FIXTURE_SECRET))["sid"] == FIXTURE_INSTANCE
    assert api.get(f"/execution-instance/{dropped}", headers=OURS).status_code == 404, "what came after is gone"
    assert api.get(f"/execution-instance/{instance}", headers=FIXTURE_SECRET).status_code == 403
    assert new_instance(api, strategy)["executionInstance"]["sid"] == dropped, "the sid sequence travels with the state"


def test_an_import_that_breaks_the_data_model_is_refused_with_400_and_changes_nothing(api):
    strategy = new_strategy(api)
    new_instance(api, strategy)
    good = exported(api, secrets=True)
    events = f"bolttech/events@{FIXTURE_INSTANCE}"
    first_event = next(iter(good["collections"][events]))

    def ours(collections: dict) -> dict:
        return collections["bolttech/strategies"][strategy]

    cases = {
        "a sid sequence that mints a sid in use": (
            lambda c, s: s.update({"bolttech/sids": s["bolttech/sids"] - 1}), "is already used"),
        "events of a missing instance": (
            lambda c, s: c["bolttech/instances"].pop(FIXTURE_INSTANCE), f"no bolttech/instances/{FIXTURE_INSTANCE}"),
        "a strategy whose settings a create refuses": (
            lambda c, s: ours(c)["settings"].update(tasks="all of them"), f"strategies/{strategy}: settings.tasks"),
        "a strategy secret kept in plain text": (
            lambda c, s: ours(c).update(secret=SECRET), "at secret"),
        "an event no index files": (
            lambda c, s: c["bolttech/event-index"].pop(first_event), "event-index"),
        "an instance in a state the service has not": (
            lambda c, s: c["bolttech/instances"][FIXTURE_INSTANCE].update(status="DONE"), "at status"),
        "an event filed under another instance": (
            lambda c, s: c[events][first_event].update(instanceSid=UNKNOWN), "its fields file it under"),
    }
    for case, (change, why) in cases.items():
        snapshot = copy.deepcopy(good)
        change(snapshot["collections"], snapshot["sequences"])
        answer = api.put("/__admin/state", json=snapshot)
        assert answer.status_code == 400, f"{case}: {answer.text}"
        detail = answer.json()["detail"]
        assert "nothing changed" in detail and why in detail, f"{case}: {detail}"
    after = exported(api, secrets=True)
    assert (after["collections"], after["sequences"]) == (good["collections"], good["sequences"])
    assert new_instance(api, strategy)["executionInstance"]["sid"], "the served state still works"
