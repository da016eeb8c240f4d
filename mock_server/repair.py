"""Forgiving loading: turn a published, imperfect OpenAPI 3 document into one every consumer accepts.

``repair(doc, file)`` returns a repaired copy and one ``Problem`` per defect found (its JSON
pointer and what was done). Connexion, openapi-core and the fakes then all read the same valid
document. Only a document that is not OpenAPI 3.x is refused (``MergeError``). Each repair is a
small step in ``STEPS``, run in order; a step sees the document as the steps before left it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.merge import _MISSING as merge_missing
from mock_server.merge import HTTP_METHODS, MergeError
from mock_server.merge import _resolve_pointer as merge_resolve

# Swagger 2 put these schema keywords on the parameter itself; OpenAPI 3 wants them under `schema`.
PARAMETER_SCHEMA_KEYS = (
    "type", "format", "items", "collectionFormat", "default", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum",
    "multipleOf",
)
PARAMETER_LOCATIONS = ("query", "header", "path", "cookie")
# (style, explode) for each Swagger 2 collectionFormat; tsv has no OpenAPI 3 equivalent.
COLLECTION_FORMATS = {"csv": ("form", False), "ssv": ("spaceDelimited", False),
                      "pipes": ("pipeDelimited", False), "multi": ("form", True), "tsv": ("form", False)}
KNOWN_FORMATS = {
    "int32", "int64", "float", "double", "byte", "binary", "date", "date-time", "password", "email",
    "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference",
    "uuid", "uri-template", "json-pointer", "relative-json-pointer", "regex", "time", "duration", "char",
}
JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
TYPE_ALIASES = {"int": "integer", "long": "integer", "float": "number", "double": "number", "bool": "boolean",
                "str": "string", "dict": "object", "list": "array", "file": "string"}
SWAGGER2_SECTIONS = {"definitions": "schemas", "parameters": "parameters", "responses": "responses",
                     "securityDefinitions": "securitySchemes"}
TOP_LEVEL_KEYS = ("openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
                  "security", "tags", "externalDocs")
RESPONSE_KEY = re.compile(r"^[1-5](?:\d\d|XX)$")
DEFAULT_RESPONSE = {"description": "Default response (the document declares none)"}
DEFAULT_MEDIA = "application/json"


@dataclass(frozen=True)
class Problem:
    """One defect: where it is (a JSON pointer) and what was done about it."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"


@dataclass
class _Work:
    doc: dict
    problems: list[Problem] = field(default_factory=list)

    def report(self, parts: tuple | list, message: str) -> None:
        problem = Problem(pointer(parts), message)
        if problem not in self.problems:  # reported once, however many steps come across it
            self.problems.append(problem)


def pointer(parts: tuple | list) -> str:
    """The JSON pointer of a path of keys (``("paths", "/a")`` -> ``/paths/~1a``); ``/`` for the root."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"


_MISSING = object()


def _resolve(doc: Any, ref: Any) -> Any:
    """The node a local ``$ref`` names, else ``_MISSING`` (external, malformed or dangling)."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return _MISSING
    node = merge_resolve(doc, ref)
    return _MISSING if node is merge_missing else node


def _deref(doc: dict, node: Any) -> Any:
    for _ in range(32):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        target = _resolve(doc, node["$ref"])
        if target is _MISSING:
            return {}
        node = target
    return {}


def _operations(doc: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in (doc.get("paths") or {}).items():
        if isinstance(item, dict):
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    yield path, method, item[method]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the document as a whole ----------------------------------------------------------------------
def refuse_unless_openapi3(doc: Any, file: Path | str) -> None:
    """Raise MergeError (naming the file and why) for anything that is not an OpenAPI 3.x document."""
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}"
        raise MergeError(file, "/", f"not an OpenAPI document (the top level is {kind}, not a mapping)")
    version = doc.get("openapi")
    if version is None and "swagger" in doc:
        raise MergeError(file, "/swagger", f"a Swagger {doc['swagger']} document; only OpenAPI 3.x is served "
                         "(convert it first, e.g. with swagger2openapi)")
    if version is None:
        raise MergeError(file, "/openapi", "not an OpenAPI 3 document (no 'openapi' field)")
    if not re.match(r"^3(\.\d+)*$", str(version).split("-")[0]):
        raise MergeError(file, "/openapi", f"not an OpenAPI 3 document (openapi is {version!r})")


def _top_level(work: _Work) -> None:
    doc = work.doc
    version = str(doc["openapi"])
    wanted = version if re.match(r"^3\.[01]\.\d+(-.+)?$", version) else (
        "3.0.3" if version in ("3", "3.0") else "3.1.0")
    if wanted != doc["openapi"]:
        work.report(["openapi"], f"version {doc['openapi']!r} is not a full OpenAPI version; served as {wanted}")
        doc["openapi"] = wanted
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or "version" not in info:
        fixed = {k: v for k, v in info.items() if k != "$ref"} if isinstance(info, dict) else {}
        fixed["title"] = fixed["title"] if isinstance(fixed.get("title"), str) else "Untitled API"
        fixed["version"] = str(fixed.get("version", "0"))
        doc["info"] = fixed
        work.report(["info"], "missing or incomplete info (title and version are required); filled in")
    if not isinstance(doc["info"]["version"], str):
        doc["info"]["version"] = str(doc["info"]["version"])
    if not isinstance(doc.get("paths"), dict):
        work.report(["paths"], "missing or not a mapping; serving no paths")
        doc["paths"] = {}
    components = doc.setdefault("components", {})
    if not isinstance(components, dict):
        work.report(["components"], "not a mapping; dropped")
        components = doc["components"] = {}
    for section, target in SWAGGER2_SECTIONS.items():
        if isinstance(doc.get(section), dict):
            moved = doc.pop(section)
            if target == "securitySchemes":
                moved = {name: _security_scheme_v3(s) for name, s in moved.items()}
            into = components.setdefault(target, {})
            for name, value in moved.items():
                into.setdefault(name, value)
            old, new = f"#/{section}/", f"#/components/{target}/"
            count = _rewrite_refs(doc, old, new)
            work.report([section], f"Swagger 2 {section!r}; moved to /components/{target}"
                        + (f", {count} $ref(s) rewritten" if count else ""))
    if not doc.get("servers") and any(k in doc for k in ("host", "basePath", "schemes")):
        scheme = (doc.get("schemes") or ["https"])[0]
        url = f"{scheme}://{doc['host']}{doc.get('basePath', '')}" if doc.get("host") else doc.get("basePath", "/")
        doc["servers"] = [{"url": url}]
        work.report(["host"], f"Swagger 2 host/basePath/schemes; now servers [{url!r}]")
    for key in [k for k in doc if k not in TOP_LEVEL_KEYS and not str(k).startswith("x-")]:
        if key not in ("consumes", "produces"):  # kept until the operations have used them
            work.report([key], f"not an OpenAPI 3 field ({_short(doc[key], 30)}); dropped")
            del doc[key]


def _security_scheme_v3(scheme: Any) -> Any:
    if not isinstance(scheme, dict) or scheme.get("type") not in ("basic", "oauth2"):
        return scheme
    if scheme["type"] == "basic":
        return {"type": "http", "scheme": "basic", **({"description": scheme["description"]}
                                                      if "description" in scheme else {})}
    flow_names = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
                  "accessCode": "authorizationCode"}
    flow = {"scopes": scheme.get("scopes") or {}}
    for key in ("authorizationUrl", "tokenUrl"):
        if key in scheme:
            flow[key] = scheme[key]
    return {"type": "oauth2", "flows": {flow_names.get(scheme.get("flow"), "implicit"): flow}}


def _rewrite_refs(node: Any, old: str, new: str) -> int:
    count = 0
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(old):
            node["$ref"] = new + ref[len(old):]
            count += 1
        for key, value in node.items():
            if key != "$ref":
                count += _rewrite_refs(value, old, new)
    elif isinstance(node, list):
        count += sum(_rewrite_refs(v, old, new) for v in node)
    return count


def _string_keys(node: Any) -> Any:
    """YAML reads ``200:`` as an integer key; OpenAPI (JSON) keys are strings."""
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


PATH_ITEM_KEYS = ("$ref", "summary", "description", "servers", "parameters", *HTTP_METHODS)
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                      "securitySchemes", "links", "callbacks", "pathItems")


def _structure(work: _Work) -> None:
    """Containers of the right kind, so every later step can walk the document without guessing."""
    doc = work.doc
    for key, field_name in (("servers", "url"), ("tags", "name")):
        if key in doc and not isinstance(doc[key], list):
            work.report([key], "not a list; dropped")
            del doc[key]
        for index, entry in reversed(list(enumerate(doc.get(key) or []))):
            if not (isinstance(entry, dict) and isinstance(entry.get(field_name), str)):
                work.report([key, index], f"not a mapping with a {field_name!r}; dropped")
                del doc[key][index]
    components = doc["components"]
    for section in list(components):
        value = components[section]
        if section not in COMPONENT_SECTIONS and not section.startswith("x-"):
            work.report(["components", section], "not a components section; dropped")
            del components[section]
        elif not isinstance(value, dict) and not section.startswith("x-"):
            work.report(["components", section], "not a mapping; dropped")
            del components[section]
        elif not section.startswith("x-"):
            booleans_ok = section == "schemas" and str(doc["openapi"]).startswith("3.1")
            usable = [n for n, v in value.items() if isinstance(v, dict) or booleans_ok and isinstance(v, bool)]
            for name in [n for n in value if n not in usable]:
                work.report(["components", section, name], f"not a mapping ({_short(value[name], 30)}); dropped")
                del value[name]
    for path in [p for p, item in doc["paths"].items() if not isinstance(item, dict)]:
        work.report(("paths", path), "path item is not a mapping; dropped")
        del doc["paths"][path]
    for path, item in doc["paths"].items():
        for key in [k for k in item if k not in PATH_ITEM_KEYS and not k.startswith("x-")]:
            work.report(["paths", path, key], f"not a path item field ({_short(item[key], 30)}); dropped")
            del item[key]
        for method in [m for m in HTTP_METHODS if m in item and not isinstance(item[m], dict)]:
            work.report(["paths", path, method], f"operation is not a mapping ({_short(item[method], 30)}); dropped")
            del item[method]
    for path, method, op in _operations(doc):
        if "requestBody" in op and not isinstance(op["requestBody"], dict):
            work.report(["paths", path, method, "requestBody"], "not a mapping; dropped")
            del op["requestBody"]
    for parts, owner in _content_owners(doc):
        for key in ("content", "headers"):
            if key in owner and not (isinstance(owner[key], dict) and all(isinstance(v, dict)
                                                                          for v in owner[key].values())):
                work.report([*parts, key], f"not a mapping of {'media types' if key == 'content' else 'headers'}; "
                            "dropped")
                del owner[key]
        if "schema" in owner and not isinstance(owner["schema"], (dict, bool)):
            work.report([*parts, "schema"], f"not a schema ({_short(owner['schema'], 30)}); dropped")
            del owner["schema"]


def _content_owners(doc: dict) -> Iterator[tuple[tuple, dict]]:
    """Parameters, request bodies, responses, headers and media types: what holds content or a schema."""
    def owners(node: Any, parts: tuple) -> Iterator[tuple[tuple, dict]]:
        if not isinstance(node, dict) or "$ref" in node:
            return
        yield parts, node
        for mtype, media in _mapping(node.get("content")).items():
            if isinstance(media, dict):
                yield (*parts, "content", mtype), media
        for name, header in _mapping(node.get("headers")).items():
            yield from owners(header, (*parts, "headers", name))

    components = doc["components"]
    for section in ("parameters", "requestBodies", "responses", "headers"):
        for name, item in _mapping(components.get(section)).items():
            yield from owners(item, ("components", section, name))
    for path, item in doc["paths"].items():
        for index, param in enumerate(item.get("parameters") if isinstance(item.get("parameters"), list) else []):
            yield from owners(param, ("paths", path, "parameters", index))
    for path, method, op in _operations(doc):
        base = ("paths", path, method)
        for index, param in enumerate(op.get("parameters") if isinstance(op.get("parameters"), list) else []):
            yield from owners(param, (*base, "parameters", index))
        yield from owners(op.get("requestBody"), (*base, "requestBody"))
        for code, response in _mapping(op.get("responses")).items():
            yield from owners(response, (*base, "responses", code))


# -- references -----------------------------------------------------------------------------------
def _walk_refs(node: Any, parts: tuple) -> Iterator[tuple[tuple, dict]]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield parts, node
            return
        for key, value in node.items():
            yield from _walk_refs(value, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_refs(value, (*parts, index))


def _replacement(parts: tuple) -> tuple[Any, str]:
    """What an unusable ``$ref`` at ``parts`` becomes, by what kind of object stands there."""
    parent = parts[-2] if len(parts) >= 2 else None
    last = parts[-1] if parts else None
    if parent == "parameters":
        return _MISSING, "dropped the parameter"
    if last == "requestBody":
        return _MISSING, "dropped the request body"
    if parent in ("examples", "links", "callbacks", "securitySchemes") and "schema" not in parts:
        return _MISSING, f"dropped the {parent[:-1]}"
    if parent == "responses":
        return {"description": "Response (its $ref could not be used)"}, "replaced with a bare response"
    if parent == "requestBodies":
        return {"content": {DEFAULT_MEDIA: {"schema": {}}}}, "replaced with a request body taking any JSON"
    if parent == "headers":
        return {"schema": {}}, "replaced with a header of any value"
    return {}, "replaced with an unconstrained schema"


def _set(doc: dict, parts: tuple, value: Any) -> None:
    parent = doc
    for key in parts[:-1]:
        parent = parent[key]
    if value is _MISSING:
        if isinstance(parent, list):
            parent[parts[-1]] = _MISSING  # removed after the walk, so indexes stay valid meanwhile
        else:
            del parent[parts[-1]]
    else:
        parent[parts[-1]] = value


def _purge_missing(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = _purge_missing(value)
    elif isinstance(node, list):
        node[:] = [_purge_missing(v) for v in node if v is not _MISSING]
    return node


def _references(work: _Work) -> None:
    """Dangling, external and purely circular ``$ref``s are replaced by something neutral."""
    doc = work.doc
    dangling: dict[str, list[tuple]] = {}
    for parts, node in _walk_refs(doc, ()):
        if _resolve(doc, node["$ref"]) is _MISSING or node["$ref"] == "#/":
            dangling.setdefault(_short(node["$ref"], 200), []).append(parts)
    for ref, places in dangling.items():
        kind = "is not a local reference" if not ref.strip("'\"").startswith("#") else "does not resolve"
        for parts in places:
            _set(doc, parts, _replacement(parts)[0])
        more = f" (and {len(places) - 1} more places)" if len(places) > 1 else ""
        work.report(places[0], f"$ref {ref} {kind}; {_replacement(places[0])[1]}{more}")
    _purge_missing(doc)
    for cycle in _ref_cycles(doc):
        names = " -> ".join(pointer(p) for p in [*cycle, cycle[0]])
        for parts in cycle:
            _set(doc, parts, _replacement(parts)[0])
        work.report(cycle[0], f"circular $ref chain {names}; {_replacement(cycle[0])[1]}")
    _purge_missing(doc)


def _ref_cycles(doc: dict) -> list[list[tuple]]:
    """Chains of nodes that are nothing but a ``$ref`` and lead back to themselves."""
    cycles, seen_members = [], set()
    for parts, node in _walk_refs(doc, ()):
        chain = [parts]
        target_ref = node["$ref"]
        while True:
            target_parts = _parts_of(doc, target_ref)
            if target_parts in chain:
                cycle = chain[chain.index(target_parts):]
                if not seen_members & set(cycle):
                    cycles.append(cycle)
                    seen_members.update(cycle)
                break
            target = _resolve(doc, target_ref)
            if not (isinstance(target, dict) and "$ref" in target) or len(chain) > 64:
                break
            chain.append(target_parts)
            target_ref = target["$ref"]
    return cycles


def _parts_of(doc: dict, ref: str) -> tuple:
    """The path of keys (list positions as ints) a resolvable local ``$ref`` names."""
    out: list = []
    node: Any = doc
    for raw in ref[2:].split("/"):
        key: Any = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            key = int(key)
        out.append(key)
        node = node[key]
    return tuple(out)


# -- parameters, request bodies, media types ------------------------------------------------------
def _schema_from_leftovers(param: dict) -> tuple[dict, list[str]]:
    """Move Swagger 2 schema keywords off a parameter (or header) into its ``schema``."""
    moved = [k for k in PARAMETER_SCHEMA_KEYS if k in param]
    schema = dict(param.get("schema") or {}) if isinstance(param.get("schema"), dict) else {}
    for key in moved:
        value = param.pop(key)
        if key != "collectionFormat":
            schema.setdefault(key, value)
    _swagger2_schema(schema)
    return schema, moved


def _swagger2_schema(schema: dict) -> None:
    """Swagger 2 parameter ``items`` may nest collectionFormat; ``type: file`` is a binary string."""
    schema.pop("collectionFormat", None)
    if schema.get("type") == "file":
        schema["type"], schema["format"] = "string", "binary"
    if isinstance(schema.get("items"), dict):
        schema["items"] = dict(schema["items"])
        _swagger2_schema(schema["items"])


def _fix_parameter(work: _Work, param: dict, parts: tuple) -> dict | None:
    """A usable OpenAPI 3 parameter (a fixed copy), or None when it must be dropped."""
    param = dict(param)
    name, where = param.get("name"), param.get("in")
    if not isinstance(name, str) or where not in PARAMETER_LOCATIONS:
        work.report(parts, f"parameter without a usable name/in (name {_short(name)}, in {_short(where)}); dropped")
        return None
    notes = []
    if any(k in param for k in PARAMETER_SCHEMA_KEYS):
        collection = param.get("collectionFormat")
        schema, moved = _schema_from_leftovers(param)
        param["schema"] = schema
        if collection is not None:
            style, explode = COLLECTION_FORMATS.get(collection, ("form", False))
            if where in ("path", "header"):
                style = "simple"
            param["style"], param["explode"] = style, explode
            notes.append(f"collectionFormat {collection} -> style {style}, explode {str(explode).lower()}")
        work.report(parts, f"Swagger 2 parameter fields {', '.join(moved)}; moved into schema"
                    + (f" ({'; '.join(notes)})" if notes else ""))
    if "schema" not in param and "content" not in param:
        param["schema"] = {"type": "string"}
        work.report(parts, f"parameter {name!r} has no schema; served as a string")
    if where == "path" and param.get("required") is not True:
        param["required"] = True
        work.report([*parts, "required"], f"path parameter {name!r} is not required: true; made required")
    return param


def _body_from(params: list[dict], media: list[str], form: bool) -> dict:
    if not form:
        param = params[0]
        schema = param.get("schema") if isinstance(param.get("schema"), dict) else {}
        body = {"content": {m: {"schema": copy.deepcopy(schema)} for m in media or [DEFAULT_MEDIA]}}
        if param.get("description"):
            body["description"] = param["description"]
        if param.get("required"):
            body["required"] = True
        return body
    properties, required = {}, []
    for param in params:
        schema, _ = _schema_from_leftovers(dict(param))
        if param.get("description"):
            schema.setdefault("description", param["description"])
        properties[param["name"]] = schema or {"type": "string"}
        if param.get("required"):
            required.append(param["name"])
    has_file = any(p.get("type") == "file" for p in params)
    media = [m for m in media if isinstance(m, str)]
    forms = [m for m in media if m in ("multipart/form-data", "application/x-www-form-urlencoded")]
    forms = forms or (["multipart/form-data"] if has_file else ["application/x-www-form-urlencoded"])
    schema = {"type": "object", "properties": properties, **({"required": required} if required else {})}
    return {"content": {m: {"schema": copy.deepcopy(schema)} for m in forms},
            **({"required": True} if required else {})}


def _media(node: dict, key: str, defaults: Any) -> list[str]:
    value = node.get(key, defaults)
    return [m for m in value if isinstance(m, str)] if isinstance(value, list) else []


def _parameters(work: _Work) -> None:
    """Swagger 2 parameters (body, formData, schema keywords on the parameter) become OpenAPI 3."""
    doc = work.doc
    consumes_default = _media(doc, "consumes", [])
    components = doc["components"].get("parameters")
    if isinstance(components, dict):
        for name in list(components):
            param = components[name]
            if isinstance(param, dict) and param.get("in") in ("body", "formData"):
                continue  # inlined where it is used, then dropped below
            if isinstance(param, dict) and "$ref" not in param:
                fixed = _fix_parameter(work, param, ("components", "parameters", name))
                if fixed is None:
                    del components[name]
                else:
                    components[name] = fixed
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        shared_bodies = _fix_parameter_list(work, item, ("paths", path))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            consumes = _media(op, "consumes", consumes_default)
            bodies = _fix_parameter_list(work, op, ("paths", path, method))
            for kind, params, parts in [*shared_bodies, *bodies]:
                if "requestBody" in op:
                    work.report(parts, f"Swagger 2 'in: {kind}' parameter next to a requestBody; dropped")
                    continue
                op["requestBody"] = _body_from(params, consumes, form=kind == "formData")
                names = ", ".join(repr(p.get("name")) for p in params)
                names = f"parameters {names}" if len(params) > 1 else f"parameter {names}"
                media = ", ".join(op["requestBody"]["content"])
                work.report(parts, f"Swagger 2 'in: {kind}' {names}; now the requestBody ({media})")
            if "consumes" in op:
                op.pop("consumes")
                work.report(("paths", path, method, "consumes"),
                            "Swagger 2 'consumes' on an operation; used for the request body's media types, removed")
    if isinstance(components, dict):
        for name in [n for n, p in components.items() if isinstance(p, dict) and p.get("in") in ("body", "formData")]:
            del components[name]
            work.report(("components", "parameters", name),
                        "Swagger 2 body/formData parameter component; inlined where used, removed")
        if not components:
            del doc["components"]["parameters"]


def _fix_parameter_list(work: _Work, owner: dict, base: tuple) -> list[tuple[str, list[dict], tuple]]:
    """Fix ``owner['parameters']`` in place; return the body/formData parameters taken out of it."""
    raw = owner.get("parameters")
    if raw is None:
        return []
    if not isinstance(raw, list):
        work.report((*base, "parameters"), "parameters is not a list; dropped")
        del owner["parameters"]
        return []
    kept, seen = [], set()
    body: list[tuple[str, list[dict], tuple]] = []
    form: list[dict] = []
    form_parts: tuple | None = None
    for index, param in enumerate(raw):
        parts = (*base, "parameters", index)
        resolved = _deref(work.doc, param) if isinstance(param, dict) else None
        if not isinstance(resolved, dict):
            work.report(parts, "parameter is not a mapping; dropped")
            continue
        if resolved.get("in") == "body" and isinstance(resolved.get("name", ""), str):
            body.append(("body", [resolved], parts))
            continue
        if resolved.get("in") == "formData" and isinstance(resolved.get("name"), str):
            form.append(resolved)
            form_parts = form_parts or parts
            continue
        if "$ref" not in param:
            param = _fix_parameter(work, param, parts)
            if param is None:
                continue
        key = (resolved.get("in"), resolved.get("name"))
        if key in seen:
            work.report(parts, f"duplicate parameter {key[1]!r} in {key[0]}; dropped (the first one is kept)")
            continue
        seen.add(key)
        kept.append(param)
    for _kind, extra, parts in body[1:]:
        work.report(parts, f"a second Swagger 2 'in: body' parameter {extra[0].get('name')!r}; dropped")
    owner["parameters"] = kept
    found = body[:1]
    if form:
        found.append(("formData", form, form_parts))
    return found


def _request_bodies(work: _Work) -> None:
    for path, method, op in _operations(work.doc):
        body = op.get("requestBody")
        if isinstance(body, dict) and "$ref" not in body and not isinstance(body.get("content"), dict):
            body["content"] = {DEFAULT_MEDIA: {"schema": {}}}
            work.report(("paths", path, method, "requestBody"), "request body without content; takes any JSON")


# -- path templates -------------------------------------------------------------------------------
def template_names(path: str) -> list[str]:
    """The variables of a path template, in order: ``/a/{x}/b/{y}`` -> ``["x", "y"]``."""
    return re.findall(r"\{([^}/]+)\}", path)


def undeclared_path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": "Not declared by the spec; served as a plain string."}


def _path_params(doc: dict, params: list) -> list[tuple[int, str]]:
    out = []
    for index, param in enumerate(params):
        resolved = _deref(doc, param)
        if isinstance(resolved, dict) and resolved.get("in") == "path":
            out.append((index, resolved.get("name")))
    return out


def _rename(doc: dict, params: list, index: int, name: str) -> None:
    params[index] = {**copy.deepcopy(_deref(doc, params[index])), "name": name}


def _path_templates(work: _Work) -> None:
    """Every template variable declared exactly once; a misnamed declaration takes the template's name."""
    doc = work.doc
    for path in list(doc["paths"]):
        if not str(path).startswith("/"):
            fixed = "/" + str(path)
            work.report(("paths", path), f"path does not start with '/'; served as {fixed!r}")
            doc["paths"][fixed] = doc["paths"].pop(path)
    for path, item in doc["paths"].items():
        names = list(dict.fromkeys(template_names(path)))
        methods = [m for m in HTTP_METHODS if isinstance(item.get(m), dict)]
        shared = item.get("parameters") or []
        declared_everywhere = {n for n in names if methods and all(
            n in [nm for _, nm in _path_params(doc, item[m].get("parameters") or [])] for m in methods)}
        _match_names(work, ("paths", path), shared, names, exclude=declared_everywhere, add=False)
        shared_names = {n for _, n in _path_params(doc, shared)}
        for method in methods:
            op = item[method]
            own = op["parameters"] = op.get("parameters") or []
            _match_names(work, ("paths", path, method), own, names, exclude=shared_names, add=True)
            if not own:
                del op["parameters"]
        if "parameters" in item and not item["parameters"]:
            del item["parameters"]


def _match_names(work: _Work, base: tuple, params: list, names: list[str], exclude: set, add: bool) -> None:
    doc = work.doc
    declared = _path_params(doc, params)
    stray = [(i, n) for i, n in declared if n not in names]
    missing = [n for n in names if n not in exclude and n not in {nm for _, nm in declared}]
    for (index, old), new in zip(stray, missing, strict=False):
        _rename(doc, params, index, new)
        work.report((*base, "parameters", index, "name"),
                    f"path parameter {old!r} is not in the template; renamed {new!r}")
    for index, old in stray[len(missing):]:
        params[index] = _MISSING
        work.report((*base, "parameters", index), f"path parameter {old!r} is not in the template; dropped")
    params[:] = [p for p in params if p is not _MISSING]
    if add:
        for new in missing[len(stray):]:
            params.append(undeclared_path_param(new))
            work.report((*base, "parameters"), f"path parameter {new!r} is not declared; declared as a string")


# -- operations and responses ---------------------------------------------------------------------
def _operation_ids(work: _Work) -> None:
    seen: dict[str, str] = {}
    taken = {op.get("operationId") for _, _, op in _operations(work.doc) if isinstance(op.get("operationId"), str)}
    for path, method, op in _operations(work.doc):
        parts = ("paths", path, method, "operationId")
        current = op.get("operationId")
        if current is not None and not isinstance(current, str):
            current = op["operationId"] = str(current) if isinstance(current, (int, float)) else None
        if current and current not in seen:
            seen[current] = f"{method.upper()} {path}"
            continue
        base = current or method + "".join(s[:1].upper() + s[1:] for s in re.split(r"[^A-Za-z0-9]+", path) if s)
        new, n = base, 2
        while new in seen or (new != current and new in taken):
            new, n = f"{base}_{n}", n + 1
        op["operationId"] = new
        seen[new] = f"{method.upper()} {path}"
        if current:
            work.report(parts, f"duplicate operationId {current!r} (also {seen[current]}); renamed {new!r}")
        else:
            work.report(parts, f"missing operationId; named {new!r}")


def _responses(work: _Work) -> None:
    produces_default = _media(work.doc, "produces", [])
    for path, method, op in _operations(work.doc):
        base = ("paths", path, method)
        produces = _media(op, "produces", produces_default)
        responses = op.get("responses")
        if not isinstance(responses, dict) or not responses:
            op["responses"] = {"default": dict(DEFAULT_RESPONSE)}
            work.report((*base, "responses"), "no responses; a default response added")
            continue
        fixed = {}
        for key, response in responses.items():
            code = _response_key(key)
            if code is None:
                work.report((*base, "responses", key), f"{key!r} is not a status code; dropped")
                continue
            if code != key:
                work.report((*base, "responses", key), f"status {key!r} written as {code!r}")
            fixed[code] = _fix_response(work, response, (*base, "responses", key), produces)
        op["responses"] = fixed or {"default": dict(DEFAULT_RESPONSE)}
        if not fixed:
            work.report((*base, "responses"), "no usable responses; a default response added")
        if "produces" in op:
            op.pop("produces")
            work.report((*base, "produces"),
                        "Swagger 2 'produces' on an operation; used for the responses' media types, removed")
    for section in ("consumes", "produces"):
        if section in work.doc:
            work.doc.pop(section)
            work.report([section], f"Swagger 2 top-level {section!r}; used as the operations' media types, removed")
    for name, response in list((work.doc["components"].get("responses") or {}).items()):
        work.doc["components"]["responses"][name] = _fix_response(
            work, response, ("components", "responses", name), produces_default)


def _response_key(key: Any) -> str | None:
    text = str(key).strip()
    if text.lower() == "default":
        return "default"
    if RESPONSE_KEY.match(text.upper()):
        return text.upper()
    found = re.match(r"^([1-5]\d\d)\b", text)
    return found.group(1) if found else None


def _fix_response(work: _Work, response: Any, parts: tuple, produces: list[str]) -> Any:
    if not isinstance(response, dict):
        work.report(parts, "response is not a mapping; a bare response used")
        return {"description": "Response"}
    if "$ref" in response:
        return response
    response = dict(response)
    if not isinstance(response.get("description"), str):
        response["description"] = str(response.get("description") or "Response")
        work.report(parts, "response without a description; one added")
    if "schema" in response:
        schema = response.pop("schema")
        examples = response.pop("examples", None) if not isinstance(response.get("content"), dict) else None
        content = response.setdefault("content", {})
        for media in produces or [DEFAULT_MEDIA]:
            entry = content.setdefault(media, {"schema": copy.deepcopy(schema)})
            if isinstance(examples, dict) and media in examples:
                entry["example"] = examples[media]
        work.report((*parts, "schema"), f"Swagger 2 'schema' on a response; now content {', '.join(content)}")
    elif isinstance(response.get("examples"), dict):
        response.pop("examples")
        work.report((*parts, "examples"), "Swagger 2 'examples' on a response; dropped")
    for name, header in list((response.get("headers") or {}).items()):
        if isinstance(header, dict) and "$ref" not in header and any(k in header for k in PARAMETER_SCHEMA_KEYS):
            header = dict(header)
            header["schema"], moved = _schema_from_leftovers(header)
            response["headers"][name] = header
            work.report((*parts, "headers", name), f"Swagger 2 header fields {', '.join(moved)}; moved into schema")
    return response


# -- schemas --------------------------------------------------------------------------------------
def _schema_roots(doc: dict) -> Iterator[tuple[tuple, dict]]:
    """Every place a schema starts: components, parameters, headers, media types."""
    components = doc.get("components") or {}
    for name, schema in _mapping(components.get("schemas")).items():
        if isinstance(schema, dict):
            yield ("components", "schemas", name), schema

    def media(owner: Any, parts: tuple) -> Iterator[tuple[tuple, dict]]:
        if not isinstance(owner, dict) or "$ref" in owner:
            return
        if isinstance(owner.get("schema"), dict):
            yield (*parts, "schema"), owner["schema"]
        for mtype, entry in _mapping(owner.get("content")).items():
            if isinstance(entry, dict) and isinstance(entry.get("schema"), dict):
                yield (*parts, "content", mtype, "schema"), entry["schema"]
        for hname, header in _mapping(owner.get("headers")).items():
            yield from media(header, (*parts, "headers", hname))

    for section in ("parameters", "requestBodies", "responses", "headers"):
        for name, item in _mapping(components.get(section)).items():
            yield from media(item, ("components", section, name))
    for path, item in doc["paths"].items():
        for index, param in enumerate(item.get("parameters") or [] if isinstance(item, dict) else []):
            yield from media(param, ("paths", path, "parameters", index))
    for path, method, op in _operations(doc):
        base = ("paths", path, method)
        for index, param in enumerate(op.get("parameters") or []):
            yield from media(param, (*base, "parameters", index))
        yield from media(op.get("requestBody"), (*base, "requestBody"))
        for code, response in _mapping(op.get("responses")).items():
            yield from media(response, (*base, "responses", code))


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _subschemas(schema: dict, parts: tuple) -> Iterator[tuple[tuple, dict]]:
    for key in ("properties", "patternProperties", "$defs"):
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                if isinstance(sub, dict):
                    yield (*parts, key, name), sub
    for key in ("items", "additionalProperties", "not", "contains", "if", "then", "else"):
        if isinstance(schema.get(key), dict):
            yield (*parts, key), schema[key]
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                if isinstance(sub, dict):
                    yield (*parts, key, index), sub


def _all_schemas(doc: dict) -> Iterator[tuple[tuple, dict]]:
    stack = list(_schema_roots(doc))[::-1]
    while stack:
        parts, schema = stack.pop()
        if "$ref" in schema:
            continue
        yield parts, schema
        stack.extend(list(_subschemas(schema, parts))[::-1])


# What each schema keyword must hold; a number written as a string ("255") is read as the number.
_COUNT = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a count")
_NUMBER = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
_FLAG = (lambda v: isinstance(v, bool), "true or false")
_TEXT = (lambda v: isinstance(v, str), "a string")
_SCHEMA = (lambda v: isinstance(v, (dict, bool)), "a schema")
KEYWORD_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **dict.fromkeys(("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"), _COUNT),
    **dict.fromkeys(("minimum", "maximum"), _NUMBER),
    "multipleOf": (lambda v: _NUMBER[0](v) and v > 0, "a number > 0"),
    **dict.fromkeys(("uniqueItems", "nullable", "readOnly", "writeOnly", "deprecated"), _FLAG),
    **dict.fromkeys(("title", "description", "format"), _TEXT),
    **dict.fromkeys(("not", "additionalProperties"), _SCHEMA),
    "items": (lambda v: isinstance(v, dict), "a schema"),
    **dict.fromkeys(("properties", "patternProperties"), (
        lambda v: isinstance(v, dict) and all(isinstance(x, (dict, bool)) for x in v.values()),
        "a mapping of schemas")),
    **dict.fromkeys(("allOf", "anyOf", "oneOf"), (
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, (dict, bool)) for x in v),
        "a list of schemas")),
    "enum": (lambda v: isinstance(v, list) and bool(v), "a non-empty list"),
    "discriminator": (lambda v: isinstance(v, dict) and isinstance(v.get("propertyName"), str),
                      "a mapping with a propertyName"),
}


def _fix_keywords(work: _Work, schema: dict, parts: tuple, v31: bool) -> None:
    bounds = _NUMBER if v31 else _FLAG
    for key in [k for k in schema if k in KEYWORD_TYPES or k in ("exclusiveMinimum", "exclusiveMaximum")]:
        check, wanted = bounds if key.startswith("exclusive") else KEYWORD_TYPES[key]
        value = schema[key]
        if check(value):
            continue
        coerced = _coerce(value)
        if coerced is not None and check(coerced):
            schema[key] = coerced
            work.report((*parts, key), f"{key} {_short(value)} should be {wanted}; read as {coerced!r}")
        else:
            del schema[key]
            work.report((*parts, key), f"{key} {_short(value, 40)} is not {wanted}; dropped")


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() and "." not in text else number
    return None


def _schemas(work: _Work) -> None:
    """Keywords no consumer can use: bad regexes, bad types, ``required`` naming absent properties."""
    doc = work.doc
    v31 = str(doc["openapi"]).startswith("3.1")
    formats: dict[str, list[tuple]] = {}
    for parts, schema in _all_schemas(doc):
        _fix_keywords(work, schema, parts, v31)
        _fix_type(work, schema, parts)
        pattern = schema.get("pattern")
        if pattern is not None:
            problem = _regex_problem(pattern)
            if problem:
                del schema["pattern"]
                work.report((*parts, "pattern"), f"invalid regex {_short(pattern)} ({problem}); dropped")
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        for name, prop in props.items():
            if isinstance(prop, dict) and isinstance(prop.get("required"), bool):
                flag = prop.pop("required")
                if flag:
                    schema["required"] = [*(schema.get("required") or []), name]
                work.report((*parts, "properties", name, "required"),
                            f"Swagger 2 style 'required: {str(flag).lower()}' on a property; "
                            + ("moved into the object's required list" if flag else "dropped"))
        _fix_required(work, schema, parts, props)
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt and fmt not in KNOWN_FORMATS and fmt not in JSON_TYPES:
            formats.setdefault(fmt, []).append((*parts, "format"))
    for fmt, places in formats.items():
        more = f" (and {len(places) - 1} more places)" if len(places) > 1 else ""
        work.report(places[0], f"unknown format {fmt!r}; kept, values are not checked against it{more}")


def _fix_type(work: _Work, schema: dict, parts: tuple) -> None:
    if "type" not in schema:
        return
    kind = schema["type"]
    if kind in JSON_TYPES or (isinstance(kind, list) and kind and all(k in JSON_TYPES for k in kind)):
        return
    alias = TYPE_ALIASES.get(str(kind).lower()) if isinstance(kind, str) else None
    if alias:
        schema["type"] = alias
        if kind == "file":
            schema.setdefault("format", "binary")
        work.report((*parts, "type"), f"type {kind!r} is not a JSON type; served as {alias!r}")
    else:
        del schema["type"]
        work.report((*parts, "type"), f"type {_short(kind)} is not a JSON type; dropped")


def _regex_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return "not a string"
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def _fix_required(work: _Work, schema: dict, parts: tuple, props: dict) -> None:
    if "required" not in schema:
        return
    required = schema["required"]
    if not isinstance(required, list) or not required or not all(isinstance(r, str) for r in required):
        del schema["required"]
        work.report((*parts, "required"), f"required {_short(required)} is not a list of names; dropped")
        return
    unique = list(dict.fromkeys(required))
    open_ended = schema.get("additionalProperties") not in (None, False) or "patternProperties" in schema
    if "properties" in schema and not open_ended and not any(k in schema for k in ("allOf", "anyOf", "oneOf")):
        absent = [r for r in unique if r not in props]
        if absent:
            unique = [r for r in unique if r in props]
            work.report((*parts, "required"), f"required names {', '.join(map(repr, absent))} that are not "
                        "among the properties; removed from required")
    if unique != required:
        if unique:
            schema["required"] = unique
        else:
            del schema["required"]
        if len(unique) == len(set(required)) and unique:
            work.report((*parts, "required"), "duplicate names in required; made unique")


# -- examples -------------------------------------------------------------------------------------
def _examples(work: _Work) -> None:
    """An example that violates its own schema is dropped (Schemathesis would send it as valid data)."""
    from jsonschema.exceptions import best_match
    from openapi_schema_validator import OAS30Validator, OAS31Validator, oas30_format_checker, oas31_format_checker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT202012

    doc = work.doc
    v31 = str(doc["openapi"]).startswith("3.1")
    cls, checker = (OAS31Validator, oas31_format_checker) if v31 else (OAS30Validator, oas30_format_checker)
    resource = Resource(contents=doc, specification=DRAFT202012 if v31 else DRAFT4)
    base = cls({}, registry=Registry().with_resource("urn:doc", resource), format_checker=checker)

    def problem(value: Any, schema_parts: tuple) -> str | None:
        validator = base.evolve(schema={"$ref": "urn:doc#" + pointer(schema_parts)})
        try:
            error = best_match(validator.iter_errors(value))
        except Exception:  # noqa: BLE001 - a schema the validator cannot even read: keep the example
            return None
        return None if error is None else error.message[:120]

    drops: list[tuple[tuple, str]] = []
    for parts, schema in _all_schemas(doc):
        if "default" in schema:
            reason = problem(schema["default"], parts)
            if reason:
                work.report((*parts, "default"), f"default does not match its schema ({reason}); dropped")
                del schema["default"]
        if "example" in schema:
            reason = problem(schema["example"], parts)
            if reason:
                drops.append(((*parts, "example"), reason))
        if isinstance(schema.get("examples"), list):
            for index, value in enumerate(schema["examples"]):
                reason = problem(value, parts)
                if reason:
                    drops.append(((*parts, "examples", index), reason))
    for parts, owner in _example_owners(doc):
        schema_parts = (*parts, "schema")
        if not isinstance(owner.get("schema"), dict):
            continue
        if "example" in owner:
            reason = problem(owner["example"], schema_parts)
            if reason:
                drops.append(((*parts, "example"), reason))
        for name, example in (owner.get("examples") or {}).items() if isinstance(owner.get("examples"), dict) else ():
            example = _deref(doc, example)
            if isinstance(example, dict) and "value" in example:
                reason = problem(example["value"], schema_parts)
                if reason:
                    drops.append(((*parts, "examples", name), reason))
    for parts, reason in sorted(drops, key=lambda d: [str(p) for p in d[0]], reverse=True):
        _set(doc, parts, _MISSING)
        work.report(parts, f"example does not match its schema ({reason}); dropped")
    _purge_missing(doc)
    for _parts, schema in _all_schemas(doc):
        if schema.get("examples") == [] and v31:
            del schema["examples"]


def _example_owners(doc: dict) -> Iterator[tuple[tuple, dict]]:
    """Parameters, headers and media types: the objects that carry ``example``/``examples``."""
    for parts, _schema in list(_schema_roots(doc)):
        if parts[-1] == "schema" and parts[:2] != ("components", "schemas"):
            owner = _resolve(doc, "#" + pointer(parts[:-1]))
            if isinstance(owner, dict):
                yield parts[:-1], owner


# -- the last word --------------------------------------------------------------------------------
def _still_invalid(work: _Work) -> None:
    """Whatever the steps above did not foresee: what the validator still rejects is not served."""
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    cls = OpenAPIV31SpecValidator if str(work.doc["openapi"]).startswith("3.1") else OpenAPIV30SpecValidator
    for _ in range(8):
        errors = list(cls(work.doc).iter_errors())
        changed = [error for error in errors if _drop_invalid(work, error)]
        if not changed:
            for error in errors:
                work.report([str(p) for p in getattr(error, "absolute_path", None) or []],
                            f"still invalid after repair: {_validator_message(error)}")
            return
        _references(work)  # what pointed at something dropped


def _drop_invalid(work: _Work, error: Any) -> bool:
    """Drop the smallest servable unit holding ``error``: unknown fields, an operation, a component."""
    doc = work.doc
    parts = [str(p) for p in getattr(error, "absolute_path", None) or []]
    node = _resolve(doc, "#" + pointer(parts)) if parts else doc
    found = re.search(r"\((.*)(?:was|were) unexpected\)", error.message)
    unexpected = re.findall(r"'([^']+)'", found.group(1)) if found else []
    if unexpected and isinstance(node, dict) and any(k in node for k in unexpected):
        for key in [k for k in unexpected if k in node]:
            del node[key]
        work.report(parts, f"fields {', '.join(map(repr, unexpected))} are not allowed here; dropped")
        return True
    reason = _validator_message(error)
    if len(parts) >= 3 and parts[0] == "paths" and parts[2] in HTTP_METHODS:
        if isinstance(doc["paths"].get(parts[1]), dict) and doc["paths"][parts[1]].pop(parts[2], None) is not None:
            work.report(parts[:3], f"still invalid after repair ({reason}); operation not served")
            return True
    elif len(parts) >= 3 and parts[0] == "paths":
        if isinstance(doc["paths"].get(parts[1]), dict) and doc["paths"][parts[1]].pop(parts[2], None) is not None:
            work.report(parts[:3], f"still invalid after repair ({reason}); dropped")
            return True
    elif len(parts) >= 2 and parts[0] == "components":
        section = doc["components"].get(parts[1])
        name = parts[2] if len(parts) >= 3 else None
        if name is not None and isinstance(section, dict) and section.pop(name, None) is not None:
            work.report(parts[:3], f"still invalid after repair ({reason}); dropped")
            return True
        if name is None and doc["components"].pop(parts[1], None) is not None:
            work.report(parts[:2], f"still invalid after repair ({reason}); dropped")
            return True
    elif len(parts) == 1 and parts[0] in ("servers", "tags", "externalDocs", "security", "webhooks") \
            and doc.pop(parts[0], None) is not None:
        work.report(parts, f"still invalid after repair ({reason}); dropped")
        return True
    return False


def _validator_message(error: Any) -> str:
    """The validator's reason in one short line (without the offending value, which can be long)."""
    text = " ".join(str(error.message).split("\n\n")[0].split())
    if " is not valid under " in text:
        text = "not valid under " + text.split(" is not valid under ", 1)[1]
    return text if len(text) <= 150 else text[:147] + "..."


def _security(work: _Work) -> None:
    """A security requirement naming a scheme the document does not define cannot be checked."""
    doc = work.doc
    schemes = (doc["components"].get("securitySchemes") or {}) if isinstance(doc.get("components"), dict) else {}
    owners = [((), doc)] + [(("paths", path, method), op) for path, method, op in _operations(doc)]
    for base, owner in owners:
        requirements = owner.get("security")
        if not isinstance(requirements, list):
            continue
        for index, requirement in enumerate(requirements):
            if not isinstance(requirement, dict):
                continue
            for name in [n for n in requirement if n not in schemes]:
                del requirement[name]
                work.report((*base, "security", index, name),
                            f"security scheme {name!r} is not defined; that requirement is not checked")


Step = Callable[[_Work], None]
STEPS: tuple[Step, ...] = (
    _top_level, _structure, _references, _parameters, _request_bodies, _path_templates, _operation_ids, _responses,
    _security, _schemas, _examples, _still_invalid,
)


def repair(doc: Any, file: Path | str) -> tuple[dict, list[Problem]]:
    """A repaired copy of ``doc`` and the problems found; raise MergeError if it is not OpenAPI 3.x."""
    refuse_unless_openapi3(doc, file)
    step: Step = _string_keys
    try:
        work = _Work(_string_keys(doc))
        for step in STEPS:
            step(work)
    except RecursionError:
        raise MergeError(file, "/", "nested too deeply to repair (recursive YAML aliases?)") from None
    except Exception as exc:  # noqa: BLE001 - one line naming the file beats a traceback at start-up
        raise MergeError(file, "/", f"could not repair it ({step.__name__}: {type(exc).__name__}: {exc}); "
                         "please report this") from exc
    if not work.doc["components"] and "components" not in doc:
        del work.doc["components"]
    return work.doc, work.problems
