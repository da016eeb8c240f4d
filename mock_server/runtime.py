"""What one served mock shares: config, spec index, store, clock, fakes, vendor profiles, journal.

Imports run one way: runtime -> vendor -> store / clock / fakes. Vendors never see the runtime;
they get ``Services`` (their store namespace, the clock, the seed) and, per request, a ``Context``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mock_server import DEFAULT_SPEC, PROJECT_ROOT, snapshot, spec
from mock_server.clock import META_KEY, ClockState, VirtualClock
from mock_server.errors import ErrorLayer
from mock_server.fakes import Fakes
from mock_server.resources import Resources
from mock_server.store import open_store
from mock_server.vendor import Handler, Namespace, Services, Vendor, discover

log = logging.getLogger("mock_server")

DEFAULT_SEED = 1
FIXTURES_DIR = PROJECT_ROOT / "fixtures"


@dataclass
class ServeConfig:
    specs: list[Path] = field(default_factory=lambda: [DEFAULT_SPEC])
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = DEFAULT_SEED
    state: str | Path | None = None   # a SQLite file, a redis:// URL, or None (memory)
    frozen_clock: bool = False
    clock_start: float | None = None
    time_scale: float = 1.0
    strict: bool = False
    admin: bool | None = None       # None: on when bound to a loopback host
    fixtures_dir: Path = FIXTURES_DIR
    vendor_dirs: list[Path] = field(default_factory=list)
    max_body_bytes: int = 1_000_000
    max_admin_body_bytes: int = 64_000_000   # a state import
    max_json_depth: int = 64
    journal_size: int = 1000
    journal_bytes: int = 8_000_000
    admin_token: str | None = None
    # The HTTP server's limits (server.py): what one connection may send, and for how long.
    max_header_bytes: int = 16_384            # the request line and every header together
    max_headers: int = 100
    max_request_line: int = 8_192
    header_timeout: float = 10.0              # to send a request's line and headers (slowloris)
    keepalive_timeout: float = 5.0            # idle between two requests on a connection
    body_timeout: float = 60.0                # to send a request's whole body, once its headers are in
    max_connections: int = 256
    workers: int = 1                          # processes on one socket (server.py), state in the store

    @property
    def admin_enabled(self) -> bool:
        if self.admin is not None:
            return self.admin
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


class Journal:
    """The most recent requests, newest last: at most ``size`` entries and about ``budget`` bytes;
    each string longer than ``field_chars`` is cut, with a marker saying how much was dropped."""

    def __init__(self, size: int, budget: int = 8_000_000, field_chars: int = 2000) -> None:
        self._entries: deque[tuple[dict, int]] = deque()
        self._size, self._budget, self._field_chars = size, budget, field_chars
        self._bytes = 0
        self._counter = 0
        self._lock = threading.Lock()

    def _cut(self, value: str) -> str:
        if len(value) > self._field_chars:
            return f"{value[:self._field_chars]}…[{len(value) - self._field_chars} more characters]"
        return value

    def add(self, entry: dict) -> None:
        kept = {k: self._cut(v) if type(v) is str else v for k, v in entry.items()}
        cost = 16 + sum(len(k) + (len(v) if type(v) is str else 8) for k, v in kept.items())   # about its size
        with self._lock:
            self._counter += 1
            kept["seq"] = self._counter
            self._entries.append((kept, cost))
            self._bytes += cost
            while len(self._entries) > self._size or (self._bytes > self._budget and len(self._entries) > 1):
                self._bytes -= self._entries.popleft()[1]

    @property
    def bytes(self) -> int:
        return self._bytes

    def entries(self, limit: int | None = None, operation_id: str | None = None) -> list[dict]:
        with self._lock:
            rows = [e for e, _ in self._entries if operation_id is None or e.get("operationId") == operation_id]
        return rows[-limit:] if limit else rows

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class Runtime:
    def __init__(self, config: ServeConfig, vendors: list[Vendor] | None = None) -> None:
        self.config = config
        found = discover(config.vendor_dirs) if vendors is None else vendors
        self.vendors: dict[str, Vendor] = {v.name: v for v in found}
        known = {name: v.servers for name, v in self.vendors.items() if v.servers}
        self.doc = spec.load(config.specs, known)
        self.spec = spec.SpecIndex(self.doc)
        self.store = open_store(config.state)
        # The clock lives in the store: replicas on one store share it, a restart continues it, and
        # the flags only set it up when the store holds none.
        self.clock = VirtualClock(self.store, start=config.clock_start, scale=config.time_scale,
                                  frozen=config.frozen_clock)
        self.fakes = Fakes(self.doc, config.seed, anchor=time.time() if config.clock_start is None
                           else config.clock_start)
        self.journal = Journal(config.journal_size, config.journal_bytes)  # this process's requests only
        self.resources = Resources(self.spec, self.fakes, self.store)
        self.errors = ErrorLayer(self.spec, self.fakes, {n: v.errors for n, v in self.vendors.items() if v.errors},
                                 config.seed)
        self._services: dict[str, Services] = {}
        self.started = time.time()
        # Several replicas may start together on one shared store: exactly one seeds it.
        self.store.seed_once(self.seed)

    # -- what vendors get ---------------------------------------------------------------------
    def services(self, api: str) -> Services:
        """The vendor-facing services of one API (its store namespace, the clock, the seed)."""
        if api not in self._services:
            self._services[api] = Services(store=Namespace(self.store, api), now=self.clock.now,
                                           seed=self.config.seed, fakes=self.fakes, settings=self.fixtures(api))
        return self._services[api]

    def vendor(self, api: str) -> Vendor | None:
        return self.vendors.get(api)

    def handler_for(self, op: spec.Operation) -> Handler:
        vendor = self.vendors.get(op.api)
        handler = vendor.handlers.get(op.id) if vendor else None
        return handler or self.resources.handle

    # -- state --------------------------------------------------------------------------------
    def apis(self) -> list[str]:
        return sorted({op.api for op in self.spec.operations.values()})

    def fixtures(self, api: str) -> dict:
        """``fixtures/<api>.yaml`` from ``--fixtures``, else beside the vendor's own module."""
        vendor = self.vendors.get(api)
        candidates = [self.config.fixtures_dir / f"{api}.yaml"]
        if vendor is not None and vendor.home is not None:
            candidates.append(vendor.home / f"{api}.yaml")
        for path in candidates:
            if path.exists():
                return yaml.safe_load(path.read_text()) or {}
        return {}

    def seed(self) -> None:
        """Load every served API's fixtures into the (empty) store."""
        with self.store.transaction():
            for api in self.apis():
                services = self.services(api)
                vendor = self.vendors.get(api)
                if vendor is not None and vendor.seed is not None:
                    vendor.seed(services, services.settings)
                self.resources.seed(services.settings)
            self.store.set_meta("seed", self.config.seed)

    def reset(self) -> None:
        """Every API back to its seeded fixtures, in one transaction; the clock runs on."""
        with self.store.transaction():
            self.load({})
            self.seed()

    def load(self, snapshot: dict) -> None:
        """Replace all state with a snapshot (``Store.export``) in one transaction. Its clock comes
        with it (running on for the wall time since it was taken); without one, the clock is kept."""
        with self.store.transaction():
            current = self.clock.state()
            given = (snapshot.get("meta") or {}).get(META_KEY)
            self.store.load(snapshot)
            if ClockState.from_json(given) is None:  # none, not a clock, or anchored to no wall time
                kept = ClockState.from_json(given, wall=self.store.wall_time()) or current
                self.store.set_meta(META_KEY, kept.to_json())

    def import_state(self, state: dict) -> None:
        """Replace everything with ``state`` after checking it against the served data model
        (``snapshot.check``): ``ValueError`` and nothing written otherwise."""
        snapshot.check(state, self.vendors, seed=self.config.seed)
        self.load(state)
