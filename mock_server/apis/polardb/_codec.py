"""Byte-level helpers shared by ``wire`` and ``signature``: query parsing, RFC 3986 encoding, headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_plus

from mock_server.apis.polardb.errors import AcsError

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
FORM = "application/x-www-form-urlencoded"


def percent_encode(text: str) -> str:
    """RFC 3986: everything but ``A-Z a-z 0-9 - _ . ~`` is %XX-encoded (UTF-8), as the SDK's ``quote(safe='~')``."""
    return quote(text, safe="~", encoding="utf-8")


def parse_query(raw: bytes | str) -> list[tuple[str, str]]:
    """Every ``key=value`` pair of a query string or form body, decoded (``+`` is a space), in order."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        pairs = []
        for part in text.split("&"):
            if part:
                key, _, value = part.partition("=")
                pairs.append((unquote_plus(key, errors="strict"), unquote_plus(value, errors="strict")))
    except UnicodeDecodeError:
        raise AcsError(400, "InvalidParameter", "The request is not valid UTF-8 after URL decoding.") from None
    return pairs


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """(lower-case name, value) pairs from a mapping or from raw pairs."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(name.lower(), value) for name, value in items]


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The value of header ``name`` (lower-case); several values are joined with ``,`` like HTTP does."""
    values = [value for key, value in headers if key == name]
    return ",".join(values) if values else None
