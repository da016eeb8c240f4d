"""The Schemathesis config file of one API's run: the committed ``schemathesis.toml`` plus the run's
hooks, auth and sanitization. Credentials appear only as ``${VAR}`` placeholders, which
Schemathesis resolves from the run's environment, so no secret is ever written to disk.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from contract_tests.apis import Adapter
from mock_server import PROJECT_ROOT

COMMITTED = PROJECT_ROOT / "schemathesis.toml"
HOOKS_MODULE = "contract_tests.hooks"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def build(adapter: Adapter) -> dict[str, Any]:
    config = tomllib.loads(COMMITTED.read_text()) if COMMITTED.exists() else {}
    config["hooks"] = HOOKS_MODULE
    # Every check (Schemathesis' default set leaves some out); the operations' exceptions still apply.
    config.setdefault("checks", {})["enabled"] = True
    if adapter.auth:
        config["auth"] = adapter.auth
    for key, value in adapter.settings.items():
        config[key] = _merged(config.get(key), value)
    if adapter.headers:
        config["headers"] = {**config.get("headers", {}), **adapter.headers}
    return config


def _merged(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k), v) for k, v in new.items()}}
    return new


def write(config: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(config))
    return path


# -- a small TOML writer (the stdlib reads TOML but cannot write it) -----------------------------
def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)   # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(config: dict[str, Any]) -> str:
    """Scalars and tables at the top, then arrays of tables (``[[operations]]``)."""
    lines = []
    tables = {k: v for k, v in config.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
    for key, value in config.items():
        if key not in tables:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, items in tables.items():
        for item in items:
            lines.append("")
            lines.append(f"[[{_key(key)}]]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"
