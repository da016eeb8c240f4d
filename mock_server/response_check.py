"""Validate every response the mock sends against the spec: openapi-core's verdict, fast.

openapi-core is the reference, independent of the fake generator on purpose (a bug in
``fakes.conform`` cannot hide here). It is also slow: it finds the operation, deserializes and
unmarshals on every call. So each (operation, status) gets a *plan* compiled once: the response
body schema converted to a JSON Schema that jsonschema-rs validates natively. The conversion is
never more lenient than openapi-core (OpenAPI's ``nullable``, ``writeOnly`` in a response,
``int32``/``int64`` ranges, and openapi-core's own string formats as callbacks); whatever the fast
check accepts, openapi-core accepts too (``tests/test_response_check.py`` checks the two agree).
Anything the fast check refuses, or cannot judge alone (documented headers, non-JSON bodies,
discriminators, OpenAPI 3.1), gets openapi-core's verdict and message. Verdicts are memoized: a
client polling a task receives the same body many times.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import orjson
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import MissingData
from openapi_schema_validator import OAS30ReadValidator
from starlette.datastructures import Headers

from mock_server import draft4
from mock_server.spec import Operation

_HOST = "http://mock.invalid"
_DOC = "urn:mock:document"
NO_BODY = (204, 304)
_FORMATS = OAS30ReadValidator.FORMAT_CHECKER
# openapi-core's own checks of string formats, called back from jsonschema-rs.
_STRING_FORMATS = {name: (lambda value, name=name: _FORMATS.conforms(value, name))
                   for name in _FORMATS.checkers if name not in ("int32", "int64", "float", "double")}


@dataclass
class _Request:
    path: str
    method: str
    host_url: str = _HOST
    parameters: RequestParameters = field(default_factory=RequestParameters)
    content_type: str = "application/json"
    body: bytes | None = None

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@dataclass
class _Response:
    status_code: int
    data: bytes
    content_type: str
    headers: Any


def _without_servers(doc: dict) -> dict:
    """openapi-core finds operations through ``servers``; pin them to one fixed host."""
    out = copy.copy(doc)
    out["servers"] = [{"url": _HOST}]
    out["paths"] = {}
    for path, item in doc.get("paths", {}).items():
        item = {k: v for k, v in item.items() if k != "servers"}
        out["paths"][path] = {m: ({k: v for k, v in op.items() if k != "servers"} if isinstance(op, dict) else op)
                              for m, op in item.items()}
    return out


def _pointer(*parts: str) -> str:
    """A JSON pointer as a URI fragment (RFC 6901 section 6): escaped, then percent-encoded."""
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~-._") for p in parts)


class _Plan:
    """How to judge one documented response quickly: a compiled body validator, or None (always
    ask openapi-core)."""

    def __init__(self, validator: Any, media: tuple[str, ...]) -> None:
        self.validator, self.media = validator, media


class ResponseChecker:
    def __init__(self, doc: dict, memo_size: int = 2048) -> None:
        self.doc = doc
        self.api = OpenAPI.from_dict(_without_servers(doc), config=Config(spec_validator_cls=None))
        self._memo: OrderedDict[tuple, str] = OrderedDict()
        self._memo_size = memo_size
        self._plans: dict[tuple[str, str, int], _Plan | None] = {}
        self._registry: Any = None
        self._fast = str(doc.get("openapi", "")).startswith("3.0")

    def check(self, op: Operation, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> str:
        """'' when the response conforms, else a one-line description of what is wrong."""
        key = (op.method, op.path, status, tuple(raw_headers), hashlib.blake2b(body, digest_size=16).digest())
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = "" if self._fast_accepts(op, status, raw_headers, body) else \
                self.reference(op, status, raw_headers, body)
            self._memo[key] = verdict
            if len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(key)
        return verdict

    # -- the fast path ------------------------------------------------------------------------
    def _fast_accepts(self, op: Operation, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        plan = self._plan(op, status)
        if plan is None:
            return False
        media = b""
        for name, value in raw_headers:
            if name.lower() == b"content-type":
                media = value.split(b";")[0].strip().lower()
        if media.decode("latin-1") not in plan.media or not body:
            return False
        try:
            instance = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return plan.validator.is_valid(instance)

    def _plan(self, op: Operation, status: int) -> _Plan | None:
        key = (op.method, op.path, status)
        if key not in self._plans:
            self._plans[key] = self._compile(op, status) if self._fast else None
        return self._plans[key]

    def _compile(self, op: Operation, status: int) -> _Plan | None:
        code = str(status) if str(status) in op.responses else f"{str(status)[0]}XX"
        response = (op.raw.get("responses") or {}).get(code)
        resolved = op.responses.get(code)
        if response is None or resolved is None or resolved.get("headers"):
            return None   # undocumented status, or documented headers: openapi-core judges
        content = resolved.get("content") or {}
        json_media = tuple(m.split(";")[0].strip().lower() for m in content
                           if m.split(";")[0].strip().lower() == "application/json" or m.endswith("+json"))
        if not json_media or len(json_media) != len(content):
            return None
        media_key = next(m for m in content if m.split(";")[0].strip().lower() in json_media)
        schema = (content[media_key] or {}).get("schema")
        if schema is None or _has_discriminator(schema, self.doc):
            return None
        if "$ref" in response:
            parts = [p.replace("~1", "/").replace("~0", "~") for p in response["$ref"][2:].split("/")]
            target = {"$ref": _DOC + _pointer(*parts, "content", media_key, "schema")}
        else:
            target = {"$ref": _DOC + _pointer("paths", op.path, op.method, "responses", code, "content", media_key,
                                              "schema")}
        validator = jsonschema_rs.Draft4Validator(target, registry=self._document(), validate_formats=True,
                                                  formats=_STRING_FORMATS, ignore_unknown_formats=True)
        return _Plan(validator, json_media)

    def _document(self) -> Any:
        if self._registry is None:
            # The whole document is one Draft 4 resource, so every local $ref resolves inside it.
            resource = {**draft4.convert(self.doc, draft4.RESPONSE), "$schema": "http://json-schema.org/draft-04/schema#"}
            self._registry = jsonschema_rs.Registry([(_DOC, resource)])
        return self._registry

    # -- the reference ------------------------------------------------------------------------
    def reference(self, op: Operation, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> str:
        """openapi-core's verdict: '' or the reason."""
        headers = Headers(raw=raw_headers)
        media = headers.get("content-type", "").split(";")[0].strip()
        path = op.path
        for name in [p["name"] for p in op.parameters if p.get("in") == "path"]:
            path = path.replace("{" + name + "}", "x")
        try:
            self.api.validate_response(_Request(path, op.method), _Response(status, body, media, headers))
        except MissingData:
            if status not in NO_BODY:  # HTTP forbids these a body, whatever the spec documents
                return f"MissingData: {status} response has no body"
        except Exception as exc:  # noqa: BLE001 - openapi-core raises a family of errors; all are verdicts
            causes = [str(getattr(e, "message", e)) for e in getattr(exc, "schema_errors", None) or []]
            cause = exc.__cause__
            detail = "; ".join(causes) or (str(cause) if cause else "") or str(exc)
            return f"{type(exc).__name__}: {detail}"[:1000]
        return ""


def _has_discriminator(schema: Any, doc: dict, seen: set | None = None) -> bool:
    """Whether a schema (through its refs) uses a discriminator, which openapi-core applies and
    plain JSON Schema does not."""
    seen = set() if seen is None else seen
    if isinstance(schema, list):
        return any(_has_discriminator(s, doc, seen) for s in schema)
    if not isinstance(schema, dict):
        return False
    if "discriminator" in schema:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:
            return False
        seen.add(ref)
        node: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return _has_discriminator(node, doc, seen)
    return any(_has_discriminator(v, doc, seen) for k, v in schema.items() if k not in ("example", "examples"))
