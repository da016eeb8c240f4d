"""The seam between the generic engine and vendor behaviour.

A vendor module (``mock_server/apis/<api>.py``) exposes ``api = DomainAPI("<api>")`` and registers
handlers by operationId, plus optional hooks: who a credential is, how an error body looks, what
the seeded state is, how the wire format maps onto the spec. The engine discovers these modules;
it never imports one by name. Operations without a handler fall back to the generic engine.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.auth import Credential
    from mock_server.errors import Rejection
    from mock_server.runtime import Runtime
    from mock_server.spec import Operation


@dataclass
class Call:
    """One request, as a handler sees it: already routed, authenticated and validated."""

    op: Operation
    path_params: dict[str, Any]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    principal: str
    credentials: list[Credential]
    rt: Runtime


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None


Handler = Callable[[Call], Reply]


class DomainAPI:
    """Vendor behaviour for one API; every hook is optional."""

    def __init__(self, name: str, *, servers: list[str] | None = None) -> None:
        self.name = name
        self.servers = servers or []
        self.handlers: dict[str, Handler] = {}
        self.authenticate: Callable[[list[Credential], Operation, Runtime], str] | None = None
        self.error_body: Callable[[Rejection, int, Operation | None, Runtime], tuple[Any, str] | None] | None = None
        self.seed: Callable[[Runtime, dict], None] | None = None
        self.rewrite: Callable[[dict], None] | None = None

    def operation(self, operation_id: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.handlers[operation_id] = fn
            return fn
        return register

    def authenticator(self, fn: Callable) -> Callable:
        self.authenticate = fn
        return fn

    def error_renderer(self, fn: Callable) -> Callable:
        self.error_body = fn
        return fn

    def seeder(self, fn: Callable) -> Callable:
        self.seed = fn
        return fn

    def wire(self, fn: Callable[[dict], None]) -> Callable[[dict], None]:
        """Register a rewrite of the ASGI scope from the vendor's wire format onto the spec's paths."""
        self.rewrite = fn
        return fn


def discover(package: str = "mock_server.apis") -> list[DomainAPI]:
    """Every ``api`` object exported by a module of ``package``, sorted by name."""
    found = []
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        api = getattr(module, "api", None)
        if isinstance(api, DomainAPI):
            found.append(api)
    return sorted(found, key=lambda a: a.name)
