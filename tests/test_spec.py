"""The committed merged spec: current, valid, complete, and faithful to i3D's official document."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from mock_server import DEFAULT_SPEC, SPECS_DIR, merge

OFFICIAL_I3D = SPECS_DIR / "reference" / "i3d-odp-v3-openapi.yaml"
I3D_DOCS = SPECS_DIR / "reference" / "i3d-applicationinstancetask-docs.md"
METHODS = merge.HTTP_METHODS


@pytest.fixture(scope="module")
def merged() -> dict:
    return yaml.load(DEFAULT_SPEC.read_text(), Loader=merge._Loader)


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(node, doc, seen=()):
    """Inline every local $ref (these documents are not recursive); drop examples and links; sort `required`."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref not in seen, f"recursive $ref {ref}"
            return resolve(merge._resolve_pointer(doc, ref), doc, (*seen, ref))
        # Examples differ by design; links are our documented addition (specs/overlays/i3d-links.yaml).
        out = {k: resolve(v, doc, seen) for k, v in node.items() if k not in ("example", "examples", "links")}
        if isinstance(out.get("required"), list):  # a set in JSON Schema: order carries no meaning
            out["required"] = sorted(out["required"])
        return out
    if isinstance(node, list):
        return [resolve(v, doc, seen) for v in node]
    return node


def contract(op: dict, doc: dict) -> dict:
    """What must match between two descriptions of one operation."""
    params = {(p["in"], p["name"]): {"required": p.get("required", False), "schema": p.get("schema")}
              for p in resolve(op.get("parameters", []), doc)}
    return {
        "operationId": op.get("operationId"),
        "parameters": params,
        "requestBody": resolve(op.get("requestBody"), doc),
        "responses": {status: resolve(r, doc) for status, r in op["responses"].items()},
    }


def test_committed_merged_spec_is_current():
    code, message = merge.run(SPECS_DIR, DEFAULT_SPEC, check=True)
    assert code == 0, message


def test_merged_spec_validates(merged):
    merge.validate_document(merged, DEFAULT_SPEC)


def test_each_api_has_its_operations_servers_and_name(merged):
    per_api = Counter(op["x-api"] for _, _, op in operations(merged))
    assert per_api["i3d"] == 8
    assert per_api["polardb"] >= 3
    assert per_api["drove"] >= 6
    assert per_api["bolttech"] >= 10
    for api in per_api:
        assert merged["x-apis"][api]["servers"], f"{api} lost its real servers"
    for path, method, op in operations(merged):
        assert op.get("tags"), f"{method.upper()} {path} has no tags"


def test_i3d_fragments_are_the_published_ones_verbatim():
    import re

    published = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", I3D_DOCS.read_text(), re.S)]
    files = sorted((SPECS_DIR / "fragments" / "i3d").glob("*.json"))
    assert len(files) == len(published) == 8
    ours = sorted((json.loads(f.read_text()) for f in files), key=merge.canonical)
    assert ours == sorted(published, key=merge.canonical)


def test_i3d_operations_match_the_official_spec(merged):
    official = yaml.load(OFFICIAL_I3D.read_text(), Loader=merge._Loader)
    official_ops = {(path, method): op for path, method, op in operations(official)}
    ours = [(path, method, op) for path, method, op in operations(merged) if op["x-api"] == "i3d"]
    assert len(ours) == 8
    for path, method, op in ours:
        assert (path, method) in official_ops, f"{method.upper()} {path} is not in the official spec"
        assert contract(op, merged) == contract(official_ops[(path, method)], official), (
            f"{method.upper()} {path} differs from the official spec")


def test_i3d_non_standard_formats_are_kept_as_published(merged):
    response = merged["paths"]["/v3/applicationInstance/task"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["items"]["$ref"]
    task_status = merge._resolve_pointer(merged, ref)["properties"]
    assert task_status["id"]["format"] == "integer"
    assert task_status["name"]["format"] == ""


def test_polardb_actions_are_separate_operations_with_their_wire_form(merged):
    rpc = [(path, op) for path, method, op in operations(merged) if op["x-api"] == "polardb"]
    actions = {op["x-rpc"]["action"] for _, op in rpc}
    assert {"CreateBatchTask", "DescribeBatchTasks", "DescribeBatchTask"} <= actions
    for path, op in rpc:
        assert op["x-rpc"]["method"] == "POST" and op["x-rpc"]["path"] == "/"
        assert path.endswith("/" + op["x-rpc"]["action"])


def test_every_secured_operation_documents_its_auth_rejection(merged):
    for path, method, op in operations(merged):
        if op.get("security"):
            assert {"401", "403"} & set(op["responses"]), f"{method.upper()} {path} documents no auth failure"
