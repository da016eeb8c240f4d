"""The official Drove client, ``drove-cli==0.0.14``, for tests: installed once into a venv of its own
under ``.cache/drove-cli/`` (git-ignored) and reused, then run as ``drove -e URL -u USER -p PASS ...``.

With ``-e`` the CLI never reads a config file, so runs are independent of ``~/.drove``.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from mock_server import PROJECT_ROOT

VERSION = "0.0.14"
CACHE = PROJECT_ROOT / ".cache" / "drove-cli"
VENV = CACHE / "venv"
DROVE = VENV / "bin" / "drove"
_MARKER = VENV / f".drove-cli-{VERSION}"


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def install() -> Path:
    """The ``drove`` executable, installing drove-cli the first time (safe across parallel runs)."""
    if _MARKER.exists():
        return DROVE
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _MARKER.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
            subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", f"drove-cli=={VERSION}"],
                           check=True, capture_output=True, text=True, timeout=600)
            _MARKER.touch()
    return DROVE


def run(url: str, *args: str, username: str | None = "admin", password: str | None = "admin",
        timeout: float = 60, cwd: Path | None = None) -> CliRun:
    """``drove -e URL [-u USER -p PASS] ARGS...`` -> (exit code, stdout, stderr)."""
    command = [str(install()), "-e", url]
    if username is not None:
        command += ["-u", username]
    if password is not None:
        command += ["-p", password]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env["PYTHONUNBUFFERED"] = "1"
    env["TZ"] = "UTC"   # the CLI prints dates in local time: the same output on every machine
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd or PROJECT_ROOT, stdin=subprocess.DEVNULL)
    return CliRun(done.returncode, done.stdout, done.stderr)


if __name__ == "__main__":  # python -m tests.drove_cli URL tasks list
    result = run(sys.argv[1], *sys.argv[2:])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    raise SystemExit(result.code)
