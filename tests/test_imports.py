"""Imports in mock_server run one way (runtime -> vendor -> store/clock/fakes): no cycle, and no
vendor detail in the engine."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mock_server import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "mock_server"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    """Every mock_server module -> the mock_server modules it imports (type-only imports included)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_the_imports_it_should():
    edges = graph()
    assert "mock_server.vendor" in edges["mock_server.runtime"]
    assert "mock_server.lifecycle" in edges["mock_server.apis.i3d"]


def test_mock_server_has_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_a_cycle_would_be_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_vendors_and_the_vendor_seam_never_import_the_runtime_or_the_app():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("mock_server.apis") or name in ("mock_server.vendor", "mock_server.lifecycle",
                                                           "mock_server.store", "mock_server.clock",
                                                           "mock_server.fakes", "mock_server.resources"):
            assert not targets & {"mock_server.runtime", "mock_server.app", "mock_server.admin"}, name


VENDOR_WORDS = re.compile(r"i3d|private-token|dev-token|drove|polardb|alibaba|x-acs|bolttech|strategy-secret",
                          re.IGNORECASE)


def test_the_engine_names_no_vendor():
    """Vendor fields, tokens and ids live in mock_server/apis/ and fixtures/, nowhere else."""
    leaks = []
    for path in PACKAGE.rglob("*"):
        if path.suffix not in (".py", ".yaml") or "apis" in path.relative_to(PACKAGE).parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if VENDOR_WORDS.search(line):
                leaks.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert not leaks, "\n".join(leaks)
