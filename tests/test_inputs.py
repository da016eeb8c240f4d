"""The small pieces behind the hostile-input suite, one by one: strict JSON, media types, the
finite clock, the byte-bounded journal, snapshot checks and masking, the admin Host check."""

from __future__ import annotations

import math
import re

import pytest

from mock_server import inputs, snapshot
from mock_server.admin import AdminGuard
from mock_server.clock import MAX_TIME, VirtualClock
from mock_server.runtime import Journal, ServeConfig
from mock_server.vendor import Numbering, Vendor


@pytest.mark.parametrize(("text", "why"), [
    ('{"a": NaN}', "NaN"), ('[Infinity]', "Infinity"), ("[-Infinity]", "-Infinity"), ("[1e400]", "out of range"),
    ("[" + "9" * 309 + "]", "out of range"), ('{"a": 1, "a": 2}', "duplicate key"),
    ("[" * 65 + "]" * 65, "deeper than 64"),
])
def test_strict_json_refuses_what_python_json_accepts(text, why):
    with pytest.raises(ValueError, match=why):
        inputs.loads(text)


def test_strict_json_keeps_every_ordinary_value():
    value = inputs.loads('{"a": [1, -2.5, 1e308, "x", true, null, {"b": {}}], "n": ' + "9" * 308 + "}")
    assert value["a"][:3] == [1, -2.5, 1e308] and value["n"] == int("9" * 308)
    assert all(math.isfinite(v) for v in value["a"][:3])


def test_media_types_compare_case_insensitively_without_parameters():
    assert inputs.media_type("Application/JSON; Charset=UTF-8") == "application/json"
    assert inputs.media_type("") == ""


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, MAX_TIME + 1, 10**400, "3", True])
def test_the_clock_refuses_advances_that_are_not_finite_forward_moves(bad):
    clock = VirtualClock(start=0, frozen=True)
    with pytest.raises(ValueError):
        clock.advance(bad)
    assert clock.now() == 0


@pytest.mark.parametrize("bad", [{"now": math.nan}, {"now": "abc"}, {"now": 1, "scale": 0},
                                 {"now": 1, "scale": math.inf}, {"now": 1, "frozen": "yes"}, {"now": 10**400}])
def test_the_clock_refuses_to_restore_an_invalid_snapshot_and_keeps_its_time(bad):
    clock = VirtualClock(start=5, frozen=True)
    with pytest.raises(ValueError):
        clock.restore(bad)
    assert clock.snapshot() == {"now": 5.0, "frozen": True, "scale": 1.0}


def test_a_running_clock_stops_at_the_end_of_representable_time():
    wall = [0.0]
    clock = VirtualClock(start=MAX_TIME - 10, scale=1000, wall=lambda: wall[0])
    wall[0] = 100.0
    assert clock.now() == MAX_TIME


def test_the_journal_keeps_its_byte_budget_and_cuts_long_strings():
    journal = Journal(size=1000, budget=20_000, field_chars=100)
    for n in range(500):
        journal.add({"path": "/x" * 5000, "n": n})
    entries = journal.entries()
    assert journal.bytes <= 20_000
    assert entries[-1]["n"] == 499 and entries[0]["n"] > 0, "the oldest are dropped, the newest kept"
    assert all(len(e["path"]) < 150 and e["path"].endswith("more characters]") for e in entries)


RECORD = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
JOBS = Vendor("jobs", records={"runs@*": RECORD}, sequences={"run": "runs@*"}, secrets={"keys": ["$key"],
                                                                                         "users": ["*password*"]})


def test_a_snapshot_fitting_the_declared_model_passes():
    snapshot.check({"collections": {"jobs/runs@a": {"3": {"id": 3}}}, "sequences": {"jobs/run": 3}}, {"jobs": JOBS})


@pytest.mark.parametrize(("state", "why"), [
    ({"collections": {"jobs/runs@a": {"3": {"id": "x"}}}, "sequences": {"jobs/run": 3}}, "data model"),
    ({"collections": {"jobs/runs@a": {"3": "x"}}, "sequences": {}}, "must be an object"),
    ({"collections": {"jobs/runs@a": {"7": {"id": 7}}}, "sequences": {"jobs/run": 2}}, "overwrite"),
    ({"collections": {}, "sequences": {}, "meta": {"clock": {"now": math.inf}}}, "clock"),
])
def test_a_snapshot_the_model_refuses_says_why(state, why):
    with pytest.raises(ValueError, match=why):
        snapshot.check(state, {"jobs": JOBS})


def test_masking_hides_declared_secrets_and_nothing_else():
    state = {"collections": {"jobs/keys": {"k-123": {"team": "a"}},
                             "jobs/users": {"u": {"name": "ann", "db_password": "pw"}}}, "sequences": {}}
    shown = snapshot.masked(state, {"jobs": JOBS})["collections"]
    assert "k-123" not in str(shown) and "pw" not in str(shown)
    assert list(shown["jobs/keys"].values()) == [{"team": "a"}] and shown["jobs/users"]["u"]["name"] == "ann"
    assert state["collections"]["jobs/keys"] == {"k-123": {"team": "a"}}, "the export itself is untouched"


def _minted(seed: int, n: int) -> str:
    return f"job-{seed}-{n}"


FILED = Vendor("jobs", keys={"runs@{team}": "{id}", "steps": "{run}/{name}"},
               references={"runs@{team}": {"stepNames": "steps", "parent": "runs@{team}"}, "steps": {"$key": "index"}},
               sequences={"job": Numbering(["runs@*", "steps"], at="jobId", minted=_minted),
                          "part": Numbering("runs@*", at="parts.number")},
               secrets={"runs@*": ["auth.*password*", "hooks.headers.*"]})


def _filed(**changes) -> dict:
    collections = {"jobs/runs@a": {"3": {"id": 3, "team": "a", "stepNames": ["3/build"], "parent": None,
                                         "jobId": "job-0-1", "parts": [{"number": "12"}, {"number": 4}]}},
                   "jobs/steps": {"3/build": {"run": 3, "name": "build", "jobId": "job-0-2"}},
                   "jobs/index": {"3/build": {}}}
    return {"collections": {**collections, **changes}, "sequences": {"jobs/job": 2, "jobs/part": 12}}


def test_records_filed_where_their_fields_say_naming_existing_records_pass():
    snapshot.check(_filed(), {"jobs": FILED})


@pytest.mark.parametrize(("changes", "why"), [
    ({"jobs/runs@b": {"3": {"id": 3, "team": "a", "jobId": "x"}}}, "its fields file it under 'runs@{team}'"),
    ({"jobs/runs@a": {"4": {"id": 3, "team": "a", "jobId": "x"}}}, "its key must be its '{id}' ('3')"),
    ({"jobs/steps": {"build": {"run": 3, "name": "build", "jobId": "x"}}}, "its key must be its '{run}/{name}'"),
    ({"jobs/runs@a": {"3": {"id": 3, "team": "a", "stepNames": ["3/test"], "jobId": "x"}}},
     "no jobs/steps/3/test (its stepNames)"),
    ({"jobs/runs@a": {"3": {"id": 3, "team": "a", "parent": 9, "jobId": "x"}}}, "no jobs/runs@a/9 (its parent)"),
    ({"jobs/index": {}}, "no jobs/index/3/build (its $key)"),
])
def test_a_record_filed_elsewhere_or_naming_a_missing_record_is_refused(changes, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        snapshot.check(_filed(**changes), {"jobs": FILED})


def test_a_sequence_must_be_past_the_ids_in_a_field_and_the_ids_it_mints():
    for sequences, why in (({"jobs/job": 2, "jobs/part": 11}, "below the id 12 already used in jobs/runs@"),
                           ({"jobs/job": 1, "jobs/part": 12}, r"id number 2 \(job-0-2\) is already used"),
                           ({"jobs/job": 0, "jobs/part": 12}, r"id number 1 \(job-0-1\) is already used")):
        with pytest.raises(ValueError, match=why):
            snapshot.check({**_filed(), "sequences": sequences}, {"jobs": FILED})


def test_minted_ids_are_made_from_the_servers_seed():
    """Under another seed the same sequence mints other ids: nothing in use is overwritten."""
    snapshot.check({**_filed(), "sequences": {"jobs/job": 0, "jobs/part": 12}}, {"jobs": FILED}, seed=7)


def test_masking_follows_field_paths_through_lists_in_any_case():
    state = {"collections": {"jobs/runs@a": {"3": {
        "id": 3, "auth": {"DB_Password": "pw-1", "user": "ann"},
        "hooks": [{"url": "https://h.example", "headers": {"Authorization": "Bearer tk-2", "X-Key": "k-3"}},
                  {"url": "https://g.example"}]}}}, "sequences": {}}
    shown = snapshot.masked(state, {"jobs": FILED})["collections"]["jobs/runs@a"]["3"]
    assert not {"pw-1", "tk-2", "k-3"} & set(str(shown).split("'")), shown
    assert shown["auth"]["user"] == "ann" and [h["url"] for h in shown["hooks"]] == ["https://h.example",
                                                                                    "https://g.example"]
    assert set(shown["hooks"][0]["headers"]) == {"Authorization", "X-Key"}, "header names stay, values go"


class _Runtime:
    def __init__(self, host: str) -> None:
        self.config = ServeConfig(host=host)


@pytest.mark.parametrize(("bound", "host", "allowed"), [
    ("127.0.0.1", "127.0.0.1:8000", True), ("127.0.0.1", "localhost:8000", True), ("127.0.0.1", "[::1]:80", True),
    ("127.0.0.1", "app.localhost", True), ("127.0.0.1", "evil.example", False),
    ("127.0.0.1", "127.0.0.1.evil.example", False), ("127.0.0.1", "10.0.0.5", False),
    ("0.0.0.0", "10.0.0.5:8000", True), ("0.0.0.0", "evil.example", False), ("mock.internal", "mock.internal", True),
])
def test_the_admin_host_check_admits_only_names_of_the_mock(bound, host, allowed):
    assert AdminGuard(None, _Runtime(bound)).host_allowed(host) is allowed
