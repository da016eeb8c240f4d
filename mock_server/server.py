"""Run the mock on uvicorn; print one line with the URL once it accepts connections."""

from __future__ import annotations

import logging
import sys

import uvicorn

from mock_server.app import MockApp
from mock_server.merge import MergeError
from mock_server.runtime import Runtime, ServeConfig
from mock_server.store import StoreError


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


def run(config: ServeConfig, log_level: str = "warning") -> int:
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        rt = Runtime(config)
    except (MergeError, OSError, StoreError) as exc:
        print(f"mock-server: cannot serve: {exc}", file=sys.stderr)
        return 2
    # A stop waits for in-flight requests, but never more than a few seconds for a stuck client.
    server = _Server(uvicorn.Config(MockApp(rt), host=config.host, port=config.port, log_level=log_level,
                                    access_log=False, lifespan="on", timeout_graceful_shutdown=5))
    try:
        server.run()
    finally:
        rt.store.close()
    return 0 if server.started else 1
