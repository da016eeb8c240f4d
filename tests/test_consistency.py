"""The generic engine over a real server: a listed item is the item fetched by its id, paging
echoes the request, documented non-JSON bodies are sent, and the mock never contradicts its spec."""

from __future__ import annotations

import json

import pytest
import yaml

from .conftest import CLOCK_START

SPEC = """
openapi: 3.0.3
info: {title: Widgets, version: "1"}
servers: [{url: "https://widgets.example"}]
paths:
  /widgets:
    get:
      operationId: listWidgets
      parameters:
        - {name: page, in: query, schema: {type: integer, minimum: 1}}
        - {name: pageSize, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: since, in: query, schema: {type: integer, format: int32}}
        - {name: after, in: query, schema: {type: integer, format: int64}}
      responses:
        "400": {description: Bad request}
        "200":
          description: A page of widgets
          content:
            application/json:
              schema:
                type: object
                required: [items, total, page, pageSize]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Widget"}}
                  total: {type: integer}
                  page: {type: integer}
                  pageSize: {type: integer}
  /widgets/{widgetId}:
    get:
      operationId: getWidget
      parameters: [{name: widgetId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
        "404": {description: Not found}
  /widgets/{widgetId}/manual:
    get:
      operationId: downloadManual
      parameters: [{name: widgetId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: The manual, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
  /report:
    get:
      operationId: report
      responses:
        "200": {description: A report, content: {text/plain: {schema: {type: string}}}}
components:
  schemas:
    Widget:
      type: object
      required: [id, name, created, updated, cycle]
      properties:
        id: {type: integer}
        name: {type: string}
        created: {type: integer, format: int64, description: Epoch milliseconds.}
        updated: {type: integer, format: int64, description: Epoch milliseconds.}
        cycle: {type: number, minimum: 1}
"""


@pytest.fixture(scope="module")
def widgets(tmp_path_factory):
    from .conftest import start_server

    folder = tmp_path_factory.mktemp("widgets")
    (folder / "widgets.yaml").write_text(SPEC)
    (folder / "fixtures").mkdir()
    (folder / "fixtures" / "widgets.yaml").write_text(yaml.safe_dump({"generate": {"/widgets": 5}}))
    server = start_server("--spec", str(folder / "widgets.yaml"), "--fixtures", str(folder / "fixtures"),
                          "--strict", "--frozen-clock", "--clock-start", str(CLOCK_START))
    yield server
    server.kill()


def test_a_listed_item_is_exactly_the_item_fetched_by_its_id(widgets):
    with widgets.client() as http:
        listed = http.get("/widgets").json()["items"]
        assert len(listed) == 5
        for item in listed:
            fetched = http.get(f"/widgets/{item['id']}").json()
            assert json.dumps(fetched) == json.dumps(item), "list and read disagree"


def test_list_paging_echoes_the_request_and_agrees_with_the_items(widgets):
    with widgets.client() as http:
        everything = http.get("/widgets").json()
        assert (everything["total"], everything["page"]) == (5, 1)
        page = http.get("/widgets", params={"page": 2, "pageSize": 2}).json()
        assert (page["total"], page["page"], page["pageSize"]) == (5, 2, 2)
        assert [w["id"] for w in page["items"]] == [w["id"] for w in everything["items"][2:4]]


def test_generated_items_have_recent_millisecond_moments_in_order_and_whole_cycles(widgets):
    with widgets.client() as http:
        for item in http.get("/widgets").json()["items"]:
            assert CLOCK_START * 1000 - 32 * 86400_000 <= item["created"] <= item["updated"] <= CLOCK_START * 1000
            assert isinstance(item["cycle"], int) and 1 <= item["cycle"] <= 12, item


def test_documented_non_json_bodies_are_sent_and_every_answer_conforms(widgets):
    with widgets.client() as http:
        manual = http.get("/widgets/1/manual")
        assert manual.status_code == 200 and manual.content, "a documented binary body is never empty"
        assert manual.headers["content-type"].startswith("application/octet-stream")
        report = http.get("/report")
        assert report.status_code == 200 and report.text.strip()
        assert report.headers["content-type"].startswith("text/plain")
        journal = http.get("/__admin/requests").json()
        assert journal and all(entry["response"] == "valid" for entry in journal), journal


@pytest.mark.parametrize(("query", "status"), [
    ({"since": 2**31 - 1}, 200), ({"since": 2**31}, 400), ({"since": -(2**31)}, 200), ({"since": -(2**31) - 1}, 400),
    ({"after": 2**63 - 1}, 200), ({"after": 2**63}, 400), ({"after": "9" * 40}, 400),
])
def test_int32_and_int64_parameters_are_bounded(widgets, query, status):
    with widgets.client() as http:
        assert http.get("/widgets", params=query).status_code == status
