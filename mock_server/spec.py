"""Load the spec(s) to serve and index their operations: routing, security, documented responses.

Several ``--spec`` files are merged with the same rules as ``mock-server merge``; each operation
keeps (or gets) an ``x-api`` name, which decides its vendor profile (auth, error body, handlers).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server import merge, repair
from mock_server.fakes import Resolver
from mock_server.inputs import media_type

log = logging.getLogger("mock_server.repair")

SUCCESS_ORDER = (200, 201, 202, 204, 203, 206, 207, 208, 226, 205, 301, 302, 303, 307, 308)


@dataclass
class Operation:
    id: str
    method: str
    path: str
    api: str
    raw: dict
    parameters: list[dict]
    security: list[dict]
    responses: dict[str, dict]
    request_body: dict | None

    def documented(self, status: int) -> bool:
        """Documented by its code, its range (``2XX``) or the operation's ``default`` response."""
        return self.response(status) is not None

    def response(self, status: int) -> dict | None:
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return self.responses[key]
        return None

    def success_status(self, prefer: Iterable[int] = SUCCESS_ORDER) -> int:
        for status in prefer:
            if self.documented(status):
                return status
        codes = sorted(int(s) for s in self.responses if s.isdigit())
        return next((c for c in codes if c < 400), 200)

    def content_types(self, status: int) -> list[str]:
        return list((self.response(status) or {}).get("content") or {})

    def json_schema(self, status: int) -> Any:
        """The JSON schema documented for ``status`` (application/json or any +json type)."""
        content = (self.response(status) or {}).get("content") or {}
        for media, body in content.items():
            if media_type(media) == "application/json" or media_type(media).endswith("+json"):
                return body.get("schema", {})
        return None

    def client_errors(self) -> list[int]:
        return sorted(int(s) for s in self.responses if s.isdigit() and 400 <= int(s) < 500)


def _compile(template: str) -> tuple[re.Pattern, int]:
    pattern, literals = "", 0
    for part in re.split(r"(\{[^}/]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            pattern += f"(?P<{_group(part[1:-1])}>[^/]+)"
        elif part:
            pattern += re.escape(part)
            literals += part.count("/") + 1
    return re.compile(f"^{pattern}/?\\Z"), literals


template_params = repair.template_names
undeclared_path_param = repair.undeclared_path_param


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", lambda m: f"_{ord(m.group()):x}_", name)


class SpecIndex:
    """Every operation of the served document, by id and by path, with refs resolved."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self.resolver = Resolver(doc)
        self.operations: dict[str, Operation] = {}
        self.by_path: dict[str, dict[str, Operation]] = {}
        self.apis: dict[str, dict] = doc.get("x-apis") or {}
        for path, item in (doc.get("paths") or {}).items():
            item = self.resolver.resolve(item)
            shared = item.get("parameters") or []
            for method, raw in item.items():
                if method not in merge.HTTP_METHODS:
                    continue
                op = self._operation(path, method, raw, shared)
                self.operations[op.id] = op
                self.by_path.setdefault(path, {})[method] = op
        self._routes = sorted(
            ((ops, *_compile(path)) for path, ops in self.by_path.items()),
            key=lambda entry: -entry[2],
        )

    def _operation(self, path: str, method: str, raw: dict, shared: list) -> Operation:
        # The document is repaired (spec.read): each template variable is declared exactly once.
        params: dict[tuple[str, str], dict] = {}
        for p in [*shared, *(raw.get("parameters") or [])]:
            p = self.resolver.resolve(p)
            params[(p.get("in"), p.get("name"))] = p
        security = raw.get("security", self.doc.get("security", []))
        body = self.resolver.resolve(raw["requestBody"]) if "requestBody" in raw else None
        responses = {str(s): self.resolver.resolve(r) for s, r in (raw.get("responses") or {}).items()}
        return Operation(
            id=raw.get("operationId") or f"{method.upper()} {path}",
            method=method, path=path, api=raw.get("x-api", "default"), raw=raw,
            parameters=list(params.values()), security=security or [], responses=responses,
            request_body=body,
        )

    def match(self, path: str) -> tuple[dict[str, Operation], dict[str, str]] | None:
        """The operations of the most specific path template matching ``path``, with its params."""
        for ops, regex, _ in self._routes:
            found = regex.match(path)
            if found:
                names = {_group(n): n for n in template_params(next(iter(ops.values())).path)}
                return ops, {names[k]: v for k, v in found.groupdict().items()}
        return None

    def api_for_path(self, path: str) -> str:
        """The API owning the longest path prefix shared with ``path`` (for unknown paths)."""
        best, best_len = "default", -1
        for template, ops in self.by_path.items():
            prefix = template.split("{")[0]
            common = len(_common_prefix(prefix, path))
            if common > best_len:
                best, best_len = next(iter(ops.values())).api, common
        return best

    def security_scheme(self, name: str) -> dict:
        return self.resolver.resolve((self.doc.get("components") or {}).get("securitySchemes", {}).get(name, {}))


def as_openapi_30(doc: dict) -> dict:
    """An OpenAPI 3.0 rendering of a 3.1 document, for Connexion 3 (which validates and serves 3.0
    only). Schemas keep their meaning: ``type: [T, "null"]`` -> ``nullable``, numeric
    ``exclusiveMinimum/Maximum`` -> the 3.0 boolean form, ``const`` -> a one-value ``enum``.
    Responses are still checked against the original document by openapi-core."""
    if not str(doc.get("openapi", "")).startswith("3.1"):
        return doc

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items() if k not in ("$schema", "$id", "webhooks")}
        kinds = out.get("type")
        if isinstance(kinds, list):
            real = [k for k in kinds if k != "null"]
            if "null" in kinds:
                out["nullable"] = True
            if len(real) == 1:
                out["type"] = real[0]
            else:
                del out["type"]
                if len(real) > 1:
                    out["anyOf"] = [{"type": k} for k in real]
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            value = out.get(exclusive)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[bound], out[exclusive] = value, True
        if "const" in out:
            out["enum"] = [out.pop("const")]
        if isinstance(out.get("examples"), list):
            examples = out.pop("examples")
            if examples:
                out.setdefault("example", examples[0])
        return out

    converted = walk(doc)
    converted["openapi"] = "3.0.3"
    return converted


def _common_prefix(a: str, b: str) -> str:
    segments = []
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        segments.append(x)
    return "/".join(segments)


def _api_name(doc: dict, file: Path, known: dict[str, list[str]]) -> str:
    hosts = {s.get("url", "").rstrip("/") for s in doc.get("servers") or []}
    for name, urls in known.items():
        if hosts & {u.rstrip("/") for u in urls}:
            return name
    return re.sub(r"[^a-z0-9]+", "_", file.stem.lower()).strip("_") or "default"


Report = Callable[[Path, repair.Problem], None]


def _log_problem(file: Path, problem: repair.Problem) -> None:
    log.warning("%s: %s", file, problem)


def read(file: Path, report: Report = _log_problem) -> dict:
    """One spec file, parsed and repaired (mock_server/repair.py), each problem reported once.

    Raise MergeError, naming the file and the reason, when it cannot be parsed or is not OpenAPI 3.x.
    """
    if file.suffix.lower() not in merge.FRAGMENT_SUFFIXES:
        raise merge.MergeError(file, "", f"unknown extension {file.suffix or '(none)'!r}; "
                               "a spec is .json, .yaml or .yml")
    if not file.is_file():
        raise merge.MergeError(file, "", "no such file" if not file.exists() else "not a file")
    doc, problems = repair.repair(merge.load_document(file), file)
    for problem in problems:
        report(file, problem)
    return doc


def load(files: list[Path], known_servers: dict[str, list[str]] | None = None,
         report: Report = _log_problem) -> dict:
    """Read the spec files to serve and return one document where every operation has ``x-api``.

    Every file is repaired first (``read``). A merged document (one with ``x-apis``) is used as is.
    Any other OpenAPI 3.0/3.1 document is taken whole, its API named after a known vendor whose
    servers it shares, else its file name.
    """
    docs = [(file, read(file, report)) for file in files]
    if len(docs) == 1 and "x-apis" in docs[0][1]:
        return docs[0][1]
    fragments = []
    for file, doc in docs:
        if "x-apis" in doc:
            fragments += _split_merged(file, doc)
        else:
            fragments.append(merge.Fragment(_api_name(doc, file, known_servers or {}), file, doc))
    merged = merge.merge_fragments(fragments)
    merged["openapi"] = max(str(doc.get("openapi")) for _, doc in docs)
    return merged


def _split_merged(file: Path, doc: dict) -> list[merge.Fragment]:
    """A merged document as one fragment per API, so it can be merged with other files."""
    out = []
    for api, meta in doc["x-apis"].items():
        paths = {p: {m: op for m, op in item.items() if not isinstance(op, dict) or op.get("x-api") in (api, None)}
                 for p, item in doc["paths"].items()}
        paths = {p: item for p, item in paths.items() if any(m in merge.HTTP_METHODS for m in item)}
        out.append(merge.Fragment(api, file, {**doc, "paths": paths, "servers": meta.get("servers", []),
                                              "info": {"title": meta.get("title"), "version": meta.get("version")}}))
    return out
