"""Every vendor's own Schemathesis hooks (``hooks`` in schemathesis.toml, and imported by the harness's
``contract_tests.hooks``),
``mock_server/apis/<api>/contract_hooks.py``, registered side by side (each acts on its own API's
operations only)."""

from __future__ import annotations

import importlib
from pathlib import Path

APIS = Path(__file__).resolve().parent.parent / "mock_server" / "apis"

for _found in sorted(APIS.glob("*/contract_hooks.py")):
    importlib.import_module(f"mock_server.apis.{_found.parent.name}.contract_hooks")
