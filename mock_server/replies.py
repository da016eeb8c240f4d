"""Replies on the way out: documented headers filled in, bodies encoded for their media type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server import codec
from mock_server.inputs import media_type

if TYPE_CHECKING:
    from mock_server.fakes import Fakes
    from mock_server.spec import Operation, SpecIndex

NO_BODY = (204, 304)   # HTTP forbids a body here, whatever a spec documents


def documented_headers(spec: SpecIndex, fakes: Fakes, op: Operation | None, status: int, present: dict,
                       key: Any) -> dict[str, str]:
    """Values for documented response headers a reply did not set: every required one, and every
    one the spec gives an example for (what the vendor sends, e.g. WWW-Authenticate)."""
    if op is None:
        return {}
    out = {}
    have = {h.lower() for h in present}
    for name, header in ((op.response(status) or {}).get("headers") or {}).items():
        if name.lower() in have or name.lower() == "content-type":
            continue
        header = spec.resolver.resolve(header)
        schema = spec.resolver.resolve(header.get("schema", {"type": "string"}))
        example = header.get("example", schema.get("example"))
        if example is not None:
            value = example
        elif header.get("required"):
            value = fakes.generate(schema, "header", op.id, name, key)
        else:
            continue
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def encode(body: Any, media: str | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str) and media and not media_type(media).endswith("json"):
        return body.encode()
    return codec.dumps(body)


def encode_reply(spec: SpecIndex, fakes: Fakes, op: Operation, status: int, body: Any, headers: dict[str, str],
                 media: str | None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, bytes) of a handler's reply, with the documented media type and headers."""
    if status in NO_BODY:
        return status, dict(headers), b""
    if media is None and body is not None:
        types = op.content_types(status)
        media = types[0] if types else "application/json"
    out = dict(headers)
    out.update(documented_headers(spec, fakes, op, status, out, "reply"))
    if media:
        out.setdefault("content-type", media)
    return status, out, encode(body, media)
