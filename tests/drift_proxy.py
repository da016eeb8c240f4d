"""A deliberately non-conformant server for the harness' tests: a stdlib reverse proxy on loopback
in front of a served mock, with one drift applied to what passes through it."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Exchange:
    """One request and its answer as the proxy sees them; a drift may change any field."""

    method: str
    path: str                   # with the query
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_headers: dict[str, str] | None = None
    response_body: bytes = b""

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]

    def json(self):
        return json.loads(self.response_body)

    def set_json(self, value) -> None:
        self.response_body = json.dumps(value).encode()


@dataclass
class Drift:
    """``request`` runs before forwarding, ``response`` after; either may be None."""

    request: Callable[[Exchange], None] | None = None
    response: Callable[[Exchange], None] | None = None


class DriftProxy:
    def __init__(self, upstream: str, drift: Drift) -> None:
        self.upstream = urlsplit(upstream)
        self.drift = drift
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DriftProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                exchange = Exchange(self.command, self.path, {k: v for k, v in self.headers.items()},
                                    self.rfile.read(length) if length else b"")
                if proxy.drift.request:
                    proxy.drift.request(exchange)
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in exchange.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(exchange.method, exchange.path, body=exchange.body or None, headers=headers)
                answer = upstream.getresponse()
                exchange.status = answer.status
                exchange.response_headers = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
                exchange.response_body = answer.read()
                upstream.close()
                if proxy.drift.response:
                    proxy.drift.response(exchange)
                self.send_response(exchange.status)
                for name, value in exchange.response_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(exchange.response_body)))
                self.end_headers()
                self.wfile.write(exchange.response_body)

            def __getattr__(self, name: str):
                # Every method, including the unusual ones Schemathesis probes with, is forwarded.
                if name.startswith("do_"):
                    return self._any
                raise AttributeError(name)

        return Handler
