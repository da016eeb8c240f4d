"""What one served mock shares: config, spec index, store, clock, fakes, vendor profiles, journal.

Imports run one way: runtime -> vendor -> store / clock / fakes. Vendors never see the runtime;
they get ``Services`` (their store namespace, the clock, the seed) and, per request, a ``Context``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mock_server import DEFAULT_SPEC, PROJECT_ROOT, spec
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
        self.journal = Journal(config.journal_size)  # this process's requests only, never shared
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
