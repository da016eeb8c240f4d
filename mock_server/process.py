"""The mock as a child process: ``python -m mock_server serve --port 0 ...`` started on a free
loopback port, its URL read from its "listening on" line, stopped by ``stop()``. The contract
harness (``contract_tests.targets``) and the test suite (``tests/conftest.py``) both start it here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mock_server import PROJECT_ROOT

if TYPE_CHECKING:
    import httpx

# A fixed virtual start (2026-01-01T00:00:00Z) for tests: a frozen-clock server started at it gives
# the same answers whatever the day (dates, and so every lifecycle, are relative to it).
CLOCK_START = 1767225600
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_LISTENING = re.compile(r"listening on (http://\S+)")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: no HTTP proxy (loopback must stay loopback)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A started mock: its URL, its process and everything it printed."""

    url: str
    proc: subprocess.Popen
    output: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "".join(self.output)

    def client(self, **kwargs) -> httpx.Client:
        import httpx

        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default: SIGKILL, no chance to clean up) and wait for the process to end."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """End the server the polite way (SIGTERM), and kill it if it does not end within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start(*args: str, timeout: float = 60) -> Server:
    """Start ``python -m mock_server serve --port 0 ARGS`` and wait for its "listening on" line."""
    proc = subprocess.Popen([sys.executable, "-m", "mock_server", "serve", "--port", "0", *args],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
        proc.wait(timeout=30)
        raise RuntimeError("the mock did not start:\n" + "".join(output))
    return Server(found[0], proc, output)
