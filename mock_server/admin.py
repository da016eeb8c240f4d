"""The admin API under /__admin/, served by Connexion from its own small spec (admin.yaml).

``AdminGuard`` stands in front of it: the Host header must name the mock (DNS rebinding), a
state-changing request must come from the mock's own origin (a hostile web page cannot reset or
import), ``--admin-token`` is required when set, and the body is read once (any framing), within
limits, and must be strict JSON before Connexion parses it.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import ipaddress
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion import request as cx_request
from connexion.exceptions import BadRequestProblem
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from mock_server import inputs, snapshot
from mock_server.asgi import framed_headers, replay, send_whole
from mock_server.errors import excerpt
from mock_server.runtime import Runtime

SPEC = Path(__file__).with_name("admin.yaml")
ADMIN_PREFIX = "/__admin"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def create_app(rt: Runtime) -> AdminGuard:
    def clock() -> dict:
        return rt.clock.snapshot()

    async def body() -> Any:
        return await cx_request.json()

    def get_state(secrets: bool = False) -> dict:
        state = rt.store.export()
        return state if secrets else snapshot.masked(state, rt.vendors)

    handlers = {
        "health": lambda: {"status": "ok", "apis": rt.apis(), "operations": len(rt.spec.operations),
                           "seed": rt.config.seed, "strict": rt.config.strict,
                           "state": str(rt.store) if rt.config.state else None,
                           "workers": rt.config.workers, "pid": os.getpid()},
        "reset": lambda: (rt.reset(), rt.journal.clear(), {"message": "state reset to the seeded fixtures"})[-1],
        "get_state": get_state,
        "get_clock": clock,
        "freeze_clock": lambda: (rt.clock.freeze(), clock())[-1],
        "unfreeze_clock": lambda: (rt.clock.unfreeze(), clock())[-1],
        "get_requests": lambda limit=None, operationId=None: rt.journal.entries(limit, operationId),
    }

    async def put_state() -> dict:
        try:
            rt.import_state(await body())
        except ValueError as exc:
            raise BadRequestProblem(detail=f"Not imported, nothing changed: {exc}") from None
        return {"message": "state imported"}

    async def advance_clock() -> dict:
        try:
            rt.clock.advance((await body())["seconds"])
        except ValueError as exc:
            raise BadRequestProblem(detail=str(exc)) from None
        return clock()

    handlers.update({"put_state": put_state, "advance_clock": advance_clock})
    app = AsyncApp(__name__)
    app.add_api(SPEC, resolver=lambda operation_id: _as_json(handlers[operation_id]), base_path="/__admin")
    return AdminGuard(app, rt)


def _as_json(handler: Callable) -> Callable:
    """A handler whose result is sent as application/json (the operations also document problem
    details, so Connexion needs to be told which media type an answer has)."""
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def answer(*args: Any, **kwargs: Any) -> tuple:
            return await handler(*args, **kwargs), 200, {"Content-Type": "application/json"}
    else:
        @functools.wraps(handler)
        def answer(*args: Any, **kwargs: Any) -> tuple:
            return handler(*args, **kwargs), 200, {"Content-Type": "application/json"}
    return answer


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> tuple:
    body = json.dumps({"type": "about:blank", "title": title, "detail": detail, "status": status}).encode()
    return status, {"content-type": "application/problem+json", **(headers or {})}, body


def _host_name(host: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``::1``, ``Localhost:80`` -> ``localhost``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class AdminGuard:
    """The admin API's protections, in order: Host, token, origin, then the body (see the module doc)."""

    def __init__(self, app: Any, rt: Runtime) -> None:
        self.app, self.rt = app, rt
        bound = rt.config.host.strip("[]").lower()
        self.names = {*LOOPBACK_NAMES, bound}
        # Bound to every interface: any address literal names the mock; a DNS name never does.
        self.any_address = bound in ("0.0.0.0", "::", "")
        paths = (yaml.safe_load(SPEC.read_text()) or {}).get("paths") or {}
        self.methods = {ADMIN_PREFIX + path: {m.upper() for m in item} for path, item in paths.items()}

    def host_allowed(self, host: str | None, server: Any = None) -> bool:
        """Whether a Host header names this mock: a loopback name, the ``--host`` value, or the
        address the connection actually reached (``server``, the socket's local address)."""
        if host is None:   # HTTP/1.0 without Host: no browser sends that
            return True
        name = _host_name(host)
        if name in self.names or name.endswith(".localhost") or (server and name == str(server[0]).lower()):
            return True
        if _is_ip(name):
            return self.any_address or ipaddress.ip_address(name).is_loopback
        return False

    def refusal(self, scope: Scope, headers: Headers) -> tuple | None:
        host = headers.get("host")
        if not self.host_allowed(host, scope.get("server")):
            return _problem(403, "Forbidden", "Host header does not name this mock (DNS rebinding?)")
        token = self.rt.config.admin_token
        if token:
            given = headers.get("x-admin-token") or ""
            scheme, _, value = (headers.get("authorization") or "").partition(" ")
            if scheme.lower() == "bearer":
                given = given or value.strip()
            if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode()):
                return _problem(401, "Unauthorized", "the admin API needs its token (--admin-token)",
                                {"www-authenticate": 'Bearer realm="mock-server admin"'})
        allowed = self.methods.get(scope["path"])
        if allowed and scope["method"] not in allowed and not (scope["method"] == "HEAD" and "GET" in allowed):
            return _problem(405, "Method Not Allowed", f"{excerpt(scope['method'], 20)} is not allowed here",
                            {"allow": ", ".join(sorted(allowed))})
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            own = f"{scope.get('scheme', 'http')}://{host}" if host else None
            if origin is not None and origin.lower() != (own or "").lower():
                return _problem(403, "Forbidden", "cross-origin admin requests are refused")
            if headers.get("sec-fetch-site", "same-origin").lower() not in ("same-origin", "none"):
                return _problem(403, "Forbidden", "cross-site admin requests are refused")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        refused = self.refusal(scope, headers)
        body = b""
        if refused is None:
            try:
                body, too_large = await inputs.read_body(receive, self.rt.config.max_admin_body_bytes)
            except inputs.Disconnected:
                return
            if too_large:
                refused = _problem(413, "Request Entity Too Large",
                                   f"body larger than {self.rt.config.max_admin_body_bytes} bytes")
            else:
                refused = self._vet(headers, body)
        if refused is not None:
            status, out_headers, content = refused
            await send_whole(send, status, [(k.encode(), v.encode()) for k, v in out_headers.items()], content)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        await self.app({**scope, "headers": framed_headers(headers, body)}, replay(body), send)

    def _vet(self, headers: Headers, body: bytes) -> tuple | None:
        """A JSON body must be strict JSON (no NaN, no 1e400, no duplicate keys, bounded depth)."""
        if not body or not inputs.media_type(headers.get("content-type", "")).endswith("json"):
            return None
        try:
            inputs.loads(body.decode("utf-8"), self.rt.config.max_json_depth)
        except UnicodeDecodeError:
            return _problem(400, "Bad Request", "body is not valid UTF-8")
        except ValueError as exc:
            return _problem(400, "Bad Request", f"Malformed JSON body: {excerpt(exc)}")
        return None
