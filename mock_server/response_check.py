"""Validate every response the mock sends against the spec, with openapi-core.

Independent of the fake generator on purpose: a bug in ``fakes.conform`` cannot hide here.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import MissingData
from starlette.datastructures import Headers

from mock_server.spec import Operation

_HOST = "http://mock.invalid"


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


class ResponseChecker:
    """Verdicts are memoized: validation is a pure function of (operation, status, headers, body),
    and clients polling a task receive the same body many times."""

    def __init__(self, doc: dict, memo_size: int = 2048) -> None:
        self.api = OpenAPI.from_dict(_without_servers(doc), config=Config(spec_validator_cls=None))
        self._memo: OrderedDict[tuple, str] = OrderedDict()
        self._memo_size = memo_size

    def check(self, op: Operation, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> str:
        """'' when the response conforms, else a one-line description of what is wrong."""
        key = (op.method, op.path, status, tuple(raw_headers), hashlib.blake2b(body, digest_size=16).digest())
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = self._check(op, status, raw_headers, body)
            self._memo[key] = verdict
            if len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(key)
        return verdict

    def _check(self, op: Operation, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> str:
        headers = Headers(raw=raw_headers)
        media = headers.get("content-type", "").split(";")[0].strip()
        path = op.path
        for name in [p["name"] for p in op.parameters if p.get("in") == "path"]:
            path = path.replace("{" + name + "}", "x")
        try:
            self.api.validate_response(_Request(path, op.method), _Response(status, body, media, headers))
        except MissingData:
            if status not in (204, 304):  # HTTP forbids these a body, whatever the spec documents
                return f"MissingData: {status} response has no body"
        except Exception as exc:  # noqa: BLE001 - openapi-core raises a family of errors; all are verdicts
            causes = [str(getattr(e, "message", e)) for e in getattr(exc, "schema_errors", None) or []]
            cause = exc.__cause__
            detail = "; ".join(causes) or (str(cause) if cause else "") or str(exc)
            return f"{type(exc).__name__}: {detail}"[:1000]
        return ""
