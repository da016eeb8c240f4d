"""What clients send, read strictly: media types (compared case-insensitively, through
``media_type`` only) and JSON (RFC 8259 and a little more): Python's ``json`` accepts
``NaN`` and ``Infinity``, turns ``1e400`` into ``inf``, lets a repeated key silently win and
recurses as deep as the input goes; here each of those is a ``ValueError`` naming what is wrong.
Every number that parses is a finite double or an integer within a double's range, so later
``float()`` calls can neither overflow nor produce a non-finite value.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INTEGER_DIGITS = 308   # a double's range: larger integers cannot become a float
DEFAULT_MAX_DEPTH = 64


def media_type(value: str) -> str:
    """The media type of a Content-Type value, lower-cased: ``Application/JSON; x=1`` -> ``application/json``."""
    return value.split(";")[0].strip().lower()


def depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` (a byte scan: no parsing, no recursion)."""
    level = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            level += 1
            deepest = max(deepest, level)
        elif byte in (0x5D, 0x7D):
            level -= 1
    return deepest


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"number out of range: {text[:40]}… ({len(text)} digits)")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:60]!r}")
        out[key] = value
    return out


def loads(text: str | bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """``json.loads``, strictly (see the module doc); ``ValueError`` says what is wrong."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") > max_depth and depth(raw) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int,
                      object_pairs_hook=_object)


class Disconnected(Exception):
    """The client went away before the end of its request body: nothing of it is acted on."""


async def read_body(receive: Any, limit: int) -> tuple[bytes, bool]:
    """The whole request body, however it was framed; (what was read, whether it was too large).
    Raises ``Disconnected`` when the body never ended (a truncated body is not a request)."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), False
