"""The one error layer: every rejection -> a status documented for that operation, and the API's body.

Handlers, rules and middlewares only raise ``Rejection(kind, ...)``; Connexion's own exceptions are
classified once, in ``classify``. ``choose_status`` is the only place a status is picked: the
first of the kind's preferred statuses the operation documents. ``ErrorLayer.reply`` renders the
body -- the vendor's error style first, else a body built from the documented error schema with
the real reason in every field that carries one -- and the documented headers, strict mode
included.
"""

from __future__ import annotations

import http
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server import replies
from mock_server.inputs import media_type

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mock_server.fakes import Fakes
    from mock_server.spec import Operation, SpecIndex

log = logging.getLogger("mock_server")

# For each kind of rejection, the statuses that can express it, best first.
PREFERENCES: dict[str, tuple[int, ...]] = {
    "unauthenticated": (401, 403),
    "forbidden": (403, 401),
    "invalid": (400, 422),
    "invalid_path": (400, 422, 404),
    "unsupported_media": (415, 400, 422),
    "too_large": (413, 400, 422),
    "not_found": (404, 410),
    "conflict": (409, 400, 422),
    "gone": (410, 404),
    "method_not_allowed": (405,),
    "unavailable": (503,),
    "server_error": (500,),
}
FALLBACK_STATUS = {"unauthenticated": 401, "forbidden": 403, "not_found": 404, "method_not_allowed": 405,
                   "unsupported_media": 415, "too_large": 413, "conflict": 409, "gone": 410, "unavailable": 503,
                   "server_error": 500}
_TEXT_TYPES = ("text/plain", "text/html")
# Fields of a documented error schema that carry the reason, recognised by name (and type).
MESSAGE_FIELDS = ("message", "Message", "errorMessage", "error_description", "detail", "Detail",
                  "description", "reason")
CODE_FIELDS = ("code", "Code", "errorCode", "error_code", "ErrorCode")
STATUS_FIELDS = ("statusCode", "status", "httpStatus", "status_code")
LIST_FIELDS = ("errors", "validationErrors", "details", "violations", "problems")
PROPERTY_FIELDS = ("property", "field", "path", "parameter", "param", "pointer", "name")
TITLE_FIELDS = ("title", "error")
MAX_EXCERPT = 200


class Rejection(Exception):
    """A request the mock refuses. ``status`` forces a specific (documented) status; ``code`` is a
    stable, machine-readable reason (e.g. a vendor's error code)."""

    def __init__(self, kind: str, message: str, *, property: str | None = None, code: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.property, self.code = kind, message, property, code
        self.status, self.headers, self.details = status, dict(headers or {}), details

    @property
    def stable_code(self) -> str:
        return self.code or self.kind.upper()


@dataclass
class ErrorCase:
    """What a vendor's error style sees: the rejection, the status chosen, where it happened."""

    rejection: Rejection
    status: int
    op: Operation | None
    raw: Any   # the RawRequest (None outside a request)
    seed: int


@dataclass
class ErrorReply:
    status: int
    body: bytes
    media_type: str | None
    headers: dict[str, str] = field(default_factory=dict)
    documented: bool = True


def excerpt(text: Any, limit: int = MAX_EXCERPT) -> str:
    """A short, printable excerpt of client input for an error message (never the whole input)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def classify(exc: BaseException) -> Rejection:
    """Any exception raised while handling a request, as a rejection. The only such place."""
    from connexion import exceptions as cx
    from starlette.formparsers import MultiPartException

    if isinstance(exc, Rejection):
        return exc
    if isinstance(exc, cx.UnsupportedMediaTypeProblem):
        return Rejection("unsupported_media", excerpt(exc.detail))
    if isinstance(exc, cx.ProblemException) and exc.status_code < 500:
        kinds = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media"}
        return Rejection(kinds.get(exc.status_code, "invalid"), excerpt(exc.detail or exc.title or "Bad request"))
    if isinstance(exc, MultiPartException):
        return Rejection("invalid", f"Malformed multipart body: {excerpt(exc)}")
    log.error("unexpected error while handling a request", exc_info=exc)
    return Rejection("server_error", "Internal Server Error", status=500)


def choose_status(op: Operation | None, rejection: Rejection) -> tuple[int, bool]:
    """(status, documented?) for a rejection of ``op``."""
    if rejection.status is not None:
        return rejection.status, op is None or op.documented(rejection.status)
    preferred = PREFERENCES.get(rejection.kind, (400, 422))
    if op is None:
        return preferred[0], True
    for status in preferred:
        if op.documented(status):
            return status, True
    if rejection.kind in ("invalid", "invalid_path", "unsupported_media", "too_large"):
        # Nothing fits exactly: any documented client error other than auth is still the contract.
        others = [s for s in op.client_errors() if s not in (401, 403, 405)]
        if others:
            return others[0], True
    return FALLBACK_STATUS.get(rejection.kind, 400), False


def reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ErrorLayer:
    """Status, body and headers for every rejection of every API."""

    def __init__(self, spec: SpecIndex, fakes: Fakes, styles: Mapping[str, Callable[[ErrorCase], Any]],
                 seed: int) -> None:
        self.spec, self.fakes, self.styles, self.seed = spec, fakes, dict(styles), seed
        self._api_schemas = self._collect_error_schemas()

    def _collect_error_schemas(self) -> dict[str, list[Any]]:
        """Per API, the JSON schemas it documents for errors (used where a status has none)."""
        found: dict[str, list[Any]] = {}
        for op in self.spec.operations.values():
            for status in sorted(op.responses):
                if status.isdigit() and int(status) >= 400:
                    schema = op.json_schema(int(status))
                    if schema is not None and schema not in found.setdefault(op.api, []):
                        found[op.api].append(schema)
        return found

    def reply(self, op: Operation | None, api: str, rejection: Rejection, raw: Any = None,
              extra_headers: Mapping[str, str] | None = None) -> ErrorReply:
        status, documented = choose_status(op, rejection)
        style = self.styles.get(api)
        shaped = style(ErrorCase(rejection, status, op, raw, self.seed)) if style else None
        body, media = shaped if shaped is not None else self.generic_body(op, api, status, rejection)
        headers = {**rejection.headers, **(extra_headers or {})}
        headers.update(replies.documented_headers(self.spec, self.fakes, op, status, headers,
                                                  ("rejection", rejection.kind)))
        return ErrorReply(status, replies.encode(body, media), media, headers, documented)

    def generic_body(self, op: Operation | None, api: str, status: int, rejection: Rejection) -> tuple[Any, str]:
        """A body shaped by the documented schema for ``status`` (else the API's error schema), with
        the reason in every field that carries one; only what remains is faked."""
        media, schema = None, None
        if op is not None:
            schema = op.json_schema(status)
            types = op.content_types(status)
            media = types[0] if types else None
            if media and media_type(media) in _TEXT_TYPES:
                text_schema = ((op.response(status) or {}).get("content") or {})[media].get("schema") or {}
                return self.fakes.conform(rejection.message, text_schema, "error", op.id, status), media
        if schema is None:
            schemas = self._api_schemas.get(api, [])
            schema = schemas[0] if schemas else None
        if schema is None:
            return {"status": status, "message": rejection.message}, media or "application/json"
        key = ("error", op.id if op else "-", status, rejection.kind)
        body = self.fakes.generate(schema, *key)
        body = self._fill(body, schema, status, rejection)
        return self.fakes.conform(body, schema, *key), media or "application/json"

    def _fill(self, body: Any, schema: Any, status: int, rejection: Rejection, depth: int = 0) -> Any:
        """Put the real reason into the fields of ``body`` that carry one (by name and type), in
        nested objects too (e.g. ``{status, data: {validationErrors: [...]}}``)."""
        if not isinstance(body, dict) or depth > 3:
            return body
        resolver = self.spec.resolver
        props = resolver.merged_all_of(schema).get("properties") or {}
        kinds = {name: resolver.resolve(sub) for name, sub in props.items()}

        def typed(name: str, *types: str) -> bool:
            return name in kinds and (kinds[name].get("type") in types or not kinds[name].get("type"))

        message_field = next((n for n in MESSAGE_FIELDS if typed(n, "string")), None)
        for name in TITLE_FIELDS:
            if typed(name, "string"):
                body[name] = reason_phrase(status) if message_field or name == "title" else rejection.message
        if message_field is None and typed("error", "string"):
            message_field = "error"
        if message_field:
            body[message_field] = rejection.message
        elif "message" in kinds and kinds["message"].get("type") == "array":
            body["message"] = [rejection.message]
        for name in CODE_FIELDS:
            if typed(name, "integer", "number"):
                body[name] = status
            elif typed(name, "string"):
                body[name] = rejection.stable_code
        for name in STATUS_FIELDS:
            if typed(name, "integer", "number"):
                body[name] = status
            elif typed(name, "string") and "enum" not in kinds[name]:
                body[name] = str(status)
        for name in PROPERTY_FIELDS:
            if typed(name, "string") and rejection.property and name not in (message_field,):
                body[name] = rejection.property
        for name in LIST_FIELDS:
            if name in kinds and (kinds[name].get("type") == "array" or "items" in kinds[name]):
                items = resolver.resolve(kinds[name].get("items") or {})
                body[name] = [self._detail(items, rejection)]
        for name, sub in kinds.items():
            if isinstance(body.get(name), dict) and name not in LIST_FIELDS:
                body[name] = self._fill(body[name], sub, status, rejection, depth + 1)
        return body

    def _detail(self, schema: dict, rejection: Rejection) -> Any:
        """One entry of an error-detail list: the message, with the property where it fits."""
        if schema.get("type") == "string" or (not schema.get("type") and not schema.get("properties")):
            return rejection.message
        props = self.spec.resolver.merged_all_of(schema).get("properties") or {}
        entry = {}
        for name in props:
            if name in MESSAGE_FIELDS or name in ("msg",):
                entry[name] = rejection.message
            elif name in PROPERTY_FIELDS and rejection.property:
                entry[name] = rejection.property
            elif name in CODE_FIELDS and self.spec.resolver.resolve(props[name]).get("type") == "string":
                entry[name] = rejection.stable_code
        return entry
