"""repair(): each repair in isolation, on small documents; the result always validates, and a
repaired document needs no further repair."""

from __future__ import annotations

import copy
import functools
import random

import pytest

from mock_server import PROJECT_ROOT, merge, repair
from mock_server.spec import as_openapi_30

CORPUS = sorted((PROJECT_ROOT / "tests" / "specs").glob("[bp]*/*.yaml"))


def doc(paths: dict, version: str = "3.0.3", **top) -> dict:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths, **top}


def ok(description: str = "ok", **extra) -> dict:
    return {"200": {"description": description, **extra}}


def fixed(document: dict) -> tuple[dict, list[str]]:
    """The repaired document (checked valid) and its problems as 'pointer: message' lines."""
    out, problems = repair.repair(document, "spec.yaml")
    merge.validate_document(out, "repaired")
    if str(out["openapi"]).startswith("3.1"):
        merge.validate_document(as_openapi_30(out), "3.0 rendering")
    return out, [str(p) for p in problems]


@pytest.mark.parametrize("file", CORPUS, ids=lambda f: f.name)
def test_a_repaired_document_needs_no_further_repair(file):
    once, problems = repair.repair(merge.load_document(file), file)
    assert problems
    twice, again = repair.repair(once, file)
    notices = [p for p in again if "; kept" in p.message]  # unknown formats stay, and stay reported
    assert twice == once and again == notices, [str(p) for p in again]


def test_swagger2_definitions_security_and_host_move_into_openapi3_places():
    out, problems = fixed(doc(
        {"/tasks": {"get": {"operationId": "list", "responses": ok(content={"application/json": {
            "schema": {"$ref": "#/definitions/Task"}}})}}},
        definitions={"Task": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        securityDefinitions={"basic": {"type": "basic"}}, host="api.example.com", basePath="/v2",
        schemes=["https"], security=[{"basic": []}]))
    assert out["paths"]["/tasks"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Task"}
    assert out["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    assert out["servers"] == [{"url": "https://api.example.com/v2"}]
    assert "/definitions: Swagger 2 'definitions'; moved to /components/schemas, 1 $ref(s) rewritten" in problems
    assert not {"definitions", "securityDefinitions", "host", "basePath", "schemes"} & set(out)


def test_a_shared_body_parameter_becomes_each_operations_request_body():
    body = {"name": "task", "in": "body", "schema": {"type": "object"}}
    out, problems = fixed(doc({"/tasks": {"parameters": [body], "post": {"operationId": "a", "responses": ok()},
                                          "put": {"operationId": "b", "responses": ok()}}}))
    for method in ("post", "put"):
        assert out["paths"]["/tasks"][method]["requestBody"] == {"content": {"application/json": {
            "schema": {"type": "object"}}}}
    assert problems == ["/paths/~1tasks/parameters/0: Swagger 2 'in: body' parameter 'task'; "
                        "now the requestBody (application/json)"]


def test_a_file_form_parameter_makes_a_multipart_body_with_a_binary_string():
    out, _ = fixed(doc({"/upload": {"post": {"operationId": "up", "responses": ok(), "parameters": [
        {"name": "file", "in": "formData", "type": "file", "required": True}]}}}))
    schema = out["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema == {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                      "required": ["file"]}


def test_a_body_component_parameter_is_inlined_and_removed():
    out, problems = fixed(doc(
        {"/tasks": {"post": {"operationId": "c", "responses": ok(),
                             "parameters": [{"$ref": "#/components/parameters/Body"}]}}},
        components={"parameters": {"Body": {"name": "b", "in": "body", "required": True, "schema": {}}}}))
    assert out["paths"]["/tasks"]["post"]["requestBody"]["required"] is True
    assert "parameters" not in out["components"]
    assert any(p.startswith("/components/parameters/Body: Swagger 2 body/formData") for p in problems)


def test_response_keys_are_normalised_and_a_response_without_codes_gets_a_default():
    out, problems = fixed(doc({"/a": {"get": {"operationId": "a", "responses": {
        200: {"description": "ok"}, "404 Not Found": {"description": "no"}, "success": {"description": "?"}}}}}))
    assert list(out["paths"]["/a"]["get"]["responses"]) == ["200", "404"]
    assert "/paths/~1a/get/responses/success: 'success' is not a status code; dropped" in problems
    out, _ = fixed(doc({"/b": {"get": {"operationId": "b", "responses": {"ok": {"description": "?"}}}}}))
    assert out["paths"]["/b"]["get"]["responses"] == {"default": repair.DEFAULT_RESPONSE}


def test_swagger2_header_fields_move_into_its_schema():
    out, problems = fixed(doc({"/a": {"get": {"operationId": "a", "responses": ok(headers={
        "X-Rate-Limit": {"type": "integer", "description": "calls left"}})}}}))
    header = out["paths"]["/a"]["get"]["responses"]["200"]["headers"]["X-Rate-Limit"]
    assert header == {"description": "calls left", "schema": {"type": "integer"}}
    assert problems == ["/paths/~1a/get/responses/200/headers/X-Rate-Limit: Swagger 2 header fields type; "
                        "moved into schema"]


def test_property_level_required_true_joins_the_objects_required_list():
    schema = {"type": "object", "properties": {"id": {"type": "integer", "required": True},
                                               "note": {"type": "string", "required": False}}}
    out, problems = fixed(doc({}, components={"schemas": {"Task": schema}}))
    assert out["components"]["schemas"]["Task"] == {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "note": {"type": "string"}}}
    assert len(problems) == 2


def test_type_aliases_are_mapped_and_nonsense_types_dropped():
    schema = {"type": "object", "properties": {"n": {"type": "int"}, "d": {"type": "dict"}, "x": {"type": "thing"}}}
    out, problems = fixed(doc({}, components={"schemas": {"S": schema}}))
    assert out["components"]["schemas"]["S"]["properties"] == {"n": {"type": "integer"}, "d": {"type": "object"},
                                                               "x": {}}
    assert len(problems) == 3


def test_duplicate_parameters_keep_the_first_and_path_parameters_become_required():
    params = [{"name": "q", "in": "query", "schema": {"type": "string"}},
              {"name": "q", "in": "query", "schema": {"type": "integer"}},
              {"name": "id", "in": "path", "schema": {"type": "integer"}}]
    out, problems = fixed(doc({"/a/{id}": {"get": {"operationId": "a", "parameters": params, "responses": ok()}}}))
    assert out["paths"]["/a/{id}"]["get"]["parameters"] == [
        {"name": "q", "in": "query", "schema": {"type": "string"}},
        {"name": "id", "in": "path", "schema": {"type": "integer"}, "required": True}]
    assert len(problems) == 2


def test_a_misnamed_shared_path_parameter_is_renamed_once_for_every_operation():
    item = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"operationId": "g", "responses": ok()}, "delete": {"operationId": "d", "responses": ok()}}
    out, problems = fixed(doc({"/tasks/{taskId}": item}))
    assert out["paths"]["/tasks/{taskId}"]["parameters"][0]["name"] == "taskId"
    assert "parameters" not in out["paths"]["/tasks/{taskId}"]["get"]
    assert problems == ["/paths/~1tasks~1{taskId}/parameters/0/name: path parameter 'id' is not in the template; "
                        "renamed 'taskId'"]


def test_a_stray_path_parameter_without_a_partner_is_dropped():
    params = [{"name": "ghost", "in": "path", "required": True, "schema": {"type": "string"}}]
    out, problems = fixed(doc({"/tasks": {"get": {"operationId": "a", "parameters": params, "responses": ok()}}}))
    assert "parameters" not in out["paths"]["/tasks"]["get"]
    assert problems == ["/paths/~1tasks/get/parameters/0: path parameter 'ghost' is not in the template; dropped"]


def test_dangling_and_external_refs_by_where_they_stand():
    op = {"operationId": "a", "parameters": [{"$ref": "#/components/parameters/Gone"}],
          "requestBody": {"$ref": "other.yaml#/components/requestBodies/Task"},
          "responses": {"200": {"$ref": "#/components/responses/Gone"}}}
    out, problems = fixed(doc({"/a": {"post": op}}))
    assert "parameters" not in out["paths"]["/a"]["post"] and "requestBody" not in out["paths"]["/a"]["post"]
    assert out["paths"]["/a"]["post"]["responses"]["200"] == {"description": "Response (its $ref could not be used)"}
    assert "/paths/~1a/post/requestBody/$ref" not in problems
    assert any("'other.yaml#/components/requestBodies/Task' is not a local reference; dropped the request body"
               in p for p in problems)
    assert len(problems) == 3


def test_a_self_referencing_schema_is_cut_but_real_recursion_is_kept():
    schemas = {"Loop": {"$ref": "#/components/schemas/Loop"},
               "Node": {"type": "object", "properties": {"children": {"type": "array",
                                                                      "items": {"$ref": "#/components/schemas/Node"}}}}}
    out, problems = fixed(doc({}, components={"schemas": schemas}))
    assert out["components"]["schemas"]["Loop"] == {} and out["components"]["schemas"]["Node"] == schemas["Node"]
    assert problems == ["/components/schemas/Loop: circular $ref chain /components/schemas/Loop -> "
                        "/components/schemas/Loop; replaced with an unconstrained schema"]


def test_incomplete_version_info_and_paths_are_completed():
    out, problems = fixed({"openapi": 3.0, "info": {"title": "t"}})
    assert (out["openapi"], out["info"]["version"], out["paths"]) == ("3.0.3", "0", {})
    assert len(problems) == 3


def test_a_31_document_is_repaired_as_31_and_its_30_rendering_validates():
    out, problems = fixed(doc({"/a/{id}": {"get": {"operationId": "a", "responses": ok(content={
        "application/json": {"schema": {"type": ["string", "null"], "examples": ["x", 5]}}})}}}, version="3.1.0"))
    assert out["openapi"] == "3.1.0"
    assert out["paths"]["/a/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": ["string", "null"], "examples": ["x"]}
    assert len(problems) == 2


def test_examples_in_media_types_and_named_examples_are_checked():
    media = {"schema": {"type": "integer"}, "examples": {"good": {"value": 3}, "bad": {"value": "three"}}}
    out, problems = fixed(doc({"/a": {"get": {"operationId": "a", "responses": ok(content={
        "application/json": media})}}}))
    assert out["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["examples"] == {
        "good": {"value": 3}}
    assert problems == ["/paths/~1a/get/responses/200/content/application~1json/examples/bad: example does not "
                        "match its schema ('three' is not of type 'integer'); dropped"]


@pytest.mark.parametrize("bad", [None, [], "text", {"swagger": "2.0"}, {"openapi": "2.0"}, {"info": {}}])
def test_only_a_non_openapi3_document_is_refused(bad):
    with pytest.raises(merge.MergeError) as refused:
        repair.repair(bad, "spec.yaml")
    assert str(refused.value).startswith("spec.yaml: /")


def test_a_security_requirement_naming_an_undefined_scheme_is_dropped():
    out, problems = fixed(doc({"/a": {"get": {"operationId": "a", "responses": ok(),
                                              "security": [{"ApiKey": [], "Missing": []}]}}},
                              components={"securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header",
                                                                         "name": "X-Key"}}}))
    assert out["paths"]["/a"]["get"]["security"] == [{"ApiKey": []}]
    assert problems == ["/paths/~1a/get/security/0/Missing: security scheme 'Missing' is not defined; that "
                        "requirement is not checked"]


def test_what_no_repair_foresees_is_not_served_and_said_so_in_one_line():
    bad_param = {"name": "x", "in": "query", "schema": {"type": "string"}, "style": "bogus"}
    out, problems = fixed(doc({"/a": {"get": {"operationId": "a", "parameters": [bad_param], "responses": ok()}},
                               "/b": {"get": {"operationId": "b", "responses": ok(content={"application/json": {
                                   "schema": {"$ref": "#/components/schemas/S"}}})}}},
                              components={"schemas": {"S": {"type": "object", "xml": "not a mapping"}}}))
    assert "get" not in out["paths"]["/a"] and out["paths"]["/b"]["get"]["operationId"] == "b"
    assert problems == [
        "/paths/~1a/get: still invalid after repair (not valid under any of the schemas listed in the 'oneOf' "
        "keyword); operation not served",
        "/components/schemas/S: still invalid after repair (not valid under any of the schemas listed in the "
        "'oneOf' keyword); dropped",
        "/paths/~1b/get/responses/200/content/application~1json/schema: $ref '#/components/schemas/S' does not "
        "resolve; replaced with an unconstrained schema",
    ]


def _mutants(count: int, seed: int = 8) -> list[dict]:
    """Corpus documents with 1-4 random nodes replaced by junk or removed: what no test foresaw."""
    rng = random.Random(seed)
    docs = [merge.load_document(f) for f in CORPUS]
    junk = [None, 1, -1, "x", "255", "true", [], {}, [1, "a"], {"$ref": 5}, {"$ref": "#/nope"}, True,
            {"type": "wat"}, {"in": "body"}, {"type": None}]
    out = []
    for _ in range(count):
        document = copy.deepcopy(rng.choice(docs))
        for _ in range(rng.randint(1, 4)):
            path = rng.choice(list(_paths(document))[1:])
            parent = functools.reduce(lambda node, key: node[key], path[:-1], document)
            if isinstance(parent, dict) and rng.random() < 0.4:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(junk))
        out.append(document)
    return out


def _paths(node, path=()):
    yield path
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        yield from _paths(value, (*path, key))


def test_mangled_documents_are_repaired_into_valid_ones_or_refused_in_one_line():
    refused = 0
    for index, document in enumerate(_mutants(300)):
        try:
            out, problems = repair.repair(document, f"mutant-{index}.yaml")
        except merge.MergeError as exc:
            assert "could not repair" not in str(exc) and "\n" not in str(exc), str(exc)
            refused += 1
            continue
        still = [str(p) for p in problems if "still invalid" in p.message]
        merge.validate_document(out, f"mutant {index}: {still}")
    assert refused < 100, "most mutants should still be OpenAPI 3 documents"
