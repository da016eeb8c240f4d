"""A capture server for the official PolarDB SDK: records each raw request and answers it with
``respond(request) -> (status, body)``, by default a fixed success body."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUEST_ID = "C61892A4-0850-4516-9E26-44D96C1782DE"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class Captured:
    """One request exactly as it reached the socket."""

    method: str
    path: str
    query_string: bytes
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


def fixed_success(request: Captured) -> tuple[int, dict]:
    return 200, {"RequestId": REQUEST_ID, "BatchId": "pcb-xxx"}


class CaptureServer:
    def __init__(self, respond: Callable[[Captured], tuple[int, dict]] = fixed_success) -> None:
        self.requests: list[Captured] = []
        self.respond = respond
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _capture(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                captured = Captured(self.command, path, query.encode(), tuple(self.headers.items()), body)
                server.requests.append(captured)
                status, reply = server.respond(captured)
                payload = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = _capture

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def last(self) -> Captured:
        return self.requests[-1]
