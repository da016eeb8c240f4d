"""The words vendors describe their stored records with (``Vendor.records``, checked on every admin
import by ``snapshot.py``): small JSON Schema pieces, so a data model reads as data and every
vendor means the same by a time, a duration or a nullable field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.clock import MAX_TIME

TEXT: dict = {"type": "string"}
INTEGER: dict = {"type": "integer"}
BOOLEAN: dict = {"type": "boolean"}
OBJECT: dict = {"type": "object"}
# Unix seconds a date can show (0001-01-01 to 9999-12-31): anything else cannot be rendered.
MOMENT: dict = {"type": "number", "minimum": -62135596800, "maximum": MAX_TIME}
SECONDS: dict = {"type": "number", "minimum": 0}   # a duration


def nullable(schema: Mapping[str, Any]) -> dict:
    return {"anyOf": [dict(schema), {"type": "null"}]}


def obj(required: Mapping[str, Any], optional: Mapping[str, Any] | None = None) -> dict:
    """An object that has every field of ``required`` (and may have those of ``optional``), each
    of its schema; other fields are left alone."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def array(items: Mapping[str, Any], *, min_items: int = 0) -> dict:
    return {"type": "array", "items": dict(items), **({"minItems": min_items} if min_items else {})}


def mapping(values: Mapping[str, Any]) -> dict:
    """An object of any keys, every value of the schema ``values``."""
    return {"type": "object", "additionalProperties": dict(values)}


def one_of(*values: Any) -> dict:
    return {"enum": list(values)}
