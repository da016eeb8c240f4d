"""The fragment merge: dedupe, renames with reference rewriting, clashes, determinism, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mock_server import merge


def fragment(path: str, method: str, op_id: str, *, schemas=None, responses=None, security=None,
             schemes=None, links=None, servers=None, title="API") -> dict:
    doc = {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "servers": servers or [{"url": "https://api.example.com"}],
        "paths": {path: {method: {
            "operationId": op_id,
            "tags": ["T"],
            "responses": responses or {"200": {"description": "OK"}},
        }}},
        "components": {"schemas": schemas or {}},
    }
    if security is not None:
        doc["security"] = security
    if schemes:
        doc["components"]["securitySchemes"] = schemes
    if links:
        doc["components"]["links"] = links
    return doc


def ok_with(ref: str) -> dict:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}


def write_specs(tmp_path: Path, fragments: dict[str, dict | str]) -> Path:
    specs = tmp_path / "specs"
    for rel, doc in fragments.items():
        file = specs / "fragments" / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return specs


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server", "merge", *args],
                          capture_output=True, text=True, timeout=60)


ITEM = {"type": "object", "properties": {"id": {"type": "integer"}}}
OTHER_ITEM = {"type": "object", "properties": {"name": {"type": "string"}}}
ITEM_REF = "#/components/schemas/Item"


def test_identical_components_are_stored_once(tmp_path):
    specs = write_specs(tmp_path, {
        "a/one.json": fragment("/a", "get", "getA", schemas={"Item": ITEM}, responses=ok_with(ITEM_REF)),
        "b/two.json": fragment("/b", "get", "getB", schemas={"Item": ITEM}, responses=ok_with(ITEM_REF)),
    })
    doc = merge.build(specs)
    assert list(doc["components"]["schemas"]) == ["Item"]
    schema_b = doc["paths"]["/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema_b == {"$ref": "#/components/schemas/Item"}


def test_conflicting_component_is_renamed_with_api_prefix_and_every_reference_rewritten(tmp_path):
    def api_fragment(path, op_id, item):
        doc = fragment(
            path, "get", op_id,
            schemas={
                "Item": item,
                "Wrapper": {"type": "object", "properties": {"item": {"$ref": "#/components/schemas/Item"}},
                            "discriminator": {"propertyName": "kind", "mapping": {
                                "x": "#/components/schemas/Item", "y": "Item"}}},
            },
            responses={"200": {"description": "OK",
                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Wrapper"}}},
                               "links": {"self": {"$ref": "#/components/links/Self"}}}},
            links={"Self": {"operationId": op_id}},
            schemes={"Key": {"type": "apiKey", "in": "header", "name": f"X-{op_id}"}},
            security=[{"Key": []}],
        )
        return doc

    specs = write_specs(tmp_path, {
        "alpha/a.json": api_fragment("/a", "getA", ITEM),
        "beta/b.json": api_fragment("/b", "getB", OTHER_ITEM),
    })
    doc = merge.build(specs)
    comps = doc["components"]
    assert set(comps["schemas"]) == {"Item", "Wrapper", "beta_Item", "beta_Wrapper"}
    assert comps["schemas"]["beta_Item"] == OTHER_ITEM
    wrapper = comps["schemas"]["beta_Wrapper"]
    assert wrapper["properties"]["item"] == {"$ref": "#/components/schemas/beta_Item"}
    assert wrapper["discriminator"]["mapping"] == {"x": "#/components/schemas/beta_Item", "y": "beta_Item"}
    assert set(comps["links"]) == {"Self", "beta_Self"}
    assert set(comps["securitySchemes"]) == {"Key", "beta_Key"}
    op_b = doc["paths"]["/b"]["get"]
    response = op_b["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/beta_Wrapper"}
    assert response["links"]["self"] == {"$ref": "#/components/links/beta_Self"}
    assert op_b["security"] == [{"beta_Key": []}]
    # The first API keeps its names untouched.
    assert doc["paths"]["/a"]["get"]["security"] == [{"Key": []}]
    assert comps["schemas"]["Wrapper"]["properties"]["item"] == {"$ref": "#/components/schemas/Item"}


def test_component_differing_only_through_a_renamed_reference_is_renamed_too(tmp_path):
    # beta's Wrapper is textually identical to alpha's, but points at beta's different Item.
    wrapper = {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
    specs = write_specs(tmp_path, {
        "alpha/a.json": fragment("/a", "get", "getA", schemas={"Item": ITEM, "Wrapper": wrapper},
                                 responses=ok_with("#/components/schemas/Wrapper")),
        "beta/b.json": fragment("/b", "get", "getB", schemas={"Item": OTHER_ITEM, "Wrapper": wrapper},
                                responses=ok_with("#/components/schemas/Wrapper")),
    })
    doc = merge.build(specs)
    assert doc["components"]["schemas"]["beta_Wrapper"]["items"] == {"$ref": "#/components/schemas/beta_Item"}
    schema_b = doc["paths"]["/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema_b == {"$ref": "#/components/schemas/beta_Wrapper"}


def test_same_component_name_conflicting_within_one_api_is_an_error(tmp_path):
    specs = write_specs(tmp_path, {
        "alpha/a.json": fragment("/a", "get", "getA", schemas={"Item": ITEM}),
        "beta/b.json": fragment("/b", "get", "getB", schemas={"Item": OTHER_ITEM}),
        "beta/c.json": fragment("/c", "get", "getC", schemas={"Item": {"type": "string"}}),
    })
    with pytest.raises(merge.MergeError) as exc:
        merge.build(specs)
    assert "beta/c.json" in str(exc.value) and "beta/b.json" in str(exc.value)
    assert "/components/schemas/Item" in str(exc.value)


def test_operation_id_clash_names_both_files(tmp_path):
    specs = write_specs(tmp_path, {
        "a/one.json": fragment("/a", "get", "getThing"),
        "b/two.json": fragment("/b", "get", "getThing"),
    })
    code, message = merge.run(specs, tmp_path / "out.yaml")
    assert code == 2
    assert "a/one.json" in message and "b/two.json" in message and "getThing" in message
    assert not (tmp_path / "out.yaml").exists()


def test_identical_path_operation_is_deduplicated(tmp_path):
    same = fragment("/a", "get", "getA")
    specs = write_specs(tmp_path, {"a/one.json": same, "a/two.json": same})
    doc = merge.build(specs)
    assert list(doc["paths"]) == ["/a"]
    assert doc["paths"]["/a"]["get"]["operationId"] == "getA"


def test_conflicting_path_operation_names_both_files(tmp_path):
    specs = write_specs(tmp_path, {
        "a/one.json": fragment("/a", "get", "getA"),
        "a/two.json": fragment("/a", "get", "getA", responses={"204": {"description": "none"}}),
    })
    with pytest.raises(merge.MergeError) as exc:
        merge.build(specs)
    assert "a/two.json" in str(exc.value) and "a/one.json" in str(exc.value)
    assert "GET /a" in str(exc.value)


def test_security_is_pushed_down_and_api_name_and_servers_are_kept(tmp_path):
    schemes = {"Key": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    specs = write_specs(tmp_path, {
        "a/one.json": fragment("/a", "get", "getA", security=[{"Key": []}], schemes=schemes,
                               servers=[{"url": "https://a.example.com"}]),
        "b/two.json": fragment("/b", "get", "getB", servers=[{"url": "https://b.example.com/base"}]),
    })
    doc = merge.build(specs)
    assert "security" not in doc
    assert doc["paths"]["/a"]["get"]["security"] == [{"Key": []}]
    assert "security" not in doc["paths"]["/b"]["get"]
    assert doc["paths"]["/a"]["get"]["x-api"] == "a"
    assert doc["paths"]["/b"]["get"]["x-api"] == "b"
    assert doc["paths"]["/a"]["get"]["tags"] == ["T"]
    assert doc["x-apis"]["a"]["servers"] == [{"url": "https://a.example.com"}]
    assert doc["x-apis"]["b"]["servers"] == [{"url": "https://b.example.com/base"}]


def test_output_is_deterministic_byte_for_byte(tmp_path):
    specs = write_specs(tmp_path, {
        "b/z.json": fragment("/z", "get", "getZ", schemas={"Z": ITEM}),
        "a/y.json": fragment("/y", "post", "postY", schemas={"Y": OTHER_ITEM}),
    })
    out = tmp_path / "openapi.yaml"
    assert merge.run(specs, out)[0] == 0
    first = out.read_bytes()
    out.unlink()
    assert merge.run(specs, out)[0] == 0
    assert out.read_bytes() == first
    doc = yaml.safe_load(first)
    assert list(doc)[:3] == ["openapi", "info", "servers"]
    assert list(doc["paths"]) == ["/y", "/z"]


def test_overlay_is_applied_as_a_merge_patch(tmp_path):
    specs = write_specs(tmp_path, {"a/one.json": fragment("/a", "get", "getA")})
    (specs / "overlays").mkdir()
    (specs / "overlays" / "a.yaml").write_text(
        "paths:\n  /a:\n    get:\n      description: documented decision\n      tags: null\n")
    doc = merge.build(specs)
    assert doc["paths"]["/a"]["get"]["description"] == "documented decision"
    assert "tags" not in doc["paths"]["/a"]["get"]


def test_check_reports_a_stale_file_with_a_diff_summary(tmp_path):
    specs = write_specs(tmp_path, {"a/one.json": fragment("/a", "get", "getA")})
    out = tmp_path / "openapi.yaml"
    assert run_cli("--specs", str(specs), "--output", str(out)).returncode == 0
    assert run_cli("--specs", str(specs), "--output", str(out), "--check").returncode == 0
    (specs / "fragments" / "a" / "two.json").write_text(json.dumps(fragment("/new", "get", "getNew")))
    before = out.read_text()
    result = run_cli("--specs", str(specs), "--output", str(out), "--check")
    assert result.returncode == 1
    assert "stale" in result.stderr and "+  /new:" in result.stderr
    assert out.read_text() == before, "--check must not write"


BAD_FRAGMENTS = {
    "invalid JSON": ("bad.json", '{"openapi": "3.0.1",\n  "paths": {,}}', "line 2"),
    "invalid YAML": ("bad.yaml", "openapi: 3.0.1\npaths: [unclosed\n", "line 3"),
    "not OpenAPI 3": ("bad.json", json.dumps({"swagger": "2.0", "paths": {}}), "/openapi"),
    "unresolvable $ref": ("bad.json", json.dumps(fragment("/a", "get", "getA",
                                                          responses=ok_with("#/components/schemas/Nope"))),
                          "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"),
    "external $ref": ("bad.json", json.dumps(fragment("/a", "get", "getA", responses=ok_with("other.json#/X"))),
                      "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"),
    "invalid OpenAPI": ("bad.json", json.dumps({"openapi": "3.0.1", "info": {"title": "x"}, "paths": {}}),
                        "invalid OpenAPI"),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAGMENTS))
def test_bad_fragment_exits_2_naming_file_and_place_and_writes_nothing(tmp_path, case):
    name, text, place = BAD_FRAGMENTS[case]
    specs = write_specs(tmp_path, {"good/ok.json": fragment("/ok", "get", "getOk"), f"api/{name}": text})
    out = tmp_path / "openapi.yaml"
    result = run_cli("--specs", str(specs), "--output", str(out))
    assert result.returncode == 2, result.stderr
    assert f"api/{name}" in result.stderr and place in result.stderr, result.stderr
    assert not out.exists()


def test_bad_fragment_leaves_an_existing_merged_file_untouched(tmp_path):
    specs = write_specs(tmp_path, {"good/ok.json": fragment("/ok", "get", "getOk")})
    out = tmp_path / "openapi.yaml"
    assert run_cli("--specs", str(specs), "--output", str(out)).returncode == 0
    before = out.read_bytes()
    (specs / "fragments" / "good" / "broken.json").write_text("{")
    assert run_cli("--specs", str(specs), "--output", str(out)).returncode == 2
    assert out.read_bytes() == before
