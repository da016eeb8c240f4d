"""Where a run sends its requests: the mock this harness starts, or a base URL per API.

``--target mock`` starts ``python -m mock_server serve --port 0 --frozen-clock --strict`` and reads
its "listening on URL" line; ``--target API=URL`` points one API at a real service (each API
defaults to the ``servers`` its fragments publish, kept in ``x-apis`` of the merged spec).
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mock_server import PROJECT_ROOT

_LISTENING = re.compile(r"listening on (http://\S+)")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def is_loopback(url: str) -> bool:
    """A URL on this machine (``localhost``, 127.0.0.0/8, ::1): no one else's data can be touched."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: no HTTP proxy (loopback must stay loopback)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env.update(extra or {})
    return env


@dataclass
class MockServer:
    """A mock started for one run; ``stop()`` ends it (and only it)."""

    url: str
    proc: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_mock(*extra: str, spec: Path | None = None, timeout: float = 60) -> MockServer:
    """Start the mock on a free loopback port and wait for its "listening on" line."""
    args = [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--frozen-clock", "--strict", *extra]
    if spec is not None:
        args += ["--spec", str(spec)]
    proc = subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=clean_env())
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            output.append(line)
            match = _LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout) or not found:
        proc.kill()
        raise RuntimeError("the mock did not start:\n" + "".join(output))
    return MockServer(found[0], proc, output)
