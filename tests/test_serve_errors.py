"""Bad command-line input and bad input files: one line naming the flag or file, exit 2, no traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mock_server import PROJECT_ROOT
from mock_server.__main__ import _state
from mock_server.server import InputError, check_state


def _unwritable_folder(tmp_path: Path) -> Path | None:
    """A folder this process cannot create files in (root ignores permission bits, not /sys)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder, Path("/sys")):
        try:
            (candidate / "probe").touch()
        except OSError:
            return candidate
        (candidate / "probe").unlink()
    return None


def _cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (serve arguments, what the one line must say)."""
    (tmp / "notes.txt").write_text("not a database\n" * 10)
    (tmp / "folder").mkdir()
    bad_fixtures = tmp / "bad-fixtures"
    bad_fixtures.mkdir()
    (bad_fixtures / "tasks.yaml").write_text("generate:\n  /tasks: 3\n records: [\n")
    list_fixtures = tmp / "list-fixtures"
    list_fixtures.mkdir()
    (list_fixtures / "tasks.yaml").write_text("- one\n- two\n")
    (tmp / "spec.txt").write_text("openapi: 3.0.3\n")
    cases = {
        "port-too-large": (["--port", "70000"], "argument --port: 70000 is outside 0-65535"),
        "port-negative": (["--port", "-1"], "argument --port: -1 is outside 0-65535"),
        "port-not-a-number": (["--port", "eighty"], "argument --port: 'eighty' is not a port number"),
        "state-missing-folder": (["--state", str(tmp / "nowhere" / "s.sqlite")],
                                 f"--state {tmp / 'nowhere' / 's.sqlite'}: folder {tmp / 'nowhere'} does not exist"),
        "state-is-a-folder": (["--state", str(tmp / "folder")], f"--state {tmp / 'folder'}: is a folder"),
        "state-not-sqlite": (["--state", str(tmp / "notes.txt")],
                             f"--state {tmp / 'notes.txt'}: not a SQLite database"),
        "fixtures-invalid-yaml": (["--fixtures", str(bad_fixtures)],
                                  f"--fixtures: {bad_fixtures / 'tasks.yaml'}: line 3 column 2: invalid YAML"),
        "fixtures-not-a-mapping": (["--fixtures", str(list_fixtures)],
                                   f"--fixtures: {list_fixtures / 'tasks.yaml'}: line 1: not a mapping"),
        "spec-unknown-extension": (["--spec", str(tmp / "spec.txt")],
                                   f"{tmp / 'spec.txt'}: unknown extension '.txt'; a spec is .json, .yaml or .yml"),
        "spec-missing": (["--spec", str(tmp / "gone.yaml")], f"{tmp / 'gone.yaml'}: no such file"),
    }
    unwritable = _unwritable_folder(tmp)
    if unwritable is not None:
        state = unwritable / "state.sqlite"
        cases["state-unwritable"] = (["--state", str(state)], f"--state {state}: cannot create it in {unwritable}")
    return cases


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    cases = _cases(tmp_path_factory.mktemp("inputs"))

    def serve(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", *args],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = {name: pool.submit(serve, args) for name, (args, _) in cases.items()}
        return {name: (cases[name][1], run.result()) for name, run in runs.items()}


CASES = ["port-too-large", "port-negative", "port-not-a-number", "state-missing-folder", "state-is-a-folder",
         "state-not-sqlite", "state-unwritable", "fixtures-invalid-yaml", "fixtures-not-a-mapping",
         "spec-unknown-extension", "spec-missing"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_in_one_line_naming_it(results, case):
    if case not in results:
        pytest.skip("no folder this process cannot write to")
    expected, run = results[case]
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "listening on" not in run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], f"expected one line with {expected!r}, got:\n{run.stderr}"


def test_state_check_accepts_new_empty_and_sqlite_files_and_creates_nothing(tmp_path):
    new = tmp_path / "new.sqlite"
    check_state(new)
    assert not new.exists(), "the check must leave creating the database to the store"
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    check_state(empty)
    real = tmp_path / "real.sqlite"
    sqlite3.connect(real).execute("CREATE TABLE t (x)").connection.close()
    check_state(real)
    truncated = tmp_path / "short.sqlite"
    truncated.write_bytes(b"SQLite")
    with pytest.raises(InputError, match="not a SQLite database"):
        check_state(truncated)


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://cache.example:6380/1"])
def test_redis_state_urls_are_passed_on_untouched(url):
    assert _state(url) == url and isinstance(_state(url), str)
    check_state(url)


def test_a_file_path_state_becomes_a_path():
    assert _state(os.path.join("var", "state.sqlite")) == Path("var/state.sqlite")
