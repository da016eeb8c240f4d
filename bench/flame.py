"""Flame graphs of the mock under load: ``mock-server bench --flame``.

The mock (``mock-server serve``, as ``make bench`` runs it) pinned to one core, ``wrk`` on the
other at 32 connections, and py-spy (installed into this environment on first use) sampling the
server for each of the bench's three requests. Writes ``bench/flame/<request>.svg``: open one in
a browser; the width of a frame is its share of the server's time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sidebyside import SCENARIOS, WRK_SCRIPT, Target, _ensure_tools, _measure, _mock_command

OUT = Path(__file__).resolve().parent / "flame"


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        print("bench: installing py-spy (pip) for the flame graphs", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return found


def main(seconds: float = 10) -> int:
    _ensure_tools(skip_prism=True)
    spy = _py_spy()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text(WRK_SCRIPT)
        target = Target("mock", _mock_command([]))
        target.start(True)
        try:
            for scenario in SCENARIOS:
                _measure(target, scenario, 8, 2, True, script)   # warm-up
            for scenario in SCENARIOS:
                svg = OUT / (scenario.lower().replace(" ", "-") + ".svg")
                record = subprocess.Popen([spy, "record", "--pid", str(target.proc.pid), "--duration",
                                           str(round(seconds)), "--rate", "250", "--format", "flamegraph",
                                           "--output", str(svg), "--nonblocking"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                time.sleep(0.5)
                measured = _measure(target, scenario, 32, seconds + 1, True, script)
                _, err = record.communicate(timeout=seconds + 60)
                if record.returncode != 0:
                    print(f"bench: py-spy failed for {scenario}: {err.strip()[-300:]}", file=sys.stderr)
                    return 1
                print(f"{scenario}: {measured['rps']:.0f} req/s while sampled -> {svg.relative_to(OUT.parent.parent)}")
        finally:
            target.stop()
    return 0
