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
  creates       data: which operation's answer names what it created (``Creates``), read by
                ``created`` in the Schemathesis process (for cleanup)
  peer_headers  in the Schemathesis process: a second account's credentials for an owned read
                (``contract_tests.checks.cross_account_read``)
  undo          data: the request that undoes each kind of created resource (``Undo``), sent by
                ``cleanup`` after the run, in the harness, with ``target_headers``; what has no
                undo, or whose undo failed, is listed

A hooks module written elsewhere (e.g. a Schemathesis hooks file for one vendor) plugs in by
wrapping its functions in these seams; the harness' own hooks module (``contract_tests.hooks``)
is the only thing Schemathesis loads.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
import yaml

from mock_server import PROJECT_ROOT

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


@dataclass(frozen=True)
class Creates:
    """A 200 answer of one operation created ``kind`` resources: their ids at ``pointer`` in the
    answer's JSON (``*`` stands for every item of a list)."""

    kind: str
    pointer: str

    def ids(self, document: Any) -> list[str]:
        found = [document]
        for part in self.pointer.strip("/").split("/"):
            found = [item for node in found for item in _children(node, part)]
        return [str(value) for value in found if value not in (None, "")]


def _children(node: Any, part: str) -> list[Any]:
    if part == "*":
        return list(node) if isinstance(node, list) else []
    if isinstance(node, dict):
        return [node[part]] if part in node else []
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return [node[int(part)]]
    return []


@dataclass(frozen=True)
class Undo:
    """The request that undoes one created resource: ``METHOD path`` (``{id}`` filled in), with the
    JSON ``body(id)`` gives; an answer in ``done`` means undone (or nothing was left to undo)."""

    method: str
    path: str
    done: Collection[int]
    body: Callable[[str], dict] | None = None


@dataclass
class Adapter:
    name: str
    # env variable -> the value used against the mock (from fixtures/<api>.yaml)
    credentials: dict[str, str] = field(default_factory=dict)
    # of those, the ones a run can do without: env variable -> what is skipped when it is unset
    optional_credentials: dict[str, str] = field(default_factory=dict)
    # the Schemathesis config that uses them, with ${VAR} placeholders
    auth: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # more Schemathesis config for this API's runs (project level: each API runs in its own process)
    settings: dict[str, Any] = field(default_factory=dict)
    # examples per operation unless --max-examples says otherwise
    max_examples: int = 25
    # operationId -> what its 200 answer created; resource kind -> how to undo one
    creates: dict[str, Creates] = field(default_factory=dict)
    undo: dict[str, Undo] = field(default_factory=dict)

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

    def target_headers(self, env: Mapping[str, str]) -> dict[str, str]:
        """The headers that authenticate the harness' own requests (``prepare``, ``cleanup``)."""
        return {}

    def session(self, target: Target) -> requests.Session:
        """A session for the harness' own requests to ``target``: its credentials, no HTTP proxy."""
        session = requests.Session()
        session.trust_env = False   # loopback stays loopback
        session.headers.update(self.target_headers(target.env))
        return session

    def cleanup(self, target: Target, resources: list[Resource]) -> list[str]:
        """Send each resource's ``undo``; return a line for each thing that could not be undone."""
        left = []
        session = self.session(target)
        for resource in resources:
            undo = self.undo.get(resource.kind)
            if undo is None:
                left.append(f"{resource.kind} {resource.id}: {self.name} has no way to remove it")
                continue
            try:
                answer = session.request(undo.method, target.url + undo.path.format(id=resource.id), timeout=30,
                                         json=undo.body(resource.id) if undo.body else None)
            except requests.RequestException as exc:
                left.append(f"{resource.kind} {resource.id}: {exc.__class__.__name__}")
                continue
            if answer.status_code not in undo.done:
                left.append(f"{resource.kind} {resource.id}: {undo.method} answered {answer.status_code}")
        return left

    # -- in the Schemathesis process ----------------------------------------------------------
    def map_case(self, case: Case, data: dict) -> Case:
        return case

    def before_call(self, case: Case, data: dict) -> None:
        """Just before a case is sent (after links filled it in): complete what links cannot carry."""

    def created(self, case: Case, response: Response) -> list[Resource]:
        """What the answer to ``case`` created, as ``creates`` says."""
        creates = self.creates.get(case.operation.definition.raw.get("operationId"))
        if creates is None or response.status_code != 200:
            return []
        try:
            document = response.json()
        except ValueError:
            return []
        return [Resource(creates.kind, sid) for sid in creates.ids(document)]

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


def fixtures(api: str) -> dict:
    """The mock's seed data for ``api`` (``fixtures/<api>.yaml``): its credentials and ids."""
    path = PROJECT_ROOT / "fixtures" / f"{api}.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


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
