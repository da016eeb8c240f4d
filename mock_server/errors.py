"""Every rejection -> a status documented for that operation, and the API's error body.

Handlers and middlewares only raise ``Rejection(kind, ...)``. This module, and nothing else,
decides the status: the first of the kind's preferred statuses the operation documents. A domain
module may shape the body; otherwise the body follows the schema documented for that status, or
the API's documented error schema (e.g. i3D documents ``Error`` only on its 500s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.fakes import Fakes
    from mock_server.spec import Operation

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
}
FALLBACK_STATUS = {"unauthenticated": 401, "forbidden": 403, "not_found": 404, "method_not_allowed": 405,
                   "unsupported_media": 415, "too_large": 413, "conflict": 409, "gone": 410, "unavailable": 503}
_MESSAGE_FIELDS = ("message", "Message", "errorMessage", "error_description", "detail", "title", "description")
_TEXT_TYPES = ("text/plain", "text/html")


class Rejection(Exception):
    """A request the mock refuses. ``status`` forces a specific (documented) status."""

    def __init__(self, kind: str, message: str, *, property: str | None = None, code: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.property, self.code = kind, message, property, code
        self.status, self.headers, self.details = status, dict(headers or {}), details


@dataclass
class ErrorReply:
    status: int
    body: bytes
    media_type: str | None
    headers: dict[str, str] = field(default_factory=dict)
    documented: bool = True


def choose_status(op: Operation | None, rejection: Rejection) -> tuple[int, bool]:
    """(status, documented?) for a rejection of ``op``."""
    if rejection.status is not None:
        return rejection.status, op is None or op.documented(rejection.status)
    preferred = PREFERENCES.get(rejection.kind, (400, 422))
    if op is None:
        return preferred[0] if rejection.kind != "invalid" else 400, True
    for status in preferred:
        if op.documented(status):
            return status, True
    if rejection.kind in ("invalid", "invalid_path", "unsupported_media", "too_large"):
        # Nothing fits exactly: any documented client error other than auth is still the contract.
        others = [s for s in op.client_errors() if s not in (401, 403, 405)]
        if others:
            return others[0], True
    return FALLBACK_STATUS.get(rejection.kind, 400), False


def generic_body(op: Operation | None, status: int, rejection: Rejection, fakes: Fakes,
                 error_schemas: list[Any]) -> tuple[Any, str | None]:
    """An error body shaped by the documented schema for ``status``, else the API's error schema."""
    media = None
    schema = None
    if op is not None:
        schema = op.json_schema(status)
        types = op.content_types(status)
        media = types[0] if types else None
        if media and media.split(";")[0] in _TEXT_TYPES:
            # The message, unless the documented schema fixes the text (e.g. an enum of one).
            text_schema = ((op.response(status) or {}).get("content") or {})[media].get("schema") or {}
            return fakes.conform(rejection.message, text_schema, "error", op.id, status), media
    if schema is None and error_schemas:
        schema = error_schemas[0]
    if schema is None:
        return {"status": status, "message": rejection.message}, media or "application/json"
    body = fakes.generate(schema, "error", op.id if op else "-", status, rejection.kind)
    if isinstance(body, dict):
        # Generated detail lists would be noise: keep them empty where the schema allows it.
        body = {k: ([] if isinstance(v, list) else v) for k, v in body.items()}
        for name in _MESSAGE_FIELDS:
            if name in body and isinstance(body[name], str):
                body[name] = rejection.message
                break
        for name in ("statusCode", "status", "code", "errorCode"):
            if name in body and isinstance(body[name], int) and not isinstance(body[name], bool):
                body[name] = status
        body = fakes.conform(body, schema, "error", status)
    return body, media or "application/json"


def encode(body: Any, media: str | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str) and media and not media.endswith("json"):
        return body.encode()
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
