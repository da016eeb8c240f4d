"""What one served mock shares: config, spec index, store, clock, fakes, domain modules, journal."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mock_server import DEFAULT_SPEC, PROJECT_ROOT, domain, errors, spec
from mock_server.clock import VirtualClock
from mock_server.domain import DomainAPI, Reply
from mock_server.fakes import Fakes
from mock_server.resources import Resources
from mock_server.store import open_store

log = logging.getLogger("mock_server")

DEFAULT_SEED = 1
FIXTURES_DIR = PROJECT_ROOT / "fixtures"


@dataclass
class ServeConfig:
    specs: list[Path] = field(default_factory=lambda: [DEFAULT_SPEC])
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = DEFAULT_SEED
    state: Path | None = None
    frozen_clock: bool = False
    clock_start: float | None = None
    time_scale: float = 1.0
    strict: bool = False
    admin: bool | None = None       # None: on when bound to a loopback host
    fixtures_dir: Path = FIXTURES_DIR
    max_body_bytes: int = 1_000_000
    max_json_depth: int = 64
    journal_size: int = 1000

    @property
    def admin_enabled(self) -> bool:
        if self.admin is not None:
            return self.admin
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


class Journal:
    """The most recent requests, newest last."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict] = deque(maxlen=size)
        self._counter = 0

    def add(self, entry: dict) -> None:
        self._counter += 1
        self._entries.append({"seq": self._counter, **entry})

    def entries(self, limit: int | None = None, operation_id: str | None = None) -> list[dict]:
        rows = [e for e in self._entries if operation_id is None or e.get("operationId") == operation_id]
        return rows[-limit:] if limit else rows

    def clear(self) -> None:
        self._entries.clear()


class Runtime:
    def __init__(self, config: ServeConfig, domains: list[DomainAPI] | None = None) -> None:
        self.config = config
        self.domains = {d.name: d for d in (domain.discover() if domains is None else domains)}
        known = {name: d.servers for name, d in self.domains.items() if d.servers}
        self.doc = spec.load(config.specs, known)
        self.spec = spec.SpecIndex(self.doc)
        self.fakes = Fakes(self.doc, config.seed)
        self.store = open_store(config.state)
        self.clock = VirtualClock(start=config.clock_start, scale=config.time_scale, frozen=config.frozen_clock)
        self.journal = Journal(config.journal_size)
        self.resources = Resources(self)
        self._error_schemas = self._collect_error_schemas()
        self.started = time.time()
        saved = self.store.get_meta("clock")
        if saved is not None:
            self.restore_clock(saved)
        if self.store.is_empty():
            self.seed()

    # -- state --------------------------------------------------------------------------------
    def apis(self) -> list[str]:
        return sorted({op.api for op in self.spec.operations.values()})

    def fixtures(self, api: str) -> dict:
        path = self.config.fixtures_dir / f"{api}.yaml"
        return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}

    def seed(self) -> None:
        """Load every served API's fixtures into the (empty) store."""
        with self.store.transaction():
            for api in self.apis():
                fixtures = self.fixtures(api)
                module = self.domains.get(api)
                if module is not None and module.seed is not None:
                    module.seed(self, fixtures)
                self.resources.seed(fixtures)
            self.store.set_meta("seed", self.config.seed)

    def reset(self) -> None:
        with self.store.transaction():
            self.store.clear()
            self.seed()
        self.save_clock()

    def save_clock(self) -> None:
        self.store.set_meta("clock", {**self.clock.snapshot(), "wall": time.time()})

    def restore_clock(self, saved: dict) -> None:
        now = float(saved["now"])
        if not saved.get("frozen"):
            now += max(0.0, time.time() - float(saved.get("wall", time.time()))) * float(saved.get("scale", 1))
        self.clock.restore({**saved, "now": now})

    # -- the pipeline's helpers ---------------------------------------------------------------
    def handler_for(self, op: spec.Operation) -> Any:
        module = self.domains.get(op.api)
        handler = module.handlers.get(op.id) if module else None
        return handler or self.resources.handle

    def _collect_error_schemas(self) -> dict[str, list[Any]]:
        """Per API, the JSON schemas it documents for errors (used where a status has none)."""
        found: dict[str, list[Any]] = {}
        for op in self.spec.operations.values():
            for status in sorted(op.responses):
                if status.isdigit() and int(status) >= 400:
                    schema = op.json_schema(int(status))
                    if schema is not None and schema not in found.setdefault(op.api, []):
                        found[op.api].append(schema)
        return found

    def render_rejection(self, op: spec.Operation | None, api: str, rejection: errors.Rejection) -> errors.ErrorReply:
        status, documented = errors.choose_status(op, rejection)
        module = self.domains.get(api)
        shaped = module.error_body(rejection, status, op, self) if module and module.error_body else None
        if shaped is None:
            shaped = errors.generic_body(op, status, rejection, self.fakes, self._error_schemas.get(api, []))
        body, media = shaped
        headers = dict(rejection.headers)
        headers.update(self.documented_headers(op, status, headers, ("rejection", rejection.kind)))
        return errors.ErrorReply(status, errors.encode(body, media), media, headers, documented)

    def documented_headers(self, op: spec.Operation | None, status: int, present: dict, key: Any) -> dict:
        """Values for documented response headers the reply did not set: every required one, and
        every one the spec gives an example for (what the vendor sends, e.g. WWW-Authenticate)."""
        if op is None:
            return {}
        out = {}
        have = {h.lower() for h in present}
        for name, header in ((op.response(status) or {}).get("headers") or {}).items():
            header = self.spec.resolver.resolve(header)
            schema = self.spec.resolver.resolve(header.get("schema", {"type": "string"}))
            example = header.get("example", schema.get("example"))
            if name.lower() in have or name.lower() == "content-type":
                continue
            if example is not None:
                value = example
            elif header.get("required"):
                value = self.fakes.generate(schema, "header", op.id, name, key)
            else:
                continue
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out

    def encode_reply(self, op: spec.Operation, reply: Reply) -> tuple[int, dict[str, str], bytes]:
        if reply.status in (204, 304):  # HTTP forbids a body here, whatever a spec documents
            return reply.status, dict(reply.headers), b""
        media = reply.media_type
        if media is None and reply.body is not None:
            types = op.content_types(reply.status)
            media = types[0] if types else "application/json"
        headers = dict(reply.headers)
        headers.update(self.documented_headers(op, reply.status, headers, "reply"))
        if media:
            headers.setdefault("content-type", media)
        return reply.status, headers, errors.encode(reply.body, media)
