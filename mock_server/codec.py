"""JSON on the hot path: orjson where it can, the standard library where it cannot.

orjson refuses what Python's json would escape (lone surrogates a client sent, integers beyond
64 bits) and reads such integers as floats; those values still go through ``json``, both ways.
Output is compact either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# orjson reads an integer beyond 64 bits as a float, silently: such documents go to json instead.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes | str) -> Any:
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_NUMBER.search(raw):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def text(value: Any) -> str:
    return dumps(value).decode()
