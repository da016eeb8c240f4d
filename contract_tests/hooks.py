"""The Schemathesis hooks of this repository (``hooks`` in schemathesis.toml): every vendor's own,
``mock_server/apis/<api>/contract_hooks.py``, registered side by side (each acts on its own API's
operations only)."""

from __future__ import annotations

import importlib
from pathlib import Path

APIS = Path(__file__).resolve().parent.parent / "mock_server" / "apis"

for _found in sorted(APIS.glob("*/contract_hooks.py")):
    importlib.import_module(f"mock_server.apis.{_found.parent.name}.contract_hooks")
