"""The one error layer: statuses chosen from what an operation documents, and generic error bodies
that carry the real reason in every field that can hold it (by name and type), whatever the shape."""

from __future__ import annotations

import json

import pytest

from mock_server.errors import ErrorLayer, Rejection, choose_status
from mock_server.fakes import Fakes
from mock_server.spec import SpecIndex


def error_doc(schema: dict, statuses=("400", "404")) -> dict:
    responses = {"200": {"description": "OK"}}
    for status in statuses:
        responses[status] = {"description": "Error", "content": {"application/json": {"schema": schema}}}
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/things/{thingId}": {"get": {"operationId": "getThing", "responses": responses}}}}


def render(schema: dict, rejection: Rejection, statuses=("400", "404")) -> tuple[int, dict]:
    spec = SpecIndex(error_doc(schema, statuses))
    layer = ErrorLayer(spec, Fakes(spec.doc, seed=1), styles={}, seed=1)
    reply = layer.reply(spec.operations["getThing"], "default", rejection)
    body = json.loads(reply.body)
    assert not Fakes(spec.doc, 1).validator.errors(body, schema), f"the body violates its own schema: {body}"
    return reply.status, body


MISSING = Rejection("invalid", "'name' is a required property", property="name", code="invalid_body")

NESTJS = {"type": "object", "required": ["statusCode", "message", "error"],
          "properties": {"statusCode": {"type": "integer"}, "message": {"type": "string"}, "error": {"type": "string"}}}
ALIBABA = {"type": "object", "required": ["RequestId", "HostId", "Code", "Message", "Recommend"],
           "properties": {"RequestId": {"type": "string"}, "HostId": {"type": "string"},
                          "Code": {"type": "string", "pattern": "^[A-Za-z.]+$"}, "Message": {"type": "string"},
                          "Recommend": {"type": "string", "format": "uri"}}}
ENVELOPE = {"type": "object", "required": ["status", "message", "data"],
            "properties": {"status": {"type": "string", "enum": ["SUCCESS", "FAILED"]}, "message": {"type": "string"},
                           "data": {"type": "object", "required": ["validationErrors"], "properties": {
                               "validationErrors": {"type": "array", "items": {"type": "string"}}}}}}
PROBLEM = {"type": "object", "required": ["type", "title", "status", "detail"],
           "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                          "detail": {"type": "string"}}}
FIELD_LIST = {"type": "object", "required": ["errors"],
              "properties": {"errors": {"type": "array", "items": {
                  "type": "object", "required": ["field", "message"],
                  "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}


def test_nestjs_shape_gets_status_reason_phrase_and_the_message():
    status, body = render(NESTJS, MISSING)
    assert body == {"statusCode": 400, "message": "'name' is a required property", "error": "Bad Request"}


def test_alibaba_shape_gets_a_stable_code_and_the_message_and_little_noise():
    status, body = render(ALIBABA, MISSING)
    assert status == 400
    assert body["Message"] == "'name' is a required property"
    assert body["Code"] == "invalid_body" or body["Code"].replace(".", "").isalpha()
    assert all(len(v) < 200 for v in body.values()), body


def test_a_nested_envelope_gets_the_reason_in_its_validation_errors():
    _, body = render(ENVELOPE, MISSING)
    assert body["message"] == "'name' is a required property"
    assert body["data"]["validationErrors"] == ["'name' is a required property"]
    assert body["status"] in ("SUCCESS", "FAILED")


def test_problem_details_shape_gets_title_status_and_detail():
    status, body = render(PROBLEM, Rejection("not_found", "No such thing: 7", property="thingId"))
    assert status == 404
    assert (body["title"], body["status"], body["detail"]) == ("Not Found", 404, "No such thing: 7")


def test_a_list_of_field_errors_names_the_property():
    _, body = render(FIELD_LIST, MISSING)
    assert body["errors"] == [{"field": "name", "message": "'name' is a required property"}]


def test_the_same_rejection_gives_the_same_body():
    assert render(ALIBABA, MISSING) == render(ALIBABA, MISSING)


@pytest.mark.parametrize(("kind", "documented", "expected"), [
    ("invalid", ("400", "422"), 400),
    ("invalid", ("422",), 422),
    ("not_found", ("404",), 404),
    ("conflict", ("400", "409"), 409),
    ("unauthenticated", ("403",), 403),
    ("invalid", ("404",), 404),
])
def test_the_status_is_the_first_preferred_one_the_operation_documents(kind, documented, expected):
    spec = SpecIndex(error_doc(NESTJS, documented))
    status, was_documented = choose_status(spec.operations["getThing"], Rejection(kind, "x"))
    assert (status, was_documented) == (expected, True)


def test_an_undocumented_kind_falls_back_and_says_so():
    spec = SpecIndex(error_doc(NESTJS, ("400",)))
    assert choose_status(spec.operations["getThing"], Rejection("conflict", "x")) == (400, True)
    assert choose_status(spec.operations["getThing"], Rejection("not_found", "x")) == (404, False)
