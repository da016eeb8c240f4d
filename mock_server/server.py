"""Run the mock on uvicorn; print one line with the URL once it accepts connections.

Flags and input files are checked first: one line naming the flag or file, exit 2, never a
traceback. uvicorn's httptools protocol (the fast one: llhttp, in C) has a keep-alive idle
timeout but no limit on the size of a request head, no header- or body-read timeout
(slowloris), no header count or request-line limit and no connection cap; ``LimitedProtocol``
adds them. Every refusal is one short answer in the API's error body (else plain text) on a
connection that is then closed. ``--workers N`` runs N processes on one socket, each building
the app from the same flags (``worker_app``), their state shared through the store.
"""

from __future__ import annotations

import asyncio
import gc
import http
import logging
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httptools
import uvicorn
from connexion.exceptions import InvalidSpecification
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from mock_server import merge
from mock_server.app import ADMIN_PREFIX, MockApp
from mock_server.errors import Rejection, excerpt
from mock_server.merge import MergeError
from mock_server.runtime import Runtime, ServeConfig
from mock_server.store import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
REMOTE_STATE = ("redis://", "rediss://")  # a networked store's URL, not a file: checked by that store
log = logging.getLogger("mock_server")
Render = Callable[[int, str, str | None], tuple[str, bytes]]   # (status, reason, path) -> (media, body)
KINDS = {400: "invalid", 408: "invalid", 413: "too_large", 414: "too_large", 431: "too_large", 503: "unavailable"}


class InputError(Exception):
    """A flag or input file the mock cannot start with; ``str()`` names it, in one line."""


class Refused(Exception):
    """A request the protocol answers itself, with ``status``, before the app sees it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of ``ServeConfig`` (see the module doc).
    ``configure`` makes a subclass bound to one config and one error renderer; ``WorkerProtocol``
    is the one a worker process binds (it is named by import string, so it is a module class)."""

    limits: ServeConfig
    render: Render

    @classmethod
    def configure(cls, limits: ServeConfig, render: Render) -> type[LimitedProtocol]:
        return type("ConfiguredProtocol", (cls,), {"limits": limits, "render": staticmethod(render)})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None   # the head's, then the body's
        self._first_bytes = b""   # the start of the request being read (which API it is for)
        self._idle = True         # between two requests (the parser's state: not the app's)
        self._in_head = False     # between the first byte of a request and the end of its headers
        self._head_bytes = 0      # bytes received while in the head (a bound before llhttp's callbacks)

    # -- connection cap, header-read and body-read timeouts ----------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("refusing a connection: %d open (--max-connections)", len(self.connections) - 1)
            self._refuse(503, f"Too many connections (limit {self.limits.max_connections})")
            return
        self._arm(self.limits.header_timeout, self._head_timed_out)

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _body_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:   # answered already: just close
            self.transport.close()
            return
        self._refuse(408, f"Request body not received within {self.limits.body_timeout:g} s")

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._first_bytes:   # a connection that never sent a byte: just close it
            self.transport.close()
            return
        self._refuse(408, f"Request line and headers not received within {self.limits.header_timeout:g} s")

    def data_received(self, data: bytes) -> None:
        if self._idle and not self._first_bytes:   # the first bytes of a request
            self._first_bytes = data[:512]
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:   # no WebSocket here (ws="none"): answer as HTTP, then close
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.keep_alive = False
            else:
                self._refuse(400, "Protocol upgrade not supported")
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, Refused):
                self._refuse(cause.status, str(cause))
            else:
                self._refuse(400, f"Invalid HTTP request: {exc}")
            return
        if self._in_head:   # a head still unfinished: llhttp would keep buffering a header that never ends
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                if len(self.url) > self.limits.max_request_line:
                    self._refuse(414, f"Request target longer than {self.limits.max_request_line} bytes")
                else:
                    self._refuse(431, f"Request line and headers larger than {self.limits.max_header_bytes} bytes")

    def on_message_begin(self) -> None:   # llhttp: the first byte of a request
        super().on_message_begin()
        self._idle, self._in_head, self._head_bytes = False, True, 0
        if self._timer is None:
            self._arm(self.limits.header_timeout, self._head_timed_out)

    # -- the head: size, count, request line, Host ------------------------------------------------
    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        limits, headers = self.limits, self.headers
        if len(self.url) > limits.max_request_line:
            raise Refused(414, f"Request target longer than {limits.max_request_line} bytes")
        if len(headers) > limits.max_headers:
            raise Refused(431, f"More than {limits.max_headers} request headers")
        size = len(self.url) + 8 + sum(len(k) + len(v) + 4 for k, v in headers)
        if size > limits.max_header_bytes:
            raise Refused(431, f"Request headers larger than {limits.max_header_bytes} bytes")
        names = {name for name, _ in headers}   # lower-cased by the parent's on_header
        if b"host" not in names and self.parser.get_http_version() == "1.1":
            raise Refused(400, "Missing mandatory Host: header")   # RFC 9112 3.2 (h11 refuses it too)
        super().on_headers_complete()
        length = next((v for k, v in headers if k == b"content-length"), b"0")
        if b"transfer-encoding" in names or length.strip() not in (b"", b"0"):
            self._arm(limits.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._disarm()
        self._idle = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._idle:   # else the rest of this request's body is still coming
            self._first_bytes = b""
        super().on_response_complete()   # the keep-alive idle timer runs until the next byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, msg)

    def _path(self) -> str | None:
        parts = self._first_bytes.split(b" ", 2)
        if len(parts) < 2 or not parts[1].startswith(b"/"):
            return None
        return parts[1].split(b"?")[0].decode("latin-1")

    def _refuse(self, status: int, reason: str) -> None:
        """One answer, then the connection closes (its state is unknown after a refusal)."""
        self._disarm()
        self._in_head = False
        if self.transport.is_closing():
            return
        try:
            media, body = self.render(status, reason, self._path())
        except Exception:  # noqa: BLE001 - a refusal must always get out, even if rendering fails
            log.exception("could not render a %s refusal", status)
            media, body = "text/plain; charset=utf-8", reason.encode()
        phrase = http.HTTPStatus(status).phrase
        head = (f"HTTP/1.1 {status} {phrase}\r\ncontent-type: {media}\r\ncontent-length: {len(body)}\r\n"
                "connection: close\r\n\r\n")
        self.transport.write(head.encode("latin-1") + body)
        self.transport.close()


def renderer(rt: Runtime) -> Render:
    """Protocol-level refusals in the error body of the API the path belongs to."""
    def render(status: int, reason: str, path: str | None) -> tuple[str, bytes]:
        reason = excerpt(reason, 200)
        if path is None or path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return "text/plain; charset=utf-8", reason.encode()
        reply = rt.errors.reply(None, rt.spec.api_for_path(path),
                                Rejection(KINDS.get(status, "invalid"), reason, status=status))
        return reply.media_type or "text/plain; charset=utf-8", reply.body

    return render


def _announce(host: str, port: int, more: str = "") -> None:
    """The one line that says the server accepts connections (tests and scripts wait for it)."""
    host = f"[{host}]" if ":" in host else host
    print(f"mock-server listening on http://{host}:{port} (admin: /__admin/, docs: /ui{more})", flush=True)


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    _announce(*sock.getsockname()[:2])


def check_state(state: str | Path | None) -> None:
    """Refuse a ``--state`` file the store could not use, before the store opens (and creates) it."""
    if state is None or str(state).startswith(REMOTE_STATE):
        return
    path = Path(state)
    if path.is_dir():
        raise InputError(f"--state {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise InputError(f"--state {path}: folder {path.parent} does not exist")
    if path.exists():
        try:
            with path.open("r+b") as fh:
                header = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise InputError(f"--state {path}: cannot read and write it ({exc.strerror})") from None
        if header and header != SQLITE_HEADER:  # an empty file is a new database to SQLite
            raise InputError(f"--state {path}: not a SQLite database (give a new file name, or a file "
                             "an earlier --state run wrote)")
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        path.unlink()
    except OSError as exc:
        raise InputError(f"--state {path}: cannot create it in {path.parent} ({exc.strerror})") from None


def check_fixtures(folder: Path) -> None:
    """Every ``*.yaml`` in the fixtures folder parses and is a mapping (a missing folder means none)."""
    if not folder.is_dir():
        return
    for file in sorted(folder.glob("*.yaml")):
        try:
            data = merge.load_document(file)
        except MergeError as exc:
            raise InputError(f"--fixtures: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise InputError(f"--fixtures: {file}: line 1: not a mapping (a fixtures file maps keys to values; "
                             f"this one is a {type(data).__name__})")


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:397] + "..."


def _build(config: ServeConfig) -> tuple[Runtime, MockApp] | str:
    """The runtime and app for ``config``, or the one line saying why it cannot serve."""
    rt = None
    try:
        check_state(config.state)
        check_fixtures(config.fixtures_dir)
        rt = Runtime(config)
        app = MockApp(rt)
        # What start-up built (the spec, compiled validators, fixtures) lives as long as the server:
        # the collector need not walk it again and again (shorter pauses: the p99 of a create).
        gc.collect()
        gc.freeze()
        return rt, app
    except (InputError, MergeError, OSError, sqlite3.Error, InvalidSpecification, StoreError, ValueError) as exc:
        if rt is not None:
            rt.store.close()
        files = ", ".join(map(str, config.specs))
        where = f"{files}: Connexion: " if isinstance(exc, InvalidSpecification) else \
            f"--state {config.state}: " if isinstance(exc, sqlite3.Error) else ""
        return f"mock-server: cannot serve: {where}{_one_line(exc)}"


def _uvicorn_options(config: ServeConfig, log_level: str) -> dict:
    # A stop waits for in-flight requests, but never more than a few seconds for a stuck client.
    return {"host": config.host, "port": config.port, "log_level": log_level, "access_log": False,
            "lifespan": "on", "timeout_graceful_shutdown": 5, "loop": "auto", "ws": "none",
            "timeout_keep_alive": config.keepalive_timeout}


def run(config: ServeConfig, log_level: str = "warning") -> int:
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if config.workers > 1:
        return run_workers(config, log_level)
    built = _build(config)
    if isinstance(built, str):
        print(built, file=sys.stderr)
        return 2
    rt, app = built
    protocol = LimitedProtocol.configure(config, renderer(rt))
    server = _Server(uvicorn.Config(app, http=protocol, **_uvicorn_options(config, log_level)))
    try:
        server.run()
    finally:
        rt.store.close()
    return 0 if server.started else 1


# -- --workers N ------------------------------------------------------------------------------------
# uvicorn's supervisor binds the socket and spawns N processes; each one unpickles ``WorkerConfig``,
# whose ``load()`` hands the flags to ``worker_app`` (the app factory uvicorn calls by name) before
# uvicorn builds the app and its protocol. State is shared through the store: a SQLite file (a
# private temporary one when --state is not given) or Redis; the virtual clock lives in it too.
class WorkerProtocol(LimitedProtocol):
    """The limited protocol as a worker binds it: ``worker_app`` sets its limits and renderer."""


_worker: dict = {}


class WorkerConfig(uvicorn.Config):
    """uvicorn's config of a worker process, carrying the mock's own flags across the spawn."""

    def __init__(self, serve: ServeConfig, log_level: str) -> None:
        super().__init__("mock_server.server:worker_app", factory=True, http="mock_server.server:WorkerProtocol",
                         workers=serve.workers, **_uvicorn_options(serve, log_level))
        self.serve = serve

    def load(self) -> None:
        _worker["config"] = self.serve
        super().load()


def _die_with_parent() -> None:
    """A worker ends when its supervisor does, even if the supervisor is killed with SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):   # not Linux: the supervisor's own SIGTERM still stops workers
        pass


def worker_app() -> MockApp:
    """The app of one worker process (uvicorn's factory): the flags came through ``WorkerConfig``."""
    _die_with_parent()
    config: ServeConfig = _worker["config"]
    built = _build(config)
    if isinstance(built, str):   # the supervisor built the same app first, so this is rare (a file changed)
        print(built, file=sys.stderr)
        raise SystemExit(3)      # uvicorn's STARTUP_FAILURE: the supervisor stops instead of respawning
    rt, app = built
    WorkerProtocol.limits, WorkerProtocol.render = config, staticmethod(renderer(rt))
    return app


class _Supervisor(Multiprocess):
    """uvicorn's supervisor that prints the "listening on" line once every worker serves."""

    def __init__(self, config: WorkerConfig, sock: socket.socket) -> None:
        super().__init__(config, sockets=[sock])
        self.address = sock.getsockname()[:2]

    ready = False

    def init_processes(self) -> None:
        super().init_processes()
        if all(p.wait_until_ready(60, self.should_exit) for p in self.processes):
            self.ready = True
            _announce(*self.address, f"; {len(self.processes)} workers")


def run_workers(config: ServeConfig, log_level: str) -> int:
    """``--workers N``: check and seed once here, then N worker processes on one socket."""
    private = None
    if config.state is None:   # the workers must share their state: a private SQLite file, removed at exit
        private = tempfile.mkdtemp(prefix="mock-server-")
        config = replace(config, state=Path(private) / "state.sqlite")
    try:
        built = _build(config)   # every input error reported once, here; the store seeded once
        if isinstance(built, str):
            print(built, file=sys.stderr)
            return 2
        built[0].store.close()
        del built
        uv = WorkerConfig(config, log_level)
        try:
            sock = uv.bind_socket()
        except SystemExit:   # uvicorn logged why (the port is taken)
            return 1
        supervisor = _Supervisor(uv, sock)
        try:
            supervisor.run()
        finally:
            sock.close()
        return 0 if supervisor.ready else 1
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
