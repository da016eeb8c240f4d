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


# -- the fast path agrees with openapi-core -------------------------------------------------------
def _mutations(value, fakes, rng):
    """Bodies near a valid one: a required field dropped, a wrong type, an extra field, a null."""
    out = []
    if isinstance(value, list) and value:
        out += [[*value, "not an object"], value[:-1]]
        value = value[0]
        wrap = lambda v: [v]  # noqa: E731
    else:
        wrap = lambda v: v  # noqa: E731
    if isinstance(value, dict) and value:
        for key in sorted(value)[:6]:
            dropped = {k: v for k, v in value.items() if k != key}
            out += [wrap(dropped), wrap({**value, key: None}), wrap({**value, key: {"nested": [1]}}),
                    wrap({**value, key: "x" * 3}), wrap({**value, key: 2**40}), wrap({**value, key: -1.5})]
        out.append(wrap({**value, "undocumentedField": True}))
    return out


def _agreement(doc, ops, limit=None):
    import random

    from mock_server.fakes import Fakes

    fakes = Fakes(doc, seed=3)
    checker = ResponseChecker(doc)
    compared = fast_used = 0
    for op in list(ops)[:limit]:
        for status in sorted(op.responses):
            if not status.isdigit():
                continue
            schema = op.json_schema(int(status))
            if schema is None:
                continue
            rng = random.Random(f"{op.id}{status}")
            good = fakes.generate(schema, "check", op.id, status)
            for body in [good, *_mutations(good, fakes, rng)]:
                raw = json.dumps(body).encode()
                reference = checker.reference(op, int(status), JSON, raw)
                fast = checker._fast_accepts(op, int(status), JSON, raw)
                fast_used += checker._plan(op, int(status)) is not None
                assert not (fast and reference), f"{op.id} {status}: fast accepted what openapi-core refuses: " \
                                                 f"{reference} for {raw[:300]!r}"
                compared += 1
    return compared, fast_used


def test_the_fast_check_never_accepts_what_openapi_core_refuses_on_the_merged_spec():
    compared, fast_used = _agreement(DOC, INDEX.operations.values())
    assert compared > 500 and fast_used > 300, (compared, fast_used)


def test_the_fast_check_agrees_with_openapi_core_on_i3ds_official_spec():
    from mock_server.merge import load_document

    from .conftest import OFFICIAL_I3D

    official = load_document(OFFICIAL_I3D)
    compared, fast_used = _agreement(official, SpecIndex(official).operations.values(), limit=40)
    assert compared > 1000 and fast_used > 800, (compared, fast_used)


def test_the_fast_check_accepts_valid_bodies_without_asking_openapi_core():
    checker = ResponseChecker(DOC)
    checker.reference = lambda *a: "reference was asked"  # the fast path alone must accept this
    assert checker.check(GET_TASK, 200, JSON, json.dumps([TASK]).encode()) == ""
