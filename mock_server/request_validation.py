"""Connexion's request validators with OpenAPI's request semantics and structured rejections.

* Connexion's Draft-4 validator demands ``required`` properties even when they are ``readOnly``;
  OpenAPI 3 says those are required in responses only, so a request may (and should) omit them.
* A request body that is not ``required`` may be left out entirely.
* ``int32`` / ``int64`` integers are range-checked.
* Every failure is raised as a ``Rejection`` built from jsonschema's structured error (the
  property, the validator, the message), so the error layer never parses message text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP
from connexion.validators.form_data import FormDataValidator, MultiPartFormDataValidator
from connexion.validators.json import JSONRequestBodyValidator
from connexion.validators.parameter import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from mock_server.errors import Rejection, excerpt

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _required_unless_read_only(validator: Any, required: list, instance: Any, schema: dict) -> Iterator:
    if not validator.is_type(instance, "object"):
        return
    props = schema.get("properties") or {}
    for name in required:
        if name not in instance and not (props.get(name) or {}).get("readOnly"):
            yield ValidationError(f"{name!r} is a required property", validator="required", validator_value=[name])


def _integer_format(validator: Any, fmt: str, instance: Any, schema: dict) -> Iterator:
    """``format`` as Draft 4 checks it, plus the int32/int64 ranges (jsonschema ignores those)."""
    bounds = INT_RANGES.get(fmt)
    if bounds and isinstance(instance, int) and not isinstance(instance, bool):
        if not bounds[0] <= instance <= bounds[1]:
            yield ValidationError(f"{excerpt(instance, 40)} is out of the {fmt} range", validator="format",
                                  validator_value=fmt)
        return
    if validator.format_checker is not None:
        try:
            validator.format_checker.check(instance, fmt)
        except Exception as error:  # noqa: BLE001 - jsonschema's FormatError and friends
            yield ValidationError(f"{excerpt(instance, 60)!r} is not a {fmt!r}", validator="format",
                                  validator_value=fmt, cause=getattr(error, "cause", None))


RequestValidator = extend(Draft4RequestValidator, {"required": _required_unless_read_only,
                                                   "format": _integer_format})
ParameterSchemaValidator = extend(Draft4Validator, {"format": _integer_format})
FORMATS: FormatChecker = Draft4Validator.FORMAT_CHECKER


def rejection_from(error: ValidationError, where: str = "body", name: str | None = None) -> Rejection:
    """A jsonschema error as a rejection naming the offending property."""
    path = [str(p) for p in error.absolute_path]
    prop = name
    if error.validator == "required":
        missing = [n for n in error.validator_value or [] if not isinstance(error.instance, dict)
                   or n not in error.instance]
        prop = ".".join([*path, missing[0]]) if missing else prop
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties") or {})
        extra = [k for k in error.instance if k not in allowed]
        prop = ".".join([*path, extra[0]]) if extra else prop
    elif path:
        prop = ".".join(([name] if name else []) + path)
    message = excerpt(error.message, 300)
    if prop and where != "body":
        message = f"Invalid {where} parameter {prop!r}: {message}"
    elif prop and error.validator not in ("required", "additionalProperties"):
        message = f"{message} - '{prop}'"
    return Rejection("invalid", message, property=prop, code=f"invalid_{where}",
                     details={"in": where, "validator": str(error.validator)})


class JSONBodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self) -> Any:
        return RequestValidator(self._schema, format_checker=FORMATS)

    def _validate(self, body: Any) -> Any:
        if body is None and not self._required:
            return None
        if body is None and not self._nullable:
            raise Rejection("invalid", "Request body must not be empty", code="invalid_body")
        error = next(iter(self._validator.iter_errors(body)), None)
        if error is not None:
            raise rejection_from(error)
        return None


class _StructuredForm:
    @property
    def _validator(self) -> Any:
        return RequestValidator(self._schema, format_checker=FORMATS)

    def _validate(self, body: Any) -> Any:
        if not isinstance(body, dict):
            raise Rejection("invalid", "Form body must be a set of fields", code="invalid_body")
        error = next(iter(self._validator.iter_errors(body)), None)
        if error is not None:
            raise rejection_from(error)
        return None


class FormBodyValidator(_StructuredForm, FormDataValidator):
    pass


class MultiPartBodyValidator(_StructuredForm, MultiPartFormDataValidator):
    pass


class StructuredParameterValidator(ParameterValidator):
    """Connexion's parameter checks (values already coerced by its URI parser), each failure a
    rejection naming the parameter."""

    def validate(self, scope: Any) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        sources = {
            "query": lambda p: request.query_params.get(p["name"]),
            "path": lambda p: request.path_params.get(p["name"].replace("-", "_")),
            "header": lambda p: request.headers.get(p["name"]),
            "cookie": lambda p: request.cookies.get(p["name"]),
        }
        for where, read in sources.items():
            for param in self.parameters.get(where, []):
                self._check(where, param, read(param))

    @staticmethod
    def _check(where: str, param: dict, value: Any) -> None:
        if is_nullable(param) and is_null(value):
            return
        if value is None:
            if param.get("required"):
                raise Rejection("invalid", f"Missing {where} parameter '{param['name']}'", property=param["name"],
                                code=f"missing_{where}", details={"in": where, "validator": "required"})
            return
        schema = param.get("schema", param)
        error = next(iter(ParameterSchemaValidator(schema, format_checker=FORMATS).iter_errors(value)), None)
        if error is not None:
            raise rejection_from(error, where, param["name"])


VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": StructuredParameterValidator,
    "body": MediaTypeDict({"*/*json": JSONBodyValidator, "application/json": JSONBodyValidator,
                           "application/x-www-form-urlencoded": FormBodyValidator,
                           "multipart/form-data": MultiPartBodyValidator}),
}
