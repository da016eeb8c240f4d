"""Run the mock on uvicorn; print one line with the URL once it accepts connections.

Flags and input files are checked first: one line naming the flag or file, exit 2, never a
traceback. uvicorn's h11 protocol bounds the size of a request head and the keep-alive idle time,
but has no header- or body-read timeout (slowloris), no header count or request-line limit and no
connection cap; ``LimitedH11Protocol`` adds them. Every refusal is one short answer in the API's
error body (else plain text) on a connection that is then closed.
"""

from __future__ import annotations

import asyncio
import http
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import h11
import uvicorn
from connexion.exceptions import InvalidSpecification
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class _Watched:
    """An h11 connection whose parse errors and request heads the protocol gets to see first."""

    def __init__(self, conn: h11.Connection, protocol: LimitedH11Protocol) -> None:
        self._conn, self._protocol = conn, protocol

    def __getattr__(self, name: str):
        return getattr(self._conn, name)

    def next_event(self):
        try:
            event = self._conn.next_event()
            if isinstance(event, h11.Request):
                self._protocol.head_received(event)   # raises RemoteProtocolError over a limit
            elif isinstance(event, h11.EndOfMessage):
                self._protocol.body_received()
        except h11.RemoteProtocolError as exc:
            self._protocol.error = exc
            raise
        return event


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the limits of ``ServeConfig`` (see the module doc).
    ``configure`` makes a subclass bound to one config and one error renderer."""

    limits: ServeConfig
    render: Render

    @classmethod
    def configure(cls, limits: ServeConfig, render: Render) -> type[LimitedH11Protocol]:
        return type("ConfiguredH11Protocol", (cls,), {"limits": limits, "render": staticmethod(render)})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _Watched(self.conn, self)
        self.error: h11.RemoteProtocolError | None = None
        self._timer: asyncio.TimerHandle | None = None   # the head's, then the body's
        self._first_bytes = b""   # the start of the request being read (which API it is for)

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

    def body_received(self) -> None:
        self._disarm()

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._first_bytes:   # a connection that never sent a byte: just close it
            self.transport.close()
            return
        self._refuse(408, f"Request line and headers not received within {self.limits.header_timeout:g} s")

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and not self._first_bytes:
            self._first_bytes = data[:512]
            if self._timer is None:
                self._arm(self.limits.header_timeout, self._head_timed_out)
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._first_bytes = b""
        super().on_response_complete()   # the keep-alive idle timer runs until the next byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # -- the head: size, count, request line --------------------------------------------------------
    def head_received(self, event: h11.Request) -> None:
        self._disarm()
        limits = self.limits
        if len(event.target) > limits.max_request_line:
            raise h11.RemoteProtocolError(f"Request target longer than {limits.max_request_line} bytes",
                                          error_status_hint=414)
        if len(event.headers) > limits.max_headers:
            raise h11.RemoteProtocolError(f"More than {limits.max_headers} request headers",
                                          error_status_hint=431)
        names = {name.lower() for name, _ in event.headers}
        if {b"content-length", b"transfer-encoding"} <= names:   # two framings: a smuggling attempt
            raise h11.RemoteProtocolError("Both Content-Length and Transfer-Encoding", error_status_hint=400)
        size = len(event.method) + len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
        if size > limits.max_header_bytes:
            raise h11.RemoteProtocolError(f"Request headers larger than {limits.max_header_bytes} bytes",
                                          error_status_hint=431)
        length = next((v for k, v in event.headers if k.lower() == b"content-length"), b"0")
        if b"transfer-encoding" in names or length.strip() not in (b"", b"0"):
            self._arm(limits.body_timeout, self._body_timed_out)

    def send_400_response(self, msg: str) -> None:
        """Every request h11 or ``head_received`` refuses, with the status h11 suggests."""
        error, self.error = self.error, None
        status = getattr(error, "error_status_hint", 400) or 400
        reason = str(error) if error is not None and str(error) else msg
        if status == 431 and "buffer" in reason.lower():
            reason = f"Request line and headers larger than {self.limits.max_header_bytes} bytes"
        self._refuse(status, reason)

    def _path(self) -> str | None:
        parts = self._first_bytes.split(b" ", 2)
        if len(parts) < 2 or not parts[1].startswith(b"/"):
            return None
        return parts[1].split(b"?")[0].decode("latin-1")

    def _refuse(self, status: int, reason: str) -> None:
        """One answer, then the connection closes (its state is unknown after a refusal)."""
        self._disarm()
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


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    host = f"[{host}]" if ":" in host else host
                    print(f"mock-server listening on http://{host}:{port} (admin: /__admin/, docs: /ui)",
                          flush=True)


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


def run(config: ServeConfig, log_level: str = "warning") -> int:
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    rt = None
    try:
        check_state(config.state)
        check_fixtures(config.fixtures_dir)
        rt = Runtime(config)
        app = MockApp(rt)
    except (InputError, MergeError, OSError, sqlite3.Error, InvalidSpecification, StoreError, ValueError) as exc:
        if rt is not None:
            rt.store.close()
        files = ", ".join(map(str, config.specs))
        where = f"{files}: Connexion: " if isinstance(exc, InvalidSpecification) else \
            f"--state {config.state}: " if isinstance(exc, sqlite3.Error) else ""
        print(f"mock-server: cannot serve: {where}{_one_line(exc)}", file=sys.stderr)
        return 2
    # A stop waits for in-flight requests, but never more than a few seconds for a stuck client.
    protocol = LimitedH11Protocol.configure(config, renderer(rt))
    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, log_level=log_level,
                                    access_log=False, lifespan="on", timeout_graceful_shutdown=5,
                                    http=protocol, h11_max_incomplete_event_size=config.max_header_bytes,
                                    timeout_keep_alive=config.keepalive_timeout))
    try:
        server.run()
    finally:
        rt.store.close()
    return 0 if server.started else 1
