"""Connexion's JSON body validation with OpenAPI's request semantics.

Connexion's Draft-4 validator demands ``required`` properties even when they are ``readOnly``;
OpenAPI 3 says those are required in responses only, so a request may (and should) omit them.
And a request body that is not ``required`` may be left out entirely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP
from connexion.validators.json import JSONRequestBodyValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend


def _required_unless_read_only(validator: Any, required: list, instance: Any, schema: dict) -> Iterator:
    if not validator.is_type(instance, "object"):
        return
    props = schema.get("properties") or {}
    for name in required:
        if name not in instance and not (props.get(name) or {}).get("readOnly"):
            yield ValidationError(f"{name!r} is a required property")


RequestValidator = extend(Draft4RequestValidator, {"required": _required_unless_read_only})


class JSONBodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self) -> Any:
        return RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def _validate(self, body: Any) -> Any:
        if body is None and not self._required:
            return None
        return super()._validate(body)


VALIDATORS = {**VALIDATOR_MAP, "body": {**VALIDATOR_MAP["body"], "application/json": JSONBodyValidator,
                                        "*/*json": JSONBodyValidator}}
