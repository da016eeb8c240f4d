"""Believable fakes: moments near the virtual now in the order and unit their names say, whole
numbers where names count things, paging that agrees with the list, forms taken from examples."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from mock_server import paging
from mock_server.fakes import Fakes

ANCHOR = 1_790_000_000.0          # 2026-09-21, the virtual "now" the fakes are anchored on
DAY = 86400

TIMES = {"type": "object", "properties": {
    "createdAt": {"type": "string", "format": "date-time"},
    "updatedAt": {"type": "string", "format": "date-time"},
    "startedAt": {"type": "integer"},
    "finishedAt": {"type": "integer"},
    "TaskBegin": {"type": "string", "example": "2026-04-06 20:51:44"},
    "TaskEnd": {"type": "string", "example": "2026-04-06 22:43:26"},
    "created": {"type": "integer", "format": "int64", "description": "Epoch milliseconds."},
    "updated": {"type": "integer", "format": "int64", "example": 1719827038414},
    "expiresAt": {"type": "string", "format": "date-time"},
    "StartTime": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"},
}}
COUNTS = {"type": "object", "properties": {
    "cycle": {"type": "number", "minimum": 1}, "executionDay": {"type": "number"},
    "attempt": {"type": "number"}, "version": {"type": "number"}, "numTasksOk": {"type": "integer"},
    "currentActionIdx": {"type": "integer"}, "TotalCount": {"type": "integer"}, "ratio": {"type": "number"},
    "amount": {"type": "number"},
}}


def iso(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def fakes() -> Fakes:
    return Fakes({"openapi": "3.0.3", "paths": {}}, seed=1, anchor=ANCHOR)


@pytest.mark.parametrize("key", range(8))
def test_moments_are_recent_and_ordered_as_their_names_say(fakes, key):
    value = fakes.generate(TIMES, "times", key)
    now = ANCHOR - ANCHOR % DAY
    created, updated = iso(value["createdAt"]), iso(value["updatedAt"])
    assert now - 32 * DAY <= created <= updated <= now, value
    assert value["startedAt"] <= value["finishedAt"] <= now, value
    begin = dt.datetime.strptime(value["TaskBegin"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).timestamp()
    end = dt.datetime.strptime(value["TaskEnd"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).timestamp()
    assert begin <= end <= now, "a begin precedes its end, in the form the example shows"
    assert iso(value["expiresAt"]) > now, "an expiry is in the future"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", value["StartTime"])
    assert dt.datetime.fromisoformat(value["StartTime"].replace("Z", "+00:00")).year == 2026, "not year 0889"


@pytest.mark.parametrize("key", range(8))
def test_integer_moments_are_in_the_unit_the_field_uses(fakes, key):
    value = fakes.generate(TIMES, "units", key)
    assert 10**9 < value["startedAt"] < 10**10, "an integer *At is unix seconds"
    for name in ("created", "updated"):
        assert 10**12 < value[name] < 10**13, f"{name} is epoch milliseconds (description / example): {value[name]}"
    assert value["created"] <= value["updated"]


@pytest.mark.parametrize("key", range(8))
def test_numbers_that_count_or_order_are_whole_and_in_sensible_ranges(fakes, key):
    value = fakes.generate(COUNTS, "counts", key)
    for name, (low, high) in {"cycle": (1, 12), "executionDay": (1, 28), "attempt": (1, 5), "version": (1, 5),
                              "numTasksOk": (0, 20), "currentActionIdx": (0, 9)}.items():
        assert isinstance(value[name], int) and low <= value[name] <= high, f"{name}={value[name]!r}"


def test_durations_and_sizes_take_the_form_of_their_example(fakes):
    schema = {"type": "object", "properties": {
        "dockerPullTimeout": {"type": "string", "pattern": r"^\d+\s*(ms|s|m|h|d|seconds|minutes|hours)$",
                              "example": "100 seconds"},
        "maxSize": {"type": "string", "example": "10m"}}}
    for key in range(10):
        value = fakes.generate(schema, "durations", key)
        assert re.fullmatch(r"[1-9]\d{2} seconds", value["dockerPullTimeout"]), value
        assert re.fullmatch(r"[1-9][0-9]m", value["maxSize"]), value


def test_strings_from_a_pattern_are_of_plausible_length(fakes):
    schema = {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"}
    assert all(len(fakes.generate(schema, "pattern", key)) <= 40 for key in range(20))


def test_paging_echoes_the_request_and_agrees_with_the_list(fakes):
    schema = {"type": "object", "properties": {
        "TaskList": {"type": "array", "items": {"type": "object"}}, "TotalCount": {"type": "integer"},
        "PageSize": {"type": "integer"}, "PageNumber": {"type": "integer"}}}
    body = {"TaskList": [{}, {}, {}], "TotalCount": 690, "PageSize": 552, "PageNumber": 77}
    resolver = fakes.resolver
    assert paging.echo(dict(body), schema, resolver, {}, fakes, ("k",)) == {
        "TaskList": [{}, {}, {}], "TotalCount": 3, "PageSize": 3, "PageNumber": 1}
    asked = paging.echo(dict(body), schema, resolver, {"PageSize": "2", "PageNumber": "2"}, fakes, ("k",), total=3)
    assert (asked["PageSize"], asked["PageNumber"], asked["TotalCount"]) == (2, 2, 3)
    assert paging.window({"PageSize": "2", "PageNumber": "2"}, 3) == paging.Page(number=2, size=2, first=2)
    assert paging.window({"offset": "5", "limit": "10"}, 30) == paging.Page(number=1, size=10, first=5)
