"""``mock-server cluster``: a private redis-server and replicas of the mock sharing it, to try by hand.

redis-server runs on a free loopback port from a temporary directory, without persistence; each
replica is ``mock-server serve --port N --state redis://127.0.0.1:PORT/0`` plus the serve flags
given. Ctrl-C, or any of them exiting, stops them all.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MISSING = ("{server} is not installed: `make redis` installs Debian's package (as root), "
           "or: sudo apt-get install redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(workdir: Path, server: str = "redis-server", timeout: float = 20) -> tuple[subprocess.Popen, int]:
    """redis-server on a free loopback port, files in ``workdir``, no persistence; (process, port)
    once it answers PING."""
    if shutil.which(server) is None:
        raise SystemExit(MISSING.format(server=server))
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir), "--logfile", "redis.log"], cwd=workdir)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = workdir / "redis.log"
            raise SystemExit("redis-server did not start:\n" + (log.read_text() if log.exists() else ""))
        time.sleep(0.05)


def stop(procs: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM each (a replica finishes its in-flight requests), then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(ports: list[int], serve_args: list[str], server: str = "redis-server") -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a supervisor: stop the children too
    with tempfile.TemporaryDirectory(prefix="mock-cluster-") as workdir:
        redis_proc, redis_port = start_redis(Path(workdir), server)
        url = f"redis://127.0.0.1:{redis_port}/0"
        replicas: list[subprocess.Popen] = []
        try:
            replicas = [subprocess.Popen([sys.executable, "-m", "mock_server", "serve", "--port", str(port),
                                          "--state", url, *serve_args]) for port in ports]
            print(f"mock-server cluster: redis-server on 127.0.0.1:{redis_port} (in {workdir}); replicas on "
                  + ", ".join(f"http://127.0.0.1:{port}" for port in ports) + f" with --state {url}; "
                  "Ctrl-C stops them all", flush=True)
            while all(proc.poll() is None for proc in [redis_proc, *replicas]):
                time.sleep(0.2)
            print("mock-server cluster: a process exited; stopping the others", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the stop short
                signal.signal(signum, signal.SIG_IGN)
            stop(replicas)
            stop([redis_proc])
