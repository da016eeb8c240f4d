"""OpenAPI 3.0 schemas as Draft 4 JSON Schema for jsonschema-rs, never more lenient than the
Python validators they stand in front of (Connexion's for requests, openapi-core's for responses).

* ``nullable: true`` -> the type admits null;
* ``int32`` / ``int64`` -> their ranges, as an extra ``allOf`` bound (so a schema's own, possibly
  exclusive, bounds stay as written);
* requests: inline ``readOnly`` properties are not required (as ``request_validation`` judges);
* responses: ``writeOnly`` properties must be absent and are not required (as openapi-core judges).

Whatever the converted schema accepts, the Python validator accepts too; what it refuses goes to
the Python validator for the verdict and the reason.
"""

from __future__ import annotations

from typing import Any

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
REQUEST, RESPONSE = "request", "response"


def convert(node: Any, direction: str) -> Any:
    """``node`` (a schema or a whole document) converted for ``direction`` (request | response)."""
    if isinstance(node, list):
        return [convert(v, direction) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v, direction) for k, v in node.items()}
    kind = out.get("type")
    if out.get("nullable") is True and isinstance(kind, str):
        out["type"] = [kind, "null"]
    bounds = INT_RANGES.get(out.get("format")) if kind == "integer" else None
    if bounds:
        out["allOf"] = [*out.get("allOf", []), {"minimum": bounds[0], "maximum": bounds[1]}]
    props = out.get("properties")
    if isinstance(props, dict):
        if direction == RESPONSE:
            excused = [n for n, sub in props.items() if isinstance(sub, dict) and sub.get("writeOnly") is True]
            for name in excused:
                props[name] = {"not": {}}
        else:
            excused = [n for n, sub in (node.get("properties") or {}).items()
                       if isinstance(sub, dict) and sub.get("readOnly")]
        if excused and isinstance(out.get("required"), list):
            out["required"] = [r for r in out["required"] if r not in excused]
            if not out["required"]:
                del out["required"]
    return out
