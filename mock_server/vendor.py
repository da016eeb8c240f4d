"""The vendor profile: one declared object per API, one typed seam per stage of the pipeline.

A vendor module (``mock_server/apis/<api>.py``, a folder given with ``--vendors``, or a Python
entry point in the group ``task_api_mock.vendors``) exports ``vendor = Vendor(...)``. The engine
discovers it and never imports one by name. Each seam is read by exactly one stage of
``app.py``, in this order:

  wire      RawRequest -> Routed (which operation, which parameters), and Reply -> the wire
  identify  credentials + raw request -> Caller (account, roles), or the vendor's 401/403
  (request validation: Connexion, from the spec; except for the operations in ``own_validation``,
  whose body and query parameters the vendor's handler checks itself)
  access    per-operation rules after validation: roles, ownership, secrets bound to an entity
  handlers  code per operationId, only where data cannot say it (else the generic engine)
  envelope  wraps a success reply in the vendor's envelope
  errors    the vendor's error body for a rejection (the status is chosen by ``errors.py``)
  seed      fixtures/<api>.yaml -> the vendor's store namespace
  records, keys, references, sequences, secrets
            the data model as data: what an admin import must satisfy and what an export masks
            (read by snapshot.py, not by a request stage)

Handlers and rules see a ``Context``: the request, the caller, the vendor's own store namespace,
the virtual clock and the seed -- never the runtime.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import math
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from mock_server.errors import ErrorCase, Rejection
from mock_server.fakes import seed_for

if TYPE_CHECKING:
    from mock_server.auth import Credential
    from mock_server.fakes import Fakes
    from mock_server.spec import Operation
    from mock_server.store import Store

ENTRY_POINT_GROUP = "task_api_mock.vendors"


# -- what travels through the pipeline ------------------------------------------------------------
@dataclass(frozen=True)
class RawRequest:
    """The request exactly as received: what a signature covers. Never rewritten."""

    method: str
    path: str
    query_string: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()   # names lower-cased, in the order received
    body: bytes = b""
    client: tuple[str, int] | None = None
    serial: int = 0   # this request's number since the server started (1, 2, ...), e.g. for request ids

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), default)

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)


@dataclass(frozen=True)
class Routed:
    """Where a wire decoder sends a request: a path and method of the spec, and what validation sees."""

    method: str
    path: str
    query_string: bytes = b""
    headers: tuple[tuple[str, str], ...] | None = None   # None: the raw request's
    body: bytes | None = None                            # None: the raw request's
    # Credentials the wire format carries where no security scheme of the spec can point (e.g. a
    # signature in the query). None: found from the operation's security, as for any request; a list
    # (even empty): these, and ``identify`` decides, so the vendor answers a missing signature itself.
    credentials: tuple[Credential, ...] | None = None


@dataclass(frozen=True)
class Caller:
    """Who a request acts for. ``account`` scopes what the caller sees."""

    account: str
    roles: frozenset[str] = frozenset()
    name: str | None = None


ANONYMOUS = Caller("anonymous")


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None


# -- what a vendor may touch ------------------------------------------------------------------------
class Namespace:
    """A vendor's own part of the store: ``get("tasks", k)`` is ``store.get("<vendor>/tasks", k)``."""

    def __init__(self, store: Store, name: str) -> None:
        self._store, self._prefix = store, f"{name}/"

    def get(self, collection: str, key: str) -> dict | None:
        return self._store.get(self._prefix + collection, key)

    def put(self, collection: str, key: str, value: dict) -> None:
        self._store.put(self._prefix + collection, key, value)

    def delete(self, collection: str, key: str) -> bool:
        return self._store.delete(self._prefix + collection, key)

    def items(self, collection: str, *, limit: int | None = None, newest_first: bool = False) -> list[tuple[str, dict]]:
        return self._store.items(self._prefix + collection, limit=limit, newest_first=newest_first)

    def count(self, collection: str) -> int:
        return self._store.count(self._prefix + collection)

    def next_id(self, sequence: str, floor: int = 0) -> int:
        return self._store.next_id(self._prefix + sequence, floor)

    def get_meta(self, key: str) -> Any:
        return self._store.get_meta(self._prefix + key)

    def set_meta(self, key: str, value: Any) -> None:
        self._store.set_meta(self._prefix + key, value)

    def transaction(self) -> Any:
        return self._store.transaction()


@dataclass
class Services:
    """What a vendor may use outside of a request too (seeding): its store, the clock, the seed."""

    store: Namespace
    now: Callable[[], float]
    seed: int
    fakes: Fakes
    settings: dict = field(default_factory=dict)   # the vendor's fixtures file, as loaded

    def seed_for(self, *parts: Any) -> int:
        """A deterministic integer for ``parts`` under this run's seed."""
        return seed_for(self.seed, *parts)

    def valid_until(self, moment: float) -> None:
        """Outside a request there is no reply to keep: nothing to record."""


@dataclass
class Identity:
    """What ``identify`` sees: credentials found for the operation's security, and the raw request."""

    op: Operation
    credentials: list[Credential]
    raw: RawRequest
    services: Services

    @property
    def store(self) -> Namespace:
        return self.services.store


@dataclass
class Context:
    """One request as a handler or an access rule sees it: routed, identified and validated."""

    op: Operation
    path_params: dict[str, Any]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    caller: Caller
    raw: RawRequest
    services: Services
    query_lists: Mapping[str, list[str]] = field(default_factory=dict)
    loaded: dict[str, Any] = field(default_factory=dict)   # entities an access rule already fetched
    until: float = math.inf   # the reply holds until then, unless the store changes (see valid_until)
    _now: float | None = field(default=None, init=False, repr=False)

    @property
    def store(self) -> Namespace:
        return self.services.store

    @property
    def seed(self) -> int:
        return self.services.seed

    @property
    def fakes(self) -> Fakes:
        return self.services.fakes

    @property
    def settings(self) -> dict:
        return self.services.settings

    def now(self) -> float:
        """The virtual time of this request, read from the clock once: everything one request
        computes (a list of a hundred tasks) is at one instant, for the cost of one clock read."""
        if self._now is None:
            self._now = self.services.now()
        return self._now

    def seed_for(self, *parts: Any) -> int:
        return self.services.seed_for(*parts)

    def query_list(self, name: str) -> list[str]:
        return list(self.query_lists.get(name, []))

    def valid_until(self, moment: float) -> None:
        """Say that the reply depends on the clock up to ``moment`` (e.g. a lifecycle's
        ``Status.until``): a read answered from unchanged state before then is the same reply."""
        self.until = min(self.until, moment)


# -- the seams --------------------------------------------------------------------------------------
class Wire(Protocol):
    """A vendor's wire format. Pure: no server state, so the contract harness can use it too."""

    def decode(self, raw: RawRequest) -> Routed | None:
        """Where ``raw`` goes in the spec, or None when this is not this vendor's wire format.
        Raise ``Rejection`` for a request in this format that cannot be routed."""

    def encode(self, reply: Reply, raw: RawRequest) -> Reply:
        """A success reply as the vendor's wire sends it."""


Identify = Callable[[Identity], Caller]
Rule = Callable[[Context], None]
Handler = Callable[[Context], Reply]
ErrorStyle = Callable[[ErrorCase], "tuple[Any, str] | None"]   # (body, media type), or None: generic
Envelope = Callable[[Reply, Context], Reply]
Seeder = Callable[[Services, dict], None]   # (services, the fixtures file) -> None


@dataclass(frozen=True)
class Numbering:
    """What one store sequence hands out, for an import's check (``Vendor.sequences``): the ids in
    ``collections`` (fnmatch patterns), found ``at`` the record's key ("$key") or a field path
    (``subTasks.TaskId``: a dotted path, lists walked through). Without ``minted`` an id is the
    number itself (the sequence must be at least the largest); with it the n-th id is
    ``minted(seed, n)`` (the next ones must not be in use already)."""

    collections: str | tuple[str, ...]
    at: str = "$key"
    minted: Callable[[int, int], str] | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        return (self.collections,) if isinstance(self.collections, str) else tuple(self.collections)


def permissive(identity: Identity) -> Caller:
    """The generic rule, as Prism's: any well-formed credential of the documented kind passes."""
    return Caller("default") if identity.credentials else ANONYMOUS


def require_role(*roles: str, message: str = "Forbidden") -> Rule:
    """An access rule: the caller must hold one of ``roles``."""
    wanted = frozenset(roles)

    def rule(ctx: Context) -> None:
        if not wanted & ctx.caller.roles:
            raise Rejection("forbidden", message)

    rule.__name__ = f"require_role({', '.join(roles)})"
    return rule


class Vendor:
    """The profile of one API. Every seam is optional; what is missing is the generic engine's."""

    def __init__(self, name: str, *, servers: Iterable[str] = (), wire: Wire | None = None,
                 identify: Identify | None = None, access: Mapping[str, list[Rule]] | None = None,
                 errors: ErrorStyle | None = None, envelope: Envelope | None = None,
                 seed: Seeder | None = None, lifecycles: Mapping[str, Any] | None = None,
                 records: Mapping[str, Any] | None = None, keys: Mapping[str, str] | None = None,
                 references: Mapping[str, Mapping[str, str]] | None = None,
                 sequences: Mapping[str, str | Numbering] | None = None,
                 secrets: Mapping[str, Iterable[str]] | None = None,
                 check: Callable[[Mapping[str, dict]], None] | None = None,
                 own_validation: Iterable[str] = ()) -> None:
        self.name = name
        self.servers = list(servers)
        self.wire = wire
        self.identify: Identify = identify or permissive
        self.access = {k: list(v) for k, v in (access or {}).items()}
        self.errors = errors
        self.envelope = envelope
        self.seed = seed
        self.lifecycles = dict(lifecycles or {})
        # The data model as data, for imports and exports (``mock_server/snapshot.py``), over the
        # vendor's own collection names:
        #   records     collection pattern (fnmatch, "tasks@*") -> the JSON schema of each record
        #   keys        collection template -> key template, filled from each record's fields:
        #               {"tasks@{account}": "{id}"} files task 7 of account a as tasks@a/7, only there
        #   references  collection template -> {field path: the template of the collection that
        #               must hold its value as a key}, e.g. {"tasks@{account}": {"batchId":
        #               "batches@{account}"}}; "$key" is the record's key, a null value refers to nothing
        #   sequences   sequence -> what it numbers: a collection pattern (its integer keys) or a Numbering
        #   secrets     collection pattern -> the fields holding secrets: "$key" (the record's key is
        #               the secret) or a field path whose parts are fnmatch patterns of any case
        #               ("spec.env.*password*"), lists walked through
        self.records = dict(records or {})
        self.keys = dict(keys or {})
        self.references = {k: dict(v) for k, v in (references or {}).items()}
        self.sequences = {k: v if isinstance(v, Numbering) else Numbering(v) for k, v in (sequences or {}).items()}
        self.secrets = {k: list(v) for k, v in (secrets or {}).items()}
        # What data cannot say: ``check(collections)`` gets the vendor's own collections of an
        # import (names without the namespace prefix), after every declaration above held, and
        # raises ValueError when they do not hold together.
        self.check = check
        # operationIds whose body and query parameters Connexion only parses, never judges: the
        # vendor's server is more lenient or words its refusals its own way, so its handler decides.
        self.own_validation = frozenset(own_validation)
        self.handlers: dict[str, Handler] = {}
        self.home: Path | None = None   # the folder the module lives in (for its fixtures)

    def operation(self, operation_id: str) -> Callable[[Handler], Handler]:
        """Register the handler of one operationId."""
        def register(fn: Handler) -> Handler:
            self.handlers[operation_id] = fn
            return fn
        return register

    def rules(self, operation_id: str) -> list[Rule]:
        """The access rules of an operation, in the order they run: the vendor-wide ones first."""
        return [*self.access.get("*", []), *self.access.get(operation_id, [])]

    def __repr__(self) -> str:
        return f"Vendor({self.name!r})"


# -- discovery --------------------------------------------------------------------------------------
def _vendor_of(module: Any) -> Vendor | None:
    found = getattr(module, "vendor", None)
    if isinstance(found, Vendor):
        if found.home is None and getattr(module, "__file__", None):
            found.home = Path(module.__file__).resolve().parent
        return found
    return None


def _from_package(package: str) -> list[Vendor]:
    pkg = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        vendor = _vendor_of(importlib.import_module(f"{package}.{info.name}"))
        if vendor is not None:
            found.append(vendor)
    return found


def _from_folder(folder: Path) -> list[Vendor]:
    """Every ``*.py`` file and package in ``folder`` that exports ``vendor``."""
    folder = folder.resolve()
    tag = "mock_vendors_" + hashlib.sha256(str(folder).encode()).hexdigest()[:10]
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        target = entry / "__init__.py" if entry.is_dir() else entry
        if target.suffix != ".py" or not target.is_file():
            continue
        name = f"{tag}.{entry.stem}" if entry.is_file() else f"{tag}.{entry.name}"
        spec = importlib.util.spec_from_file_location(
            name, target, submodule_search_locations=[str(entry)] if entry.is_dir() else None)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        vendor = _vendor_of(module)
        if vendor is not None:
            found.append(vendor)
    return found


def _from_entry_points() -> list[Vendor]:
    found = []
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        loaded = point.load()
        vendor = loaded if isinstance(loaded, Vendor) else _vendor_of(loaded)
        if vendor is not None:
            found.append(vendor)
    return found


def discover(folders: Iterable[Path] = (), package: str = "mock_server.apis") -> list[Vendor]:
    """The built-in vendors, then entry points, then each ``--vendors`` folder; a later vendor of
    the same name replaces an earlier one (so a user can override a shipped profile)."""
    by_name: dict[str, Vendor] = {}
    for vendor in [*_from_package(package), *_from_entry_points(), *(v for f in folders for v in _from_folder(f))]:
        by_name[vendor.name] = vendor
    return sorted(by_name.values(), key=lambda v: v.name)
