"""Run the mock on uvicorn; print one line with the URL once it accepts connections."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from pathlib import Path

import uvicorn
from connexion.exceptions import InvalidSpecification

from mock_server import merge
from mock_server.app import MockApp
from mock_server.merge import MergeError
from mock_server.runtime import Runtime, ServeConfig
from mock_server.store import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
REMOTE_STATE = ("redis://", "rediss://")  # a networked store's URL, not a file: checked by that store


class InputError(Exception):
    """A flag or input file the mock cannot start with; ``str()`` names it, in one line."""


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
    except (InputError, MergeError, OSError, sqlite3.Error, InvalidSpecification, StoreError) as exc:
        if rt is not None:
            rt.store.close()
        files = ", ".join(map(str, config.specs))
        where = f"{files}: Connexion: " if isinstance(exc, InvalidSpecification) else \
            f"--state {config.state}: " if isinstance(exc, sqlite3.Error) else ""
        print(f"mock-server: cannot serve: {where}{_one_line(exc)}", file=sys.stderr)
        return 2
    # A stop waits for in-flight requests, but never more than a few seconds for a stuck client.
    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, log_level=log_level,
                                    access_log=False, lifespan="on", timeout_graceful_shutdown=5))
    try:
        server.run()
    finally:
        rt.store.close()
    return 0 if server.started else 1
