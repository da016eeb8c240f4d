"""The OpenAPI -> Draft 4 conversion in front of the Python validators is never more lenient."""

import jsonschema_rs
import pytest

from mock_server import draft4


@pytest.mark.parametrize("direction", [draft4.REQUEST, draft4.RESPONSE])
def test_int32_range_holds_even_beside_exclusive_bounds(direction):
    schema = {"type": "integer", "format": "int32", "minimum": 0, "exclusiveMinimum": True}
    check = jsonschema_rs.Draft4Validator(draft4.convert(schema, direction))
    assert check.is_valid(5) and not check.is_valid(0), "the schema's own exclusive bound stays"
    assert not check.is_valid(2**31), "and the int32 range still applies"


def test_nullable_and_the_direction_rules():
    schema = {"type": "object", "required": ["id", "secret", "name"],
              "properties": {"id": {"type": "integer", "readOnly": True},
                             "secret": {"type": "string", "writeOnly": True},
                             "name": {"type": "string", "nullable": True}}}
    request = jsonschema_rs.Draft4Validator(draft4.convert(schema, draft4.REQUEST))
    response = jsonschema_rs.Draft4Validator(draft4.convert(schema, draft4.RESPONSE))
    assert request.is_valid({"secret": "s", "name": None}), "readOnly id not required in a request"
    assert response.is_valid({"id": 1, "name": None}), "writeOnly secret not required in a response"
    assert not response.is_valid({"id": 1, "name": "x", "secret": "s"}), "nor allowed there"
