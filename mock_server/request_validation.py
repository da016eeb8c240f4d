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
from starlette.datastructures import Headers, QueryParams

from mock_server import draft4
from mock_server.draft4 import INT_RANGES
from mock_server.errors import Rejection, excerpt


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


# -- compiled per operation: the hot path ---------------------------------------------------------
_DOC = "urn:mock:request-document"
_DRAFT4 = "http://json-schema.org/draft-04/schema#"
# The string formats the request validator checks, called back from jsonschema-rs.
_STRING_FORMATS = {name: (lambda value, name=name: FORMATS.conforms(value, name)) for name in FORMATS.checkers}


class _Check:
    """One schema, twice: jsonschema-rs says quickly whether a value is valid (never more leniently
    than Connexion's validator), Connexion's validator says why when it is not."""

    def __init__(self, fast: Any, slow: Any) -> None:
        self.fast, self.slow = fast, slow

    def error(self, value: Any) -> ValidationError | None:
        if self.fast is not None and self.fast.is_valid(value):
            return None
        return next(iter(self.slow.iter_errors(value)), None)


class CompiledRequests:
    """Parameter and JSON-body validation compiled once per operation from the document Connexion
    serves, with Connexion's own URI parser for coercion: the same verdicts as its middleware,
    without building validators on every request."""

    def __init__(self, view: dict) -> None:
        import jsonschema_rs
        from connexion.uri_parsing import OpenAPIURIParser
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        self._rs = jsonschema_rs
        self._parser_cls = OpenAPIURIParser
        self.view = view
        converted = {**draft4.convert(view, draft4.REQUEST), "$schema": _DRAFT4}
        self._rs_registry = jsonschema_rs.Registry([(_DOC, converted)])
        self._py_registry = Registry().with_resource(_DOC, Resource(contents=view, specification=DRAFT4))
        self._plans: dict[tuple[str, str], Any] = {}

    def _check(self, pointer: str) -> _Check:
        ref = {"$ref": _DOC + pointer}
        try:
            fast = self._rs.Draft4Validator(ref, registry=self._rs_registry, validate_formats=True,
                                            formats=_STRING_FORMATS, ignore_unknown_formats=True)
        except Exception:  # noqa: BLE001 - a schema jsonschema-rs cannot compile: the slow path judges alone
            fast = None
        return _Check(fast, RequestValidator(ref, registry=self._py_registry, format_checker=FORMATS))

    def plan(self, path: str, method: str) -> Any:
        key = (path, method)
        if key not in self._plans:
            self._plans[key] = self._compile(path, method)
        return self._plans[key]

    def _compile(self, path: str, method: str) -> Any:
        from mock_server.fakes import Resolver

        resolver = Resolver(self.view)
        op = self.view["paths"][path][method]
        item = self.view["paths"][path]
        params: dict[tuple[str, str], tuple[dict, str]] = {}
        for where, source in (("paths", item.get("parameters") or []), ("op", op.get("parameters") or [])):
            for index, param in enumerate(source):
                resolved = resolver.resolve(param)
                if "$ref" in param:
                    pointer = param["$ref"][1:] + "/schema"
                else:
                    base = ["paths", path] + ([method] if where == "op" else []) + ["parameters", str(index)]
                    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in base) + "/schema"
                params[(resolved.get("in"), resolved.get("name"))] = (resolved, _fragment(pointer))
        body = resolver.resolve(op.get("requestBody")) if op.get("requestBody") else None
        json_pointer = None
        if body:
            for media, content in (body.get("content") or {}).items():
                if media.split(";")[0].strip().lower() in ("application/json", "*/*") or media.endswith("json"):
                    if isinstance(content, dict) and "schema" in content:
                        base = (op["requestBody"]["$ref"][2:].split("/") if "$ref" in op["requestBody"]
                                else ["paths", path, method, "requestBody"])
                        base = [p.replace("~1", "/").replace("~0", "~") for p in base]
                        json_pointer = _fragment("/" + "/".join(p.replace("~", "~0").replace("/", "~1")
                                                                for p in [*base, "content", media, "schema"]))
                    break
        nullable = bool(json_pointer) and bool(resolver.resolve(
            ((body.get("content") or {}).get(next(iter(body.get("content") or {}), ""), {}) or {}).get("schema") or {}
        ).get("nullable"))
        forms = body is not None and any(m.split(";")[0].strip().lower() in (
            "application/x-www-form-urlencoded", "multipart/form-data") for m in body.get("content") or {})
        return _Operation(
            parser=self._parser_cls([_for_parser(p, resolver) for p, _ in params.values()],
                                    _inline(body or {}, resolver)),
            params=[(where, p, self._check(pointer) if "schema" in p else None)
                    for (where, _), (p, pointer) in params.items() if where in ("query", "path", "header", "cookie")],
            body=self._check(json_pointer) if json_pointer else None,
            body_required=bool(body and body.get("required")),
            nullable=nullable, forms=forms)


def _inline(node: Any, resolver: Any, depth: int = 0) -> Any:
    """``node`` with its $refs replaced by what they point at (a few levels: enough for coercion)."""
    if depth > 6:
        return node
    if isinstance(node, dict):
        node = resolver.resolve(node) if "$ref" in node else node
        return {k: _inline(v, resolver, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, resolver, depth + 1) for v in node]
    return node


def _for_parser(param: dict, resolver: Any) -> dict:
    """A parameter as Connexion's URI parser reads it: refs inlined, a schema with a ``type``."""
    param = _inline(param, resolver)
    schema = param.get("schema")
    if isinstance(schema, dict) and "type" not in schema:
        param["schema"] = {**schema, "type": "array" if "items" in schema else "string"}
    return param


def _fragment(pointer: str) -> str:
    from urllib.parse import quote

    return "#" + "/".join(quote(p, safe="~-._") for p in pointer.split("/"))


class _Operation:
    """One operation's compiled checks."""

    def __init__(self, parser: Any, params: list, body: _Check | None, body_required: bool, nullable: bool,
                 forms: bool) -> None:
        self.parser, self.params, self.body = parser, params, body
        self.wheres = frozenset(where for where, _, _ in params)
        self.body_required, self.nullable, self.forms = body_required, nullable, forms

    def validate(self, scope: Any, path_params: dict[str, str], body: Any, sent_json: bool = False) -> None:
        """Raise the rejection of the first invalid parameter or body, as Connexion would find it."""
        sources: dict[str, Any] = {}
        wheres = self.wheres   # only what the operation declares parameters in is parsed
        if "query" in wheres:
            args = QueryParams(scope.get("query_string", b""))
            sources["query"] = self.parser.resolve_query({k: args.getlist(k) for k in args}) if args else {}
        if "path" in wheres:
            sources["path"] = self.parser.resolve_path(dict(path_params)) if path_params else {}
        if "header" in wheres:
            sources["header"] = Headers(scope=scope)
        if "cookie" in wheres:
            from starlette.requests import Request

            sources["cookie"] = Request(scope).cookies
        for where, param, check in self.params:
            value = sources[where].get(param["name"] if where != "path" else param["name"].replace("-", "_"))
            if is_nullable(param) and is_null(value):
                continue
            if value is None:
                if param.get("required"):
                    raise Rejection("invalid", f"Missing {where} parameter '{param['name']}'",
                                    property=param["name"], code=f"missing_{where}",
                                    details={"in": where, "validator": "required"})
                continue
            error = check.error(value) if check is not None else None
            if error is not None:
                raise rejection_from(error, where, param["name"])
        if self.body is not None and sent_json and body is None:
            if self.body_required and not self.nullable:   # a JSON null where a body is required
                raise Rejection("invalid", "Request body must not be empty", code="invalid_body")
        elif self.body is not None and body is not None:
            error = self.body.error(body)
            if error is not None:
                raise rejection_from(error)
