"""The app factory and the request pipeline, readable top to bottom.

One request flows:
  MockApp          admin API aside; journal; buffer the response; validate it (openapi-core)
  ErrorMapping     any rejection below -> a documented status + the API's error body (errors.py)
  SwaggerUI        /ui and /openapi.json
  RouteGuard       wire rewrite (domain), 404 unknown path, 405 + Allow, path params, body limits
  Routing          Connexion
  Authenticate     each operation's security requirements (auth.py, domain authenticator)
  RequestValidation  Connexion: parameters and body against the spec
  dispatch         the domain handler for the operationId, else the generic engine (resources.py)
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from connexion import AsyncApp
from connexion import context as cx_context
from connexion import exceptions as cx_exceptions
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import auth, request_validation, response_check
from mock_server.domain import Call
from mock_server.errors import Rejection
from mock_server.fakes import Resolver
from mock_server.runtime import Runtime, ServeConfig
from mock_server.spec import Operation, as_openapi_30, template_params, undeclared_path_param

log = logging.getLogger("mock_server")
ADMIN_PREFIX = "/__admin"
# Where Connexion's validation messages name the offending property.
_PROPERTY = re.compile(r" - '([^']+)'$|^'([^']+)' is a required property|\('([^']+)' was unexpected\)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class RequestState:
    """What the pipeline learns about one request, shared by every layer through the scope."""

    api: str = "default"
    operation: Operation | None = None
    path_params: dict[str, Any] = field(default_factory=dict)
    principal: str = auth.ANONYMOUS
    credentials: list = field(default_factory=list)
    body: bytes = b""
    rejection: Rejection | None = None
    rejection_documented: bool = True


def _state(scope: Scope) -> RequestState:
    return scope.setdefault("mock", RequestState())


# -- ErrorMapping ---------------------------------------------------------------------------------
def as_rejection(exc: Exception) -> Rejection:
    if isinstance(exc, Rejection):
        return exc
    if isinstance(exc, cx_exceptions.UnsupportedMediaTypeProblem):
        return Rejection("unsupported_media", str(exc.detail))
    if isinstance(exc, cx_exceptions.ProblemException) and exc.status_code < 500:
        kinds = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media"}
        detail = str(exc.detail or exc.title or "Bad request")
        found = _PROPERTY.search(detail)
        prop = next((g for g in found.groups() if g), None) if found else None
        return Rejection(kinds.get(exc.status_code, "invalid"), detail, property=prop)
    if isinstance(exc, cx_exceptions.Forbidden):
        return Rejection("forbidden", "Forbidden")
    if isinstance(exc, MultiPartException):
        return Rejection("invalid", f"Malformed multipart body: {exc}")
    log.exception("unexpected error while handling a request")
    return Rejection("server_error", "Internal Server Error", status=500)


class ErrorMapping:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - this layer exists to turn any failure into a reply
            if started:
                raise
            state = _state(scope)
            state.rejection = as_rejection(exc)
            reply = self.rt.render_rejection(state.operation, state.api, state.rejection)
            state.rejection_documented = reply.documented
            headers = {**reply.headers, **({"content-type": reply.media_type} if reply.media_type else {})}
            await Response(reply.body, status_code=reply.status, headers=headers)(scope, receive, send)


# -- RouteGuard -----------------------------------------------------------------------------------
def _coerce_path_params(rt: Runtime, op: Operation, raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    declared = {p["name"]: p for p in op.parameters if p.get("in") == "path"}
    for name, value in raw.items():
        schema = rt.spec.resolver.resolve(declared.get(name, {}).get("schema", {}))
        typed: Any = value
        try:
            if schema.get("type") == "integer":
                typed = int(value)
            elif schema.get("type") == "number":
                typed = float(value)
            elif schema.get("type") == "boolean":
                typed = {"true": True, "false": False}[value.lower()]
        except (ValueError, KeyError):
            raise Rejection("invalid_path", f"Invalid {name}: {value!r}", property=name) from None
        problems = rt.fakes.validator.errors(typed, schema)
        if problems:
            raise Rejection("invalid_path", f"Invalid {name}: {value!r}", property=name)
        out[name] = typed
    return out


def _json_depth(body: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class RouteGuard:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = _state(scope)
        for module in self.rt.domains.values():
            if module.rewrite is not None:
                module.rewrite(scope)
        path, method = scope["path"], scope["method"].lower()
        match = None if _CONTROL.search(path) else self.rt.spec.match(path)
        if match is None:
            state.api = self.rt.spec.api_for_path(path)
            raise Rejection("not_found", f"No such resource: {path}")
        ops, raw_params = match
        op = ops.get(method)
        if op is None:
            state.api = next(iter(ops.values())).api
            allow = ", ".join(sorted(m.upper() for m in ops))
            raise Rejection("method_not_allowed", f"Method {method.upper()} not allowed; allowed: {allow}",
                            headers={"Allow": allow})
        state.operation, state.api = op, op.api
        state.path_params = _coerce_path_params(self.rt, op, raw_params)
        receive = await self._bounded_body(scope, receive)
        _vet_content(scope, op, state.body)
        await self.app(scope, receive, send)

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read the body once, refuse it when too large or too deeply nested, then replay it."""
        limit = self.rt.config.max_body_bytes
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Rejection("too_large", f"Request body larger than {limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        _state(scope).body = body  # later layers may consume the replay; the handler reads it here
        media = Headers(scope=scope).get("content-type", "")
        if "json" in media and body.count(b"[") + body.count(b"{") > self.rt.config.max_json_depth \
                and _json_depth(body) > self.rt.config.max_json_depth:
            raise Rejection("invalid", f"JSON nested deeper than {self.rt.config.max_json_depth} levels")
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def _media_matches(media: str, declared: list[str]) -> bool:
    for pattern in declared:
        pattern = pattern.split(";")[0].strip().lower()
        if pattern in ("*/*", media) or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
        if pattern == "*/*json" and media.endswith("json"):
            return True
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN and Infinity; JSON does not


def _vet_content(scope: Scope, op: Operation, body: bytes) -> None:
    """Refuse a body Connexion could not parse safely; drop one the operation does not take."""
    headers = Headers(scope=scope)
    raw_type = headers.get("content-type", "")
    media = raw_type.split(";")[0].strip().lower()
    if op.request_body is None:
        if body or raw_type:  # the operation takes no body: whatever was sent is ignored
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-type",)]
            _state(scope).body = b""
        return
    if not body and not raw_type:
        return
    declared = list((op.request_body.get("content") or {}).keys())
    if not _media_matches(media, declared):
        raise Rejection("unsupported_media", f"Unsupported Content-Type {raw_type or '(none)'}; "
                        f"expected {', '.join(declared)}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection("invalid", "Request body is not valid UTF-8") from None
    if media.endswith("json") and text.strip():
        try:
            json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise Rejection("invalid", f"Malformed JSON body: {exc}") from None
    if media.startswith("multipart/") and "boundary=" not in raw_type:
        raise Rejection("invalid", "multipart body without a boundary")


# -- Authenticate ---------------------------------------------------------------------------------
class Authenticate:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = _state(scope)
        op = state.operation
        if scope["type"] == "http" and op is not None:
            headers = Headers(scope=scope)
            request = Request(scope)
            schemes = {name: self.rt.spec.security_scheme(name) for req in op.security for name in req}
            state.credentials = auth.credentials(op.security, schemes, headers, request.query_params,
                                                 request.cookies)
            module = self.rt.domains.get(op.api)
            if module is not None and module.authenticate is not None:
                state.principal = module.authenticate(state.credentials, op, self.rt)
            elif state.credentials:
                state.principal = "default"
        await self.app(scope, receive, send)


# -- dispatch -------------------------------------------------------------------------------------
async def _request_body(request: Any, raw: bytes) -> Any:
    if not raw:
        return None
    media = request.headers.get("content-type", "")
    if "json" in media:
        return json.loads(raw)
    if "x-www-form-urlencoded" in media:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return raw


def make_dispatch(rt: Runtime):
    async def dispatch(*_args: Any, **_kwargs: Any) -> Response:
        request = cx_context.request
        state = _state(request.scope)
        op = state.operation
        call = Call(op=op, path_params=state.path_params, query=request.query_params,
                    headers=request.headers, body=await _request_body(request, state.body), principal=state.principal,
                    credentials=state.credentials, rt=rt)
        with rt.store.transaction():
            reply = rt.handler_for(op)(call)
        status, headers, content = rt.encode_reply(op, reply)
        return Response(content, status_code=status, headers=headers)

    return dispatch


# -- MockApp --------------------------------------------------------------------------------------
class MockApp:
    """The ASGI app ``mock-server serve`` runs."""

    def __init__(self, rt: Runtime) -> None:
        from mock_server import admin

        self.rt = rt
        self.checker = response_check.ResponseChecker(rt.doc)
        self.vendor = self._vendor_app()
        self.admin = admin.create_app(rt)

    def _vendor_app(self) -> AsyncApp:
        rt = self.rt

        def bind(cls):
            return lambda app: cls(app, rt)

        app = AsyncApp(__name__, middlewares=[
            ServerErrorMiddleware, bind(ErrorMapping), SwaggerUIMiddleware, bind(RouteGuard),
            RoutingMiddleware, bind(Authenticate), RequestValidationMiddleware,
            LifespanMiddleware, ContextMiddleware,
        ])
        dispatch = make_dispatch(rt)
        app.add_api(_connexion_view(rt.doc), resolver=lambda _op: dispatch, strict_validation=False,
                    validate_responses=False, validator_map=request_validation.VALIDATORS)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.vendor(scope, receive, send)
        path = scope["path"]
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            if self.rt.config.admin_enabled:
                return await self.admin(scope, receive, send)
            return await Response(b'{"message":"admin API disabled"}', 404,
                                  media_type="application/json")(scope, receive, send)
        started = time.perf_counter()
        state = _state(scope)
        status, headers, body = await _capture(self.vendor, scope, receive)
        verdict = "unchecked"
        if state.operation is not None and not state.rejection_documented:
            verdict = f"undocumented status: the spec documents no status for this {state.rejection.kind} rejection"
            log.warning("%s %s -> %s: %s", scope["method"], path, status, verdict)
        elif state.operation is not None:
            problems = self.checker.check(state.operation, status, headers, body)
            verdict = "valid" if not problems else "invalid: " + problems
            if problems:
                log.error("response violates the spec: %s %s -> %s: %s", scope["method"], path, status, problems)
                if self.rt.config.strict:
                    reply = self.rt.render_rejection(state.operation, state.api, Rejection(
                        "server_error", "The mock produced a response that violates the spec", status=500))
                    status, body = reply.status, reply.body
                    headers = [(b"content-type", (reply.media_type or "application/json").encode()),
                               (b"x-mock-violation", problems[:200].encode("latin-1", "replace"))]
        self.rt.journal.add({
            "time": self.rt.clock.now(), "method": scope["method"], "path": path,
            "query": scope.get("query_string", b"").decode("latin-1"),
            "operationId": state.operation.id if state.operation else None, "api": state.api,
            "status": status,
            "request": f"rejected: {state.rejection.message}" if state.rejection else "valid",
            "response": verdict, "ms": round((time.perf_counter() - started) * 1000, 2),
        })
        await _replay(send, status, headers, body)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list, bytes]:
    start: dict = {}
    chunks: list[bytes] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return start.get("status", 500), list(start.get("headers", [])), b"".join(chunks)


async def _replay(send: Send, status: int, headers: list, body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _connexion_view(doc: dict) -> dict:
    """The document Connexion serves: OpenAPI 3.0 (a 3.1 document is translated), no security
    (Authenticate does it), and each operation's path parameters exactly its template's
    (published specs misname some)."""
    doc = as_openapi_30(doc)
    view = {**doc, "paths": {}}
    resolver = Resolver(doc)
    for path, item in doc.get("paths", {}).items():
        names = template_params(path)
        view["paths"][path] = {}
        for method, op in item.items():
            if method == "parameters":
                op = [p for p in op if resolver.resolve(p).get("in") != "path"]
            elif isinstance(op, dict) and "responses" in op:
                declared = {resolver.resolve(p).get("name"): p for p in [*(item.get("parameters") or []),
                                                                          *(op.get("parameters") or [])]
                            if resolver.resolve(p).get("in") == "path"}
                others = [p for p in op.get("parameters") or [] if resolver.resolve(p).get("in") != "path"]
                path_params = [declared.get(n) or undeclared_path_param(n) for n in names]
                op = {**op, "security": [], "parameters": [*path_params, *others]}
            view["paths"][path][method] = op
    view.pop("security", None)
    return view


def create_app(config: ServeConfig | None = None, domains: list | None = None) -> MockApp:
    return MockApp(Runtime(config or ServeConfig(), domains))
