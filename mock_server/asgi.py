"""The ASGI plumbing both front doors share (``app.py``'s pipeline and ``admin.py``'s guard): each
reads a request body whole, hands it to the app behind with headers framed to match, and sends
a whole reply (a refusal of its own, or what the app behind answered)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Receive, Send

from mock_server.inputs import media_type


def framed_headers(headers: Iterable[tuple[str, str]], body: bytes) -> list[tuple[bytes, bytes]]:
    """``headers`` (lower-case names) for a body read whole: an exact Content-Length instead of
    the request's framing, and the media type lower-cased (its parameters kept)."""
    out = []
    for name, value in headers:
        if name in ("content-length", "transfer-encoding"):
            continue
        if name == "content-type":
            _, sep, params = value.partition(";")
            value = media_type(value) + sep + params
        out.append((name.encode("latin-1"), value.encode("latin-1")))
    if body:
        out.append((b"content-length", str(len(body)).encode()))
    return out


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands over ``body`` in one message, then a disconnect."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def send_whole(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """A whole reply: ``headers`` with an exact Content-Length, then ``body``."""
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
