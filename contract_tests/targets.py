"""Where a run sends its requests: the mock this harness starts, or a base URL per API.

``--target mock`` starts the mock (``mock_server.process``: ``serve --port 0 --frozen-clock
--strict``) for the run; ``--target API=URL`` points one API at a real service
(each API defaults to the ``servers`` its fragments publish, kept in ``x-apis`` of the merged spec).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from mock_server.process import Server, start


def is_loopback(url: str) -> bool:
    """A URL on this machine (``localhost``, 127.0.0.0/8, ::1): no one else's data can be touched."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_mock(*extra: str, spec: Path | None = None) -> Server:
    """The mock of a ``--target mock`` run: strict, its clock frozen at the start (requests signed
    with the wall clock, as PolarDB's are, stay within its window); ``extra`` flags come last."""
    return start("--frozen-clock", "--strict", *extra, *(("--spec", str(spec)) if spec is not None else ()))
