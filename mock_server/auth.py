"""Authentication driven by each operation's security requirements.

Finds the credentials an operation's security requirements ask for; a request with none of them
is refused here. Whether a credential is *valid* is the vendor's ``identify`` seam (vendor.py);
the generic rule, as Prism's, accepts any well-formed one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from mock_server.errors import Rejection


@dataclass(frozen=True)
class Credential:
    scheme: str          # the security scheme's name in the spec
    kind: str            # apiKey | basic | bearer | other
    value: str           # the key, the bearer token, or "user:password"


def _extract(name: str, scheme: dict, headers: Mapping[str, str], query: Mapping[str, str],
             cookies: Mapping[str, str]) -> Credential | None:
    kind = scheme.get("type")
    if kind == "apiKey":
        where = {"header": headers, "query": query, "cookie": cookies}.get(scheme.get("in", "header"), {})
        key = scheme.get("name", "")
        value = where.get(key.lower() if scheme.get("in", "header") == "header" else key, "")
        return Credential(name, "apiKey", value) if value.strip() else None
    header = headers.get("authorization", "")
    label, _, value = header.partition(" ")
    value = value.strip()
    if kind == "http" and scheme.get("scheme", "").lower() == "basic":
        if label.lower() != "basic" or not value:
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credential(name, "basic", decoded) if ":" in decoded else None
    if kind in ("oauth2", "openIdConnect") or (kind == "http" and scheme.get("scheme", "").lower() == "bearer"):
        return Credential(name, "bearer", value) if label.lower() == "bearer" and value else None
    if kind == "http":
        expected = scheme.get("scheme", "").lower()
        return Credential(name, "other", value) if label.lower() == expected and value else None
    return Credential(name, "other", "")  # mutualTLS and unknown kinds: nothing to check here


def credentials(requirements: list[dict], schemes: Mapping[str, dict], headers: Mapping[str, str],
                query: Mapping[str, str], cookies: Mapping[str, str]) -> list[Credential]:
    """The credentials of the first requirement fully present (``[]`` if the operation is open),
    or raise ``Rejection('unauthenticated')`` when no requirement is met."""
    if not requirements:
        return []
    for requirement in requirements:
        found = [_extract(name, schemes.get(name, {}), headers, query, cookies) for name in requirement]
        if all(found):
            return [c for c in found if c is not None]
    names = " or ".join("+".join(r) or "none" for r in requirements)
    raise Rejection("unauthenticated", f"Missing or malformed credentials ({names})")
