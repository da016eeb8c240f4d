"""The app factory and the request pipeline, readable top to bottom.

One request flows through these stages, in this order:

  MockApp     admin API aside; read the raw request once (any framing: Content-Length or chunked)
  1 wire      the vendor's wire format -> (path, method, query, body) of the spec, as a child scope;
              the raw request is kept untouched for later stages (signatures); a wire may hand
              over credentials the spec's security cannot locate (identify then decides alone)
  ErrorLayer  any rejection below -> a documented status + the API's error body (errors.py)
  RouteGuard  404 unknown path, 405 + Allow, typed path parameters, body limits and media types
  Routing     Connexion (its router and the spec)
  2 identify  credentials -> a Caller, or the vendor's unauthenticated answer
  3 validate  Connexion's request validation, structured rejections (request_validation.py)
  4 access    the vendor's per-operation rules (roles, ownership, secrets), in its documented order
  5 dispatch  the vendor handler for the operationId, else the generic engine (resources.py);
              then the vendor's envelope and wire encoding
  MockApp     the response check (openapi-core) and the journal; in --strict a violation is a 500
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from connexion import AsyncApp
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import auth, inputs, replies, request_validation, response_check
from mock_server.asgi import framed_headers, replay, send_whole
from mock_server.errors import Rejection, classify, excerpt
from mock_server.fakes import Resolver
from mock_server.inputs import media_type
from mock_server.runtime import Runtime, ServeConfig
from mock_server.spec import Operation, as_openapi_30, template_params, undeclared_path_param
from mock_server.vendor import ANONYMOUS, Caller, Context, Identity, RawRequest, Routed, Vendor

log = logging.getLogger("mock_server")
ADMIN_PREFIX = "/__admin"
_INTEGER = re.compile(r"(0|-?[1-9][0-9]*)\Z")   # canonical ASCII decimal: no sign, space, 0-prefix
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


@dataclass
class RequestState:
    """What the pipeline learns about one request, shared by every stage through the scope."""

    raw: RawRequest
    body: bytes
    api: str = "default"
    vendor: Vendor | None = None
    operation: Operation | None = None
    path_params: dict[str, Any] = field(default_factory=dict)
    credentials: list = field(default_factory=list)
    wire_credentials: bool = False   # the wire found the credentials (Routed.credentials): no extraction
    caller: Caller = ANONYMOUS
    rejection: Rejection | None = None
    rejection_documented: bool = True
    verdict: str = "unchecked"
    too_large: bool = False   # the body was over the limit (and not read further)
    raw_path_params: dict[str, str] = field(default_factory=dict)
    parsed: Any = None        # the JSON body, parsed once
    sent_json: bool = False   # a JSON body was sent (``parsed`` may be a JSON null)
    validated: bool = False   # the compiled validation judged it (else Connexion's middleware does)


def _state(scope: Scope) -> RequestState:
    return scope["mock"]


# -- MockApp: read once, decode the wire, check and journal the answer ----------------------------
class MockApp:
    """The ASGI app ``mock-server serve`` runs."""

    def __init__(self, rt: Runtime) -> None:
        from mock_server import admin

        self.rt = rt
        self.checker = response_check.ResponseChecker(rt.doc)
        self.connexion = self._connexion_app()
        self.admin = admin.create_app(rt)
        self.wires = [v for v in rt.vendors.values() if v.wire is not None]
        self.serials = itertools.count(1)

    def _connexion_app(self) -> AsyncApp:
        rt = self.rt

        def bind(cls):
            return lambda app: cls(app, rt)

        own = {(name, op_id) for name, v in rt.vendors.items() for op_id in v.own_validation}
        view = _connexion_view(rt.doc, own)
        compiled = request_validation.CompiledRequests(view)
        app = AsyncApp(__name__, middlewares=[
            ServerErrorMiddleware, bind(ErrorLayer), Docs, bind(RouteGuard), bind(Identify),
            lambda app: Validate(app, compiled), ConnexionRouting, ConnexionValidation, bind(Dispatch),
            LifespanMiddleware, ContextMiddleware,
        ])
        app.add_api(view, resolver=lambda _op: _never_called, strict_validation=False,
                    validate_responses=False, validator_map=request_validation.VALIDATORS)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.connexion(scope, receive, send)
        path = scope["path"]
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            if self.rt.config.admin_enabled:
                return await self.admin(scope, receive, send)
            return await Response(b'{"message":"admin API disabled"}', 404,
                                  media_type="application/json")(scope, receive, send)
        with self.rt.store.reading():   # one request's reads: as fresh as its start (store.py)
            return await self._api(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        started = time.perf_counter()
        try:
            body, too_large = await inputs.read_body(receive, self.rt.config.max_body_bytes)
        except inputs.Disconnected:
            return
        raw = RawRequest(method=scope["method"], path=path, query_string=scope.get("query_string", b""),
                         headers=tuple((k.decode("latin-1").lower(), v.decode("latin-1"))
                                       for k, v in scope.get("headers", [])),
                         body=body, client=scope.get("client"), serial=next(self.serials))
        state = RequestState(raw=raw, body=body, too_large=too_large)
        try:
            routed = self._decode(raw, state)
        except Rejection as rejection:
            status, headers, out = self._refuse(state, rejection)
        else:
            child = _child_scope(scope, routed, state)
            status, headers, out = await _capture(self.connexion, child, replay(state.body))
            status, headers, out = self._check(state, status, headers, out)
        self._journal(raw, state, status, started)
        await send_whole(send, status, headers, out)

    def _decode(self, raw: RawRequest, state: RequestState) -> Routed:
        """Stage 1, wire: the first vendor whose wire format claims the request routes it."""
        for vendor in self.wires:
            try:
                routed = vendor.wire.decode(raw)
            except Rejection:
                state.api, state.vendor = vendor.name, vendor
                raise
            if routed is not None:
                state.api, state.vendor = vendor.name, vendor
                if routed.credentials is not None:
                    state.credentials, state.wire_credentials = list(routed.credentials), True
                return routed
        return Routed(raw.method, raw.path, raw.query_string)

    def _refuse(self, state: RequestState, rejection: Rejection) -> tuple[int, list, bytes]:
        state.rejection = rejection
        if state.vendor is None:
            state.api = self.rt.spec.api_for_path(state.raw.path)
        reply = self.rt.errors.reply(None, state.api, rejection, state.raw)
        return reply.status, _header_list(reply.headers, reply.media_type), reply.body

    def _check(self, state: RequestState, status: int, headers: list, body: bytes) -> tuple[int, list, bytes]:
        """The response check: every answer of a served operation against the spec."""
        op = state.operation
        state.verdict = "unchecked"
        if op is None:
            return status, headers, body
        if not state.rejection_documented:
            state.verdict = ("undocumented status: the spec documents no status for this "
                             f"{state.rejection.kind} rejection")
            log.warning("%s %s -> %s: %s", op.method.upper(), op.path, status, state.verdict)
            return status, headers, body
        problems = self.checker.check(op, status, headers, body)
        state.verdict = "valid" if not problems else "invalid: " + problems
        if not problems:
            return status, headers, body
        log.error("response violates the spec: %s %s -> %s: %s", op.method.upper(), op.path, status, problems)
        if not self.rt.config.strict:
            return status, headers, body
        reply = self.rt.errors.reply(op, state.api, Rejection(
            "server_error", "The mock produced a response that violates the spec", status=500), state.raw,
            extra_headers={"x-mock-violation": excerpt(problems).encode("latin-1", "replace").decode("latin-1")})
        return reply.status, _header_list(reply.headers, reply.media_type), reply.body

    def _journal(self, raw: RawRequest, state: RequestState, status: int, started: float) -> None:
        self.rt.journal.add({
            "time": self.rt.clock.now(), "method": raw.method, "path": raw.path,
            "query": raw.query_string.decode("latin-1"),
            "operationId": state.operation.id if state.operation else None, "api": state.api,
            "status": status,
            "request": f"rejected: {state.rejection.message}" if state.rejection else "valid",
            "response": state.verdict,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        })


def _child_scope(scope: Scope, routed: Routed, state: RequestState) -> Scope:
    """The scope Connexion sees: the routed request, framed with an exact Content-Length and a
    lower-cased media type (never the original scope mutated)."""
    if routed.body is not None:
        state.body = routed.body
    headers = framed_headers(routed.headers if routed.headers is not None else state.raw.headers, state.body)
    path = routed.path
    return {**scope, "method": routed.method.upper(), "path": path, "raw_path": path.encode("utf-8"),
            "query_string": routed.query_string, "headers": headers, "mock": state}


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


def _header_list(headers: dict[str, str], media: str | None) -> list[tuple[bytes, bytes]]:
    out = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
           if k.lower() != "content-type"]
    if media:
        out.append((b"content-type", media.encode("latin-1")))
    return out


# -- the served document and Swagger UI -----------------------------------------------------------
_DOCS = ("/ui", "/openapi.json", "/openapi.yaml")


class Docs(SwaggerUIMiddleware):
    """Connexion's Swagger UI and served document (/ui, /openapi.json), asked only for their paths."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_DOCS):
            return await self.app(scope, receive, send)
        await super().__call__(scope, receive, send)


# -- ErrorLayer: the one place a rejection becomes a reply ----------------------------------------
class ErrorLayer:
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
            state.rejection = classify(exc)
            reply = self.rt.errors.reply(state.operation, state.api, state.rejection, state.raw)
            state.rejection_documented = reply.documented
            await Response(reply.body, status_code=reply.status,
                           headers=dict(_decoded(_header_list(reply.headers, reply.media_type))))(scope, receive, send)


def _decoded(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


# -- RouteGuard -----------------------------------------------------------------------------------
def _coerce_path_params(rt: Runtime, op: Operation, raw: dict[str, str]) -> dict[str, Any]:
    """Path parameters typed as the spec declares them; strictly (ASCII digits for integers)."""
    out: dict[str, Any] = {}
    declared = {p["name"]: p for p in op.parameters if p.get("in") == "path"}
    for name, value in raw.items():
        schema = rt.spec.resolver.resolve(declared.get(name, {}).get("schema", {}))
        kind = schema.get("type")
        typed: Any = value
        if kind == "integer":
            if not _INTEGER.match(value) or len(value) > 40:
                raise Rejection("invalid_path", f"Invalid {name}: {excerpt(value, 40)!r}", property=name)
            typed = int(value)
        elif kind == "number":
            if not _NUMBER.match(value) or len(value) > 40:
                raise Rejection("invalid_path", f"Invalid {name}: {excerpt(value, 40)!r}", property=name)
            typed = float(value)
        elif kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise Rejection("invalid_path", f"Invalid {name}: {excerpt(value, 40)!r}", property=name)
            typed = value.lower() == "true"
        if rt.fakes.validator.errors(typed, schema):
            raise Rejection("invalid_path", f"Invalid {name}: {excerpt(value, 40)!r}", property=name)
        out[name] = typed
    return out


class RouteGuard:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = _state(scope)
        path, method = scope["path"], scope["method"].lower()
        # Route patterns are anchored and their literal parts printable, so a control character can
        # only sit inside a parameter value: a typed one refuses it, a string one carries it as sent.
        match = self.rt.spec.match(path)
        if match is None:
            if state.vendor is None:
                state.api = self.rt.spec.api_for_path(path)
            raise Rejection("not_found", f"No such resource: {excerpt(path, 100)}")
        ops, raw_params = match
        state.raw_path_params = raw_params
        op = ops.get(method)
        if op is None:
            state.api = next(iter(ops.values())).api
            allow = ", ".join(sorted(m.upper() for m in ops))
            raise Rejection("method_not_allowed", f"Method {method.upper()} not allowed; allowed: {allow}",
                            headers={"Allow": allow})
        state.operation, state.api = op, op.api
        state.vendor = self.rt.vendor(op.api)
        state.path_params = _coerce_path_params(self.rt, op, raw_params)
        self._vet_body(scope, op, state)
        if "\n" in path:
            # Connexion routes with a Starlette Mount (`.*`), which stops at a newline; handlers read
            # the parameters parsed above, so Connexion may route on an escaped path.
            escaped = path.replace("\n", "%0A")
            scope = {**scope, "path": escaped, "raw_path": escaped.encode("utf-8")}
        await self.app(scope, receive, send)

    def _vet_body(self, scope: Scope, op: Operation, state: RequestState) -> None:
        """Refuse a body Connexion could not parse safely; drop one the operation does not take."""
        headers = Headers(scope=scope)
        raw_type = headers.get("content-type", "")
        media = media_type(raw_type)
        body = state.body
        if state.too_large and op.request_body is not None:
            raise Rejection("too_large", f"Request body larger than {self.rt.config.max_body_bytes} bytes")
        if op.request_body is None:
            if body or raw_type:  # the operation takes no body: whatever was sent is ignored
                scope["headers"] = [(k, v) for k, v in scope["headers"]
                                    if k not in (b"content-type", b"content-length")]
                state.body = b""
            return
        if not body:
            if op.request_body.get("required"):
                raise Rejection("invalid", "Request body is required", code="missing_body")
            return
        declared = list((op.request_body.get("content") or {}).keys())
        if not _media_matches(media, declared):
            raise Rejection("unsupported_media", f"Unsupported Content-Type {excerpt(raw_type or '(none)', 80)}; "
                            f"expected {', '.join(declared)}")
        limit = self.rt.config.max_json_depth
        if "json" in media and body.count(b"[") + body.count(b"{") > limit and inputs.depth(body) > limit:
            raise Rejection("invalid", f"JSON nested deeper than {limit} levels")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejection("invalid", "Request body is not valid UTF-8") from None
        if media.endswith("json") and not text.strip():
            raise Rejection("invalid", "Malformed JSON body: only whitespace", code="malformed_json")
        if media.endswith("json"):
            try:
                state.parsed = inputs.loads(text, limit)
                state.sent_json = True
            except ValueError as exc:
                raise Rejection("invalid", f"Malformed JSON body: {excerpt(exc, 120)}", code="malformed_json") from None
        if media.startswith("multipart/") and "boundary=" not in raw_type:
            raise Rejection("invalid", "multipart body without a boundary")


def _media_matches(media: str, declared: list[str]) -> bool:
    media = media_type(media)
    for pattern in declared:
        pattern = media_type(pattern)
        if pattern in ("*/*", media) or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
        if pattern == "*/*json" and media.endswith("json"):
            return True
    return False


# -- 2 identify -----------------------------------------------------------------------------------
class Identify:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = _state(scope)
        op = state.operation
        if op is not None:
            if not state.wire_credentials:
                request = Request(scope)
                schemes = {name: self.rt.spec.security_scheme(name) for req in op.security for name in req}
                state.credentials = auth.credentials(op.security, schemes, Headers(scope=scope),
                                                     request.query_params, request.cookies)
            if state.vendor is not None:
                state.caller = state.vendor.identify(
                    Identity(op, state.credentials, state.raw, self.rt.services(op.api)))
            elif state.credentials:
                state.caller = Caller("default")
        await self.app(scope, receive, send)


# -- 3 validate -----------------------------------------------------------------------------------
class Validate:
    """Request validation compiled once per operation (request_validation.CompiledRequests):
    Connexion's verdicts without its per-request validator construction. Form bodies are left to
    Connexion's own middleware, next in the stack."""

    def __init__(self, app: ASGIApp, compiled: request_validation.CompiledRequests) -> None:
        self.app, self.compiled = app, compiled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = _state(scope)
            op = state.operation
            plan = self.compiled.plan(op.path, op.method)
            if not plan.forms:
                plan.validate(scope, state.raw_path_params, state.parsed, state.sent_json)
                state.validated = True
        await self.app(scope, receive, send)


class ConnexionRouting(RoutingMiddleware):
    """Connexion's router, for what the compiled validation leaves to Connexion (form bodies):
    RouteGuard has routed every request by the spec already."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _state(scope).validated:
            return await self.app(scope, receive, send)
        await super().__call__(scope, receive, send)


class ConnexionValidation(RequestValidationMiddleware):
    """Connexion's request validation, for what the compiled one leaves to it (form bodies)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _state(scope).validated:
            return await self.app(scope, receive, send)
        await super().__call__(scope, receive, send)


# -- 4 access and 5 dispatch ----------------------------------------------------------------------
def _request_body(media: str, raw: bytes, parsed: Any) -> Any:
    if not raw:
        return None
    media = media_type(media)
    if media.endswith("json"):
        return parsed if parsed is not None else json.loads(raw)
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return raw


class Dispatch:
    """Answers every routed, identified and validated request: access rules, the handler (the
    vendor's, else the generic engine), envelope, wire encoding. Connexion's handler-calling layer
    (its parameter and response decorators) is never reached: everything it would do is done.

    A read (GET, HEAD) is answered again from ``Replies`` while the store has not changed and the
    clock has not passed what the handler said its reply depends on (``ctx.valid_until``)."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app, self.rt = app, rt
        self.replies = Replies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rt = self.rt
        state = _state(scope)
        op, vendor = state.operation, state.vendor
        key = self.replies.key(state) if op.method in ("get", "head") else None
        kept = self.replies.get(key, rt.store.generation(), rt.clock.now()) if key else None
        if kept is not None:
            return await Response(kept[2], status_code=kept[0], headers=kept[1])(scope, receive, send)
        headers = Headers(scope=scope)
        query = QueryParams(scope.get("query_string", b""))
        ctx = Context(op=op, path_params=state.path_params, query=query, headers=headers,
                      body=_request_body(headers.get("content-type", ""), state.body, state.parsed),
                      caller=state.caller, raw=state.raw, services=rt.services(op.api),
                      query_lists={k: query.getlist(k) for k in query})
        # Store calls are synchronous: on Redis this event loop waits out each round trip, under
        # the store-wide lock (README: Running several replicas).
        with rt.store.transaction():
            for rule in vendor.rules(op.id) if vendor else ():
                rule(ctx)
            reply = rt.handler_for(op)(ctx)
        if vendor is not None and vendor.envelope is not None:
            reply = vendor.envelope(reply, ctx)
        if vendor is not None and vendor.wire is not None:
            reply = vendor.wire.encode(reply, state.raw)
        answer = replies.encode_reply(rt.spec, rt.fakes, op, reply.status, reply.body, reply.headers,
                                      reply.media_type)
        if key is not None:
            self.replies.put(key, rt.store.generation(), ctx.until, answer)
        await Response(answer[2], status_code=answer[0], headers=answer[1])(scope, receive, send)


class Replies:
    """Replies to reads, kept while the store's generation is the same and the clock is before
    the moment the reply stops holding. Keyed by everything a handler can see of a read."""

    IGNORED = frozenset({"user-agent", "accept-encoding", "connection", "keep-alive", "te", "cache-control",
                         "pragma", "content-length"})

    def __init__(self, size: int = 4096) -> None:
        self._kept: OrderedDict[tuple, tuple] = OrderedDict()
        self._size = size

    def key(self, state: RequestState) -> tuple:
        raw = state.raw
        headers = tuple(sorted((k, v) for k, v in raw.headers if k not in self.IGNORED))
        return (state.operation.id, state.caller, raw.path, raw.query_string, headers)

    def get(self, key: tuple, generation: Any, now: float) -> tuple | None:
        if generation is None:
            return None
        kept = self._kept.get(key)
        if kept is None or kept[0] != generation or now >= kept[1]:
            return None
        self._kept.move_to_end(key)
        return kept[2]

    def put(self, key: tuple, generation: Any, until: float, answer: tuple) -> None:
        if generation is None:
            return
        self._kept[key] = (generation, until, answer)
        self._kept.move_to_end(key)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)


def _never_called(*_args: Any, **_kwargs: Any) -> None:
    """The function Connexion registers for every operation; Dispatch answers before it."""
    raise RuntimeError("Dispatch answers every operation")


def _connexion_view(doc: dict, own_validation: set[tuple[str, str]] = frozenset()) -> dict:
    """The document Connexion serves: OpenAPI 3.0 (a 3.1 document is translated), no security
    (Identify does it), and each operation's path parameters exactly its template's
    (published specs misname some). An operation in ``own_validation`` ((api, operationId) pairs:
    the vendor's handler checks it) keeps its media types and parameter names, with any-value
    schemas for its body and query parameters: Connexion still parses them, never refuses them."""
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
                if (op.get("x-api", "default"), op.get("operationId")) in own_validation:
                    op = _unjudged(op, resolver)
            view["paths"][path][method] = op
    view.pop("security", None)
    return view


def _unjudged(op: dict, resolver: Resolver) -> dict:
    """``op`` with schemas any value passes for its request body and query parameters."""
    params = []
    for param in op.get("parameters") or []:
        param = resolver.resolve(param)
        if param.get("in") == "query":
            param = {k: v for k, v in param.items() if k not in ("schema", "content", "example", "examples")}
            param = {**param, "schema": {"type": "string"}}   # a query value is text: any passes
        params.append(param)
    op = {**op, "parameters": params}
    body = resolver.resolve(op["requestBody"]) if op.get("requestBody") else None
    if body:
        content = {media: {"schema": {}} for media in body.get("content") or {}}
        op["requestBody"] = {**body, "content": content}
    return op


def create_app(config: ServeConfig | None = None, vendors: list[Vendor] | None = None) -> MockApp:
    return MockApp(Runtime(config or ServeConfig(), vendors))
