"""openapi-core response checks, and their memo: the same response always gets the same verdict."""

from __future__ import annotations

import json

import yaml

from mock_server import DEFAULT_SPEC
from mock_server.response_check import ResponseChecker
from mock_server.spec import SpecIndex

DOC = yaml.safe_load(DEFAULT_SPEC.read_text())
INDEX = SpecIndex(DOC)
GET_TASK = INDEX.operations["getApplicationInstanceTask"]
JSON = [(b"content-type", b"application/json")]
TASK = {"id": 1, "name": "Start", "batchId": 1, "categoryId": 1, "entityId": 1001, "currentActionIdx": 0,
        "executeAt": 1, "lastActivityAt": 1, "finishedAt": 0, "resultCode": 1, "resultText": "In progress"}


def test_a_conforming_response_is_valid():
    assert ResponseChecker(DOC).check(GET_TASK, 200, JSON, json.dumps([TASK]).encode()) == ""


def test_a_violation_is_reported_every_time_it_is_sent():
    checker = ResponseChecker(DOC)
    bad = json.dumps([{**TASK, "resultCode": "done"}]).encode()
    first = checker.check(GET_TASK, 200, JSON, bad)
    assert "resultCode" in first or "integer" in first, first
    assert checker.check(GET_TASK, 200, JSON, bad) == first


def test_the_memo_never_answers_for_a_different_response():
    checker = ResponseChecker(DOC, memo_size=2)
    good = json.dumps([TASK]).encode()
    bad = json.dumps([{**TASK, "extra": True}]).encode()
    assert checker.check(GET_TASK, 200, JSON, good) == ""
    assert checker.check(GET_TASK, 200, JSON, bad) != ""
    assert checker.check(GET_TASK, 418, JSON, good) != "", "an undocumented status is never valid"
    for n in range(5):  # evictions keep verdicts right
        assert checker.check(GET_TASK, 200, JSON, json.dumps([{**TASK, "id": n}]).encode()) == ""
    assert checker.check(GET_TASK, 200, JSON, bad) != ""
