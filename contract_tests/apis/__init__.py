"""The per-API adapter seam of the harness: everything that differs between APIs, in one object.

An adapter module (``contract_tests/apis/<api>.py``) exports ``adapter = Adapter(...)`` (or an
instance of a subclass); ``discover()`` finds them, the runner never imports one by name. Each seam
is used in exactly one place:

  credentials   env variable names, the fixture values used against the mock, and the Schemathesis
                ``[auth]`` / ``headers`` config that reads them (``${VAR}``: no secret is ever written)
  read_only     which operations are safe on a real target (default: GET, HEAD, OPTIONS)
  prepare       before the run, in the harness: what generation needs to know (fixture ids, ...)
  map_case      in the Schemathesis process: fixture-aware values for *positive* cases only
  before_call   in the Schemathesis process: the same for what the stateful phase's links filled in
  created       in the Schemathesis process: what a response created (for cleanup)
  peer_headers  in the Schemathesis process: a second account's credentials for an owned read
                (``contract_tests.checks.cross_account_read``)
  cleanup       after the run, in the harness: undo what ``created`` recorded, say what could not be

A hooks module written elsewhere (e.g. a Schemathesis hooks file for one vendor) plugs in by
wrapping its functions in these seams; the harness' own hooks module (``contract_tests.hooks``)
is the only thing Schemathesis loads.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.core.transport import Response

SAFE_METHODS = frozenset({"get", "head", "options"})


@dataclass(frozen=True)
class Target:
    """Where one API's requests go, as the harness' own code (prepare, cleanup) sees it."""

    api: str
    url: str
    is_mock: bool           # the mock this harness started (fixtures known, state thrown away)
    env: Mapping[str, str]  # the credentials, by env variable name
    mutations: bool = False  # mutating operations run


@dataclass(frozen=True)
class Resource:
    """Something a run created on the target, as recorded for cleanup: ``kind`` + ``id``."""

    kind: str
    id: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "id": self.id}


@dataclass
class Adapter:
    name: str
    # env variable -> the value used against the mock (from fixtures/<api>.yaml)
    credentials: dict[str, str] = field(default_factory=dict)
    # the Schemathesis config that uses them, with ${VAR} placeholders
    auth: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # more Schemathesis config for this API's runs (project level: each API runs in its own process)
    settings: dict[str, Any] = field(default_factory=dict)
    # examples per operation unless --max-examples says otherwise
    max_examples: int = 25

    # -- in the harness ---------------------------------------------------------------------
    def read_only(self, method: str, operation: dict) -> bool:
        """Whether an operation changes nothing on the target (it may run against staging)."""
        return method.lower() in SAFE_METHODS

    def derived_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Env variables computed from the credentials (e.g. an encoded header), for the config."""
        return {}

    def prepare(self, target: Target) -> dict:
        """What generation needs to know about the target, as JSON (passed to ``map_case``)."""
        return {}

    def cleanup(self, target: Target, resources: list[Resource]) -> list[str]:
        """Undo what the run created; return a line for each thing that could not be undone."""
        return [f"{r.kind} {r.id}: {self.name} has no way to remove it" for r in resources]

    # -- in the Schemathesis process ----------------------------------------------------------
    def map_case(self, case: Case, data: dict) -> Case:
        return case

    def before_call(self, case: Case, data: dict) -> None:
        """Just before a case is sent (after links filled it in): complete what links cannot carry."""

    def created(self, case: Case, response: Response) -> list[Resource]:
        return []

    def peer_headers(self, case: Case) -> dict[str, str] | None:
        """For a read of an object one account owns: the headers that identify another account
        (``cross_account_read`` replays the read with them); None where there is none to ask."""
        return None


def is_positive(case: Case) -> bool:
    """A case Schemathesis expects the API to accept (fixture values may be put into it)."""
    meta = case.meta
    return meta is not None and meta.generation.mode.name == "POSITIVE"


def env_value(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def discover(package: str = "contract_tests.apis") -> dict[str, Adapter]:
    """Every adapter module in ``package``, by API name (the name of the API in the merged spec)."""
    pkg = importlib.import_module(package)
    found: dict[str, Adapter] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        adapter = getattr(importlib.import_module(f"{package}.{info.name}"), "adapter", None)
        if isinstance(adapter, Adapter):
            found[adapter.name] = adapter
    return found


def get(name: str) -> Adapter:
    """The adapter of ``name``; an API without one gets the plain default (no auth, nothing mapped)."""
    return discover().get(name) or Adapter(name)
