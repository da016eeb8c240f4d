"""JSON on the hot path: orjson where it can, the standard library where it cannot.

orjson refuses what Python's json would escape (lone surrogates a client sent, integers beyond
64 bits); those values still encode, through ``json``. Output is compact either way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def text(value: Any) -> str:
    return dumps(value).decode()
