"""The engine over real servers on loopback: generic CRUD on a spec no domain module knows,
determinism, persistence, concurrency, 405/404 routing, the admin API, strict response checks,
and hostile input.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
import yaml

from mock_server.app import create_app
from mock_server.runtime import ServeConfig
from mock_server.vendor import Reply, Vendor

from .conftest import CLOCK_START, start_server

KEY = {"X-API-Key": "any-key"}

# A small spec no domain module applies to. The file is named pets.yaml, so its API is "pets".
PETS_SPEC = """
openapi: 3.0.3
info: {title: Pets, version: "1.0"}
servers: [{url: "http://pets.invalid"}]
security: [{ApiKey: []}]
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: Every pet
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
        "401": {$ref: "#/components/responses/Error"}
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewPet"}
      responses:
        "201":
          description: Created
          headers:
            Location: {required: true, schema: {type: string}}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getPet
      responses:
        "200":
          description: The pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
    put:
      operationId: updatePet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewPet"}
      responses:
        "200":
          description: Updated
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
    delete:
      operationId: deletePet
      responses:
        "204": {description: Deleted}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /pets/{petId}/photo:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
    post:
      operationId: uploadPhoto
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                file: {type: string, format: binary}
      responses:
        "202":
          description: Accepted
          content:
            application/json:
              schema:
                type: object
                required: [photoUrl]
                properties:
                  photoUrl: {type: string, format: uri}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
  /pets/{petId}/walk:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
    post:
      operationId: walkPet
      requestBody:
        required: false
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                minutes: {type: integer, minimum: 1, maximum: 120}
      responses:
        "200":
          description: Walked
          content:
            application/json:
              schema:
                type: object
                required: [distance]
                properties:
                  distance: {type: number, minimum: 0}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
components:
  securitySchemes:
    ApiKey: {type: apiKey, in: header, name: X-API-Key}
  responses:
    Error:
      description: An error
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
  schemas:
    Pet:
      type: object
      additionalProperties: false
      required: [id, name, tag, ownerEmail, createdAt]
      properties:
        id: {type: integer, format: int64, readOnly: true}
        name: {type: string, minLength: 1, maxLength: 40}
        tag: {type: string, enum: [cat, dog, bird]}
        ownerEmail: {type: string, format: email}
        homepageUrl: {type: string, format: uri}
        weight: {type: number, minimum: 0.1, maximum: 90}
        createdAt: {type: string, format: date-time, readOnly: true}
    NewPet:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: {type: string, minLength: 1, maxLength: 40}
        tag: {type: string, enum: [cat, dog, bird]}
        ownerEmail: {type: string, format: email}
        weight: {type: number, minimum: 0.1, maximum: 90}
    Error:
      type: object
      required: [code, message]
      properties:
        code: {type: integer}
        message: {type: string}
"""
DOCUMENTED = {op["operationId"]: {int(s) for s in op["responses"]}
              for item in yaml.safe_load(PETS_SPEC)["paths"].values()
              for name, op in item.items() if name != "parameters"}

# Seeds: two generated pets (ids 1, 2) and one hand-written record (id 10).
PETS_FIXTURES = {"generate": {"/pets": 2}, "records": {"/pets": [{"id": 10, "name": "Seeded", "tag": "cat"}]}}
SEEDED_IDS = [1, 2, 10]
FIRST_NEW_ID = 11

# The same shape of API, but item reads document no 404: unknown ids are virtual objects.
THINGS_SPEC = """
openapi: 3.0.3
info: {title: Things, version: "1.0"}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200":
          description: Stored things
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Thing"}}
  /things/{thingId}:
    get:
      operationId: getThing
      parameters:
        - {name: thingId, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The thing
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
components:
  schemas:
    Thing:
      type: object
      required: [thingId, label, color, createdAt]
      properties:
        thingId: {type: string}
        label: {type: string}
        color: {type: string, enum: [red, green, blue]}
        contactEmail: {type: string, format: email}
        createdAt: {type: string, format: date-time}
"""


@pytest.fixture
def pets_files(tmp_path: Path) -> tuple[Path, Path]:
    """(spec file, fixtures directory) of the pets API."""
    spec = tmp_path / "pets.yaml"
    spec.write_text(PETS_SPEC)
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "pets.yaml").write_text(yaml.safe_dump(PETS_FIXTURES))
    return spec, fixtures


@pytest.fixture
def pets(serve, pets_files):
    """``pets(*extra)`` starts a strict, frozen-clock server on the pets spec."""
    spec, fixtures = pets_files

    def start(*extra: str):
        return serve("--spec", str(spec), "--fixtures", str(fixtures), "--strict",
                     "--frozen-clock", "--clock-start", str(CLOCK_START), *extra)

    return start


def create(client: httpx.Client, **fields) -> dict:
    response = client.post("/pets", json=fields, headers=KEY)
    assert response.status_code == 201, response.text
    return response.json()


def list_ids(client: httpx.Client) -> list[int]:
    response = client.get("/pets", headers=KEY)
    assert response.status_code == 200, response.text
    return [pet["id"] for pet in response.json()]


def journal(client: httpx.Client, **params) -> list[dict]:
    response = client.get("/__admin/requests", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- determinism ----------------------------------------------------------------------------------
def scripted_session(server) -> list[tuple[int, bytes]]:
    """A fixed sequence of list, create, read, update, delete; every (status, body) in order."""
    with server.client(headers=KEY) as client:
        steps = [
            client.get("/pets"),
            client.get("/pets/1"),
            client.post("/pets", json={"name": "Rex"}),
            client.post("/pets", json={"name": "Tom", "tag": "dog"}),
            client.get(f"/pets/{FIRST_NEW_ID}"),
            client.put("/pets/2", json={"name": "Renamed"}),
            client.delete("/pets/1"),
            client.get("/pets/1"),
            client.get("/pets"),
        ]
    return [(r.status_code, r.content) for r in steps]


def test_same_seed_gives_byte_identical_bodies_on_two_servers(pets):
    first = scripted_session(pets("--seed", "7"))
    second = scripted_session(pets("--seed", "7"))
    assert [s for s, _ in first] == [200, 200, 201, 201, 200, 200, 204, 404, 200]
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        assert a == b, f"step {index} differs between two servers with the same seed:\n{a}\n{b}"


def test_different_seed_gives_different_generated_content(pets):
    one = scripted_session(pets("--seed", "7"))
    two = scripted_session(pets("--seed", "8"))
    assert one[0][1] != two[0][1], "the seeded pets should differ"
    rex_one, rex_two = json.loads(one[2][1]), json.loads(two[2][1])
    assert rex_one["name"] == rex_two["name"] == "Rex", "request fields win over generated ones"
    assert (rex_one["ownerEmail"], rex_one["createdAt"]) != (rex_two["ownerEmail"], rex_two["createdAt"])


# -- generic CRUD ---------------------------------------------------------------------------------
def test_create_stores_a_generated_object_with_the_request_fields_merged(pets):
    server = pets()
    with server.client(headers=KEY) as client:
        response = client.post("/pets", json={"name": "Rex", "tag": "dog", "weight": 3.5})
        assert response.status_code == 201, response.text
        pet = response.json()
        assert pet["id"] == FIRST_NEW_ID
        assert (pet["name"], pet["tag"], pet["weight"]) == ("Rex", "dog", 3.5)
        assert "@" in pet["ownerEmail"] and pet["createdAt"].startswith("20"), "generated fields fill the rest"
        assert response.headers["location"] == f"/pets/{FIRST_NEW_ID}", "the documented Location header"
        assert client.get(f"/pets/{pet['id']}").json() == pet


def test_read_returns_the_seeded_record_with_its_fixture_fields(pets):
    with pets().client(headers=KEY) as client:
        response = client.get("/pets/10")
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Seeded" and response.json()["tag"] == "cat"


def test_update_persists_the_request_fields_and_keeps_the_rest(pets):
    with pets().client(headers=KEY) as client:
        before = create(client, name="Rex", tag="dog")
        response = client.put(f"/pets/{before['id']}", json={"name": "Max", "weight": 12})
        assert response.status_code == 200, response.text
        expected = {**before, "name": "Max", "weight": 12}
        assert response.json() == expected
        assert client.get(f"/pets/{before['id']}").json() == expected


def test_deleted_item_reads_404(pets):
    with pets().client(headers=KEY) as client:
        pet = create(client, name="Rex")
        deleted = client.delete(f"/pets/{pet['id']}")
        assert deleted.status_code == 204 and deleted.content == b""
        gone = client.get(f"/pets/{pet['id']}")
        assert gone.status_code == 404
        assert gone.json()["code"] == 404 and isinstance(gone.json()["message"], str), "the documented Error body"
        assert client.put(f"/pets/{pet['id']}", json={"name": "Back"}).status_code == 404
        assert client.delete(f"/pets/{pet['id']}").status_code == 404
        assert pet["id"] not in list_ids(client)


def test_unknown_id_reads_the_documented_404(pets):
    with pets().client(headers=KEY) as client:
        assert client.get("/pets/999").status_code == 404


def test_ids_are_never_reused_after_delete(pets):
    with pets().client(headers=KEY) as client:
        first, second = create(client, name="A"), create(client, name="B")
        assert client.delete(f"/pets/{second['id']}").status_code == 204
        third = create(client, name="C")
        assert third["id"] > second["id"] > first["id"], (first["id"], second["id"], third["id"])


def test_creates_read_no_collection_once_the_id_sequence_has_a_value(pets_files, monkeypatch):
    app = create_app(pets_config(pets_files))
    store, read = app.rt.store, []
    real = store.items
    monkeypatch.setattr(store, "items", lambda collection, **kw: (read.append(collection), real(collection, **kw))[1])
    with running(app) as url, httpx.Client(base_url=url, headers=KEY) as client:
        ids = [create(client, name=f"pet {n}")["id"] for n in range(3)]
    assert ids == [FIRST_NEW_ID, FIRST_NEW_ID + 1, FIRST_NEW_ID + 2], "above the hand-written id 10"
    assert "/pets" not in read, "the seed left the sequence above every id: no create scans the collection"


def test_a_create_after_importing_records_without_sequences_takes_an_id_above_them(pets):
    with pets().client(headers=KEY) as client:
        state = client.get("/__admin/state").json()
        state["collections"]["/pets"]["40"] = {**state["collections"]["/pets"]["10"], "id": 40}
        state["sequences"] = {}
        assert client.put("/__admin/state", json=state).status_code == 200
        assert [create(client, name=name)["id"] for name in ("A", "B")] == [41, 42]


def test_list_returns_exactly_what_is_stored_in_creation_order(pets):
    with pets().client(headers=KEY) as client:
        assert list_ids(client) == SEEDED_IDS
        created = [create(client, name=name)["id"] for name in ("A", "B", "C")]
        assert client.delete("/pets/2").status_code == 204
        assert client.delete(f"/pets/{created[1]}").status_code == 204
        assert list_ids(client) == [1, 10, created[0], created[2]]
        listed = {pet["id"]: pet for pet in client.get("/pets").json()}
        assert listed[created[0]] == client.get(f"/pets/{created[0]}").json()


def test_optional_request_body_may_be_omitted(pets):
    with pets().client(headers=KEY) as client:
        assert client.post("/pets/1/walk", json={"minutes": 5}).status_code == 200
        assert client.post("/pets/1/walk", json={"minutes": 0}).status_code == 400, "a sent body is validated"
        bare = client.post("/pets/1/walk")
        assert bare.status_code == 200, f"requestBody.required is false, yet: {bare.status_code} {bare.text}"


def test_request_without_the_documented_api_key_is_401(pets):
    with pets().client() as client:
        response = client.get("/pets")
        assert response.status_code == 401
        assert set(response.json()) == {"code", "message"}


def test_unknown_ids_without_a_documented_404_are_deterministic_virtual_objects(serve, tmp_path):
    spec = tmp_path / "things.yaml"
    spec.write_text(THINGS_SPEC)
    (tmp_path / "no-fixtures").mkdir()
    args = ("--spec", str(spec), "--fixtures", str(tmp_path / "no-fixtures"), "--strict", "--seed", "3")
    first, restarted = serve(*args), serve(*args)
    with first.client() as client, restarted.client() as other:
        thing = client.get("/things/abc")
        assert thing.status_code == 200, thing.text
        assert thing.json()["thingId"] == "abc", "the virtual object carries the requested id"
        assert thing.json()["color"] in ("red", "green", "blue")
        assert client.get("/things/abc").content == thing.content, "the same id gives the same object"
        assert other.get("/things/abc").content == thing.content, "on another server with the same seed too"
        assert client.get("/things/xyz").json() != thing.json() | {"thingId": "xyz"}, "another id differs"
        assert client.get("/things").json() == [], "virtual objects are not stored"
        for odd in ("a\nb", "tab\there", "del\x7f"):   # a string id carries control characters as sent
            odd_thing = client.get("/things/" + quote(odd))
            assert (odd_thing.status_code, odd_thing.json()["thingId"]) == (200, odd), odd_thing.text
        assert client.get("/things%0A").status_code == 404, "but never in a path's literal part"


# -- persistence ----------------------------------------------------------------------------------
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "clean-stop"])
def test_acknowledged_writes_survive_a_restart_on_the_same_state_file(pets, tmp_state, stop):
    server = pets("--state", str(tmp_state))
    with server.client(headers=KEY) as client:
        created = [create(client, name=f"pet-{n}")["id"] for n in range(5)]
        assert client.put(f"/pets/{created[0]}", json={"name": "updated"}).status_code == 200
        assert client.delete(f"/pets/{created[-1]}").status_code == 204
        assert client.delete("/pets/1").status_code == 204, "a seeded pet deleted stays deleted"
        before = client.get("/pets").content
    server.kill(stop)

    restarted = pets("--state", str(tmp_state))
    with restarted.client(headers=KEY) as client:
        assert client.get("/pets").content == before
        assert client.get(f"/pets/{created[0]}").json()["name"] == "updated"
        assert client.get(f"/pets/{created[-1]}").status_code == 404
        assert client.get("/pets/1").status_code == 404
        assert create(client, name="after restart")["id"] == created[-1] + 1, "ids continue, none reused"


def test_advanced_clock_survives_kill_9(pets, tmp_state):
    server = pets("--state", str(tmp_state))
    assert server.client().post("/__admin/clock/advance", json={"seconds": 3600}).status_code == 200
    server.kill(signal.SIGKILL)
    restarted = pets("--state", str(tmp_state))
    assert restarted.client().get("/__admin/clock").json()["now"] == CLOCK_START + 3600


# -- concurrency ----------------------------------------------------------------------------------
@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_concurrent_creates_get_distinct_ids_and_are_all_listed(pets, tmp_state, storage):
    server = pets(*(["--state", str(tmp_state)] if storage == "sqlite" else []))
    local, clients = threading.local(), []

    def create_one(n: int) -> tuple[str, int, dict]:
        if not hasattr(local, "client"):  # one connection per thread, so requests really overlap
            local.client = server.client(headers=KEY)
            clients.append(local.client)
        response = local.client.post("/pets", json={"name": f"pet-{n}"})
        return f"pet-{n}", response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(create_one, range(50)))
    for client in clients:
        client.close()
    assert [status for _, status, _ in results] == [201] * 50
    ids = [body["id"] for _, _, body in results]
    assert len(set(ids)) == 50, f"duplicate ids: {sorted(ids)}"
    assert set(ids).isdisjoint(SEEDED_IDS)
    with server.client(headers=KEY) as client:
        listed = {pet["id"]: pet["name"] for pet in client.get("/pets").json()}
    assert len(listed) == len(SEEDED_IDS) + 50, "every acknowledged create is listed"
    assert all(listed[body["id"]] == name for name, _, body in results), "each id holds its own create"


# -- routing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PATCH", "/pets/1", {"GET", "PUT", "DELETE"}),
    ("POST", "/pets/1", {"GET", "PUT", "DELETE"}),
    ("DELETE", "/pets", {"GET", "POST"}),
    ("GET", "/pets/1/photo", {"POST"}),
])
def test_undeclared_method_is_405_with_an_allow_header_of_the_declared_methods(pets, method, path, allowed):
    with pets().client(headers=KEY) as client:
        response = client.request(method, path)
        assert response.status_code == 405, response.text
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_unknown_path_is_404(pets):
    with pets().client(headers=KEY) as client:
        for path in ("/nope", "/pets/1/unknown", "/pets/1/photo/2"):
            assert client.get(path).status_code == 404, path


# -- admin API ------------------------------------------------------------------------------------
def test_admin_health_reports_what_is_served(pets, tmp_state):
    health = pets().client().get("/__admin/health")
    assert health.status_code == 200
    body = health.json()
    assert body.pop("pid") != os.getpid()   # the server's process, not this one
    assert body == {"status": "ok", "apis": ["pets"], "operations": 7, "seed": 1, "strict": True,
                    "state": None, "workers": 1}
    with_state = pets("--seed", "5", "--state", str(tmp_state)).client().get("/__admin/health").json()
    assert (with_state["seed"], with_state["state"]) == (5, str(tmp_state))


def test_admin_reset_restores_the_seeded_state_and_clears_the_journal(pets):
    with pets().client(headers=KEY) as client:
        seeded = client.get("/__admin/state").json()
        seeded_list = client.get("/pets").content
        create(client, name="extra")
        assert client.delete("/pets/10").status_code == 204
        assert journal(client)
        reset = client.post("/__admin/reset")
        assert reset.status_code == 200 and "message" in reset.json()
        assert journal(client) == []
        after = client.get("/__admin/state").json()
        assert (after["collections"], after["sequences"]) == (seeded["collections"], seeded["sequences"])
        assert client.get("/pets").content == seeded_list
        assert client.get("/pets/10").status_code == 200


def test_admin_state_exported_from_one_server_imports_into_another(pets):
    source, target = pets(), pets("--seed", "99")
    with source.client(headers=KEY) as src, target.client(headers=KEY) as dst:
        made = create(src, name="exported")
        assert src.delete("/pets/2").status_code == 204
        assert src.post("/__admin/clock/advance", json={"seconds": 500}).status_code == 200
        snapshot = src.get("/__admin/state")
        assert snapshot.status_code == 200
        assert dst.get("/pets").content != src.get("/pets").content, "different seeds start apart"

        imported = dst.put("/__admin/state", json=snapshot.json())
        assert imported.status_code == 200, imported.text
        assert dst.get("/__admin/state").json() == snapshot.json()
        assert dst.get("/pets").content == src.get("/pets").content
        for pet_id in (1, 10, made["id"]):
            assert dst.get(f"/pets/{pet_id}").content == src.get(f"/pets/{pet_id}").content
        assert dst.get("/pets/2").status_code == 404
        assert dst.get("/__admin/clock").json()["now"] == CLOCK_START + 500, "the clock travels with the state"
        assert create(dst, name="next")["id"] == made["id"] + 1, "sequences travel too"


def test_admin_state_import_refuses_a_non_snapshot_with_400(pets):
    with pets().client() as client:
        before = client.get("/__admin/state").json()
        for bad in ({"collections": "nope", "sequences": {}}, {"sequences": {}}, [1, 2]):
            assert client.put("/__admin/state", json=bad).status_code == 400, bad
        assert client.get("/__admin/state").json() == before


def test_admin_clock_reads_the_frozen_start(pets):
    clock = pets().client().get("/__admin/clock")
    assert clock.status_code == 200
    assert clock.json() == {"now": CLOCK_START, "frozen": True, "scale": 1.0}


def test_admin_clock_advance_is_exact_on_a_frozen_clock(pets):
    with pets().client() as client:
        advanced = client.post("/__admin/clock/advance", json={"seconds": 90})
        assert advanced.status_code == 200
        assert advanced.json() == {"now": CLOCK_START + 90, "frozen": True, "scale": 1.0}
        assert client.post("/__admin/clock/advance", json={"seconds": 0.5}).json()["now"] == CLOCK_START + 90.5
        assert client.get("/__admin/clock").json()["now"] == CLOCK_START + 90.5
        assert journal(client) == [], "admin calls are not journaled as vendor requests"
        client.get("/pets", headers=KEY)
        assert journal(client)[-1]["time"] == CLOCK_START + 90.5, "the journal stamps virtual time"


@pytest.mark.parametrize("body", [{"seconds": -1}, {}, {"seconds": "ten"}, {"minutes": 5}])
def test_admin_clock_advance_refuses_bad_seconds_with_400(pets, body):
    with pets().client() as client:
        assert client.post("/__admin/clock/advance", json=body).status_code == 400
        assert client.get("/__admin/clock").json()["now"] == CLOCK_START, "a refused advance moves nothing"


def test_admin_clock_unfreeze_follows_scaled_wall_time_and_freeze_stops_it(pets):
    with pets("--time-scale", "1000").client() as client:
        unfrozen = client.post("/__admin/clock/unfreeze")
        assert unfrozen.status_code == 200
        assert unfrozen.json()["frozen"] is False and unfrozen.json()["scale"] == 1000.0
        first = client.get("/__admin/clock").json()["now"]
        second = client.get("/__admin/clock").json()["now"]
        assert CLOCK_START <= first < second, "a running clock moves between two reads"
        frozen = client.post("/__admin/clock/freeze")
        assert frozen.status_code == 200 and frozen.json()["frozen"] is True
        stopped = frozen.json()["now"]
        assert client.get("/__admin/clock").json()["now"] == stopped
        assert client.get("/__admin/clock").json()["now"] == stopped


def test_admin_requests_journal_records_each_request_with_both_verdicts(pets):
    with pets().client(headers=KEY) as client:
        client.get("/pets")
        client.post("/pets", json={"name": "Rex"})
        client.post("/pets", content=b'{"name":', headers={"content-type": "application/json"})
        client.get("/pets/999")
        client.patch("/pets/1")
        client.get("/nope")
        entries = journal(client)
    seen = [(e["method"], e["path"], e["operationId"], e["status"]) for e in entries]
    assert seen == [
        ("GET", "/pets", "listPets", 200),
        ("POST", "/pets", "createPet", 201),
        ("POST", "/pets", "createPet", 400),
        ("GET", "/pets/999", "getPet", 404),
        ("PATCH", "/pets/1", None, 405),
        ("GET", "/nope", None, 404),
    ]
    assert [e["request"].split(":")[0] for e in entries] == ["valid", "valid", "rejected", "rejected",
                                                             "rejected", "rejected"]
    assert "Malformed JSON" in entries[2]["request"]
    assert [e["response"] for e in entries] == ["valid"] * 4 + ["unchecked"] * 2, \
        "documented answers are checked against the spec; unrouted ones cannot be"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert all(e["api"] == "pets" and e["time"] == CLOCK_START for e in entries)


def test_admin_requests_journal_filters_by_limit_and_operation_id(pets):
    with pets().client(headers=KEY) as client:
        for n in range(3):
            client.get("/pets")
            client.get(f"/pets/{n + 1}")
        everything = journal(client)
        assert len(everything) == 6
        assert journal(client, limit=2) == everything[-2:]
        reads = journal(client, operationId="getPet")
        assert [e["path"] for e in reads] == ["/pets/1", "/pets/2", "/pets/3"]
        assert journal(client, operationId="getPet", limit=1) == reads[-1:]
        assert journal(client, operationId="noSuchOperation") == []
        assert client.get("/__admin/requests", params={"limit": 0}).status_code == 400


# -- admin off on non-loopback hosts --------------------------------------------------------------
def test_admin_is_off_on_a_non_loopback_host_unless_asked_for():
    assert ServeConfig(host="0.0.0.0").admin_enabled is False
    assert ServeConfig(host="192.168.1.10").admin_enabled is False
    assert ServeConfig(host="0.0.0.0", admin=True).admin_enabled is True
    for loopback in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert ServeConfig(host=loopback).admin_enabled is True, loopback


@contextmanager
def running(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a background thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def pets_config(pets_files: tuple[Path, Path], **overrides) -> ServeConfig:
    spec, fixtures = pets_files
    return ServeConfig(specs=[spec], fixtures_dir=fixtures, frozen_clock=True, clock_start=CLOCK_START,
                       **overrides)


def test_app_built_for_a_non_loopback_host_hides_the_admin_api(pets_files):
    app = create_app(pets_config(pets_files, host="0.0.0.0"))
    with running(app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/__admin/health").status_code == 404
        assert client.post("/__admin/reset").status_code == 404
        assert client.get("/pets", headers=KEY).status_code == 200, "the vendor API is still served"


# -- vendors that validate some requests themselves ----------------------------------------------
def lenient_pets(own: set[str]) -> Vendor:
    """createPet answers what its handler received; with ``own``, the vendor judges the request."""
    lenient = Vendor("pets", own_validation=own)

    @lenient.operation("createPet")
    def echo(ctx) -> Reply:
        return Reply(201, {"id": 99, "name": str(ctx.body), "tag": "cat", "ownerEmail": "a@b.example",
                           "createdAt": "2026-01-01T00:00:00Z"}, {"Location": "/pets/99"})

    return lenient


def test_own_validation_leaves_the_body_to_the_vendor_handler_but_still_parses_json(pets_files):
    schema_breaking = {"name": 7, "tag": "CAT", "unknown": True}   # wrong type, bad enum, extra property
    app = create_app(pets_config(pets_files), vendors=[lenient_pets({"createPet"})])
    with running(app) as url, httpx.Client(base_url=url, headers=KEY) as client:
        accepted = client.post("/pets", json=schema_breaking)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["name"] == str(schema_breaking), "the handler got the parsed body"
        malformed = client.post("/pets", content=b'{"name": ', headers={"Content-Type": "application/json"})
        assert malformed.status_code == 400, "malformed JSON is still refused before the handler"
        assert client.post("/pets", json={"name": "x"}, headers={"X-API-Key": ""}).status_code == 401
    app = create_app(pets_config(pets_files), vendors=[lenient_pets(set())])
    with running(app) as url, httpx.Client(base_url=url, headers=KEY) as client:
        refused = client.post("/pets", json=schema_breaking)
        assert refused.status_code == 400, "without own_validation Connexion judges the body"


# -- strict response validation -------------------------------------------------------------------
BAD_PET = {"id": "not-a-number", "name": "", "tag": "unicorn"}


def bad_pets() -> Vendor:
    """A domain module whose getPet answers a body the spec forbids."""
    bad = Vendor("pets")

    @bad.operation("getPet")
    def broken(call) -> Reply:
        return Reply(200, BAD_PET)

    return bad


def test_strict_mode_turns_a_spec_violating_response_into_a_500(pets_files):
    app = create_app(pets_config(pets_files, strict=True), vendors=[bad_pets()])
    with running(app) as url, httpx.Client(base_url=url, headers=KEY) as client:
        response = client.get("/pets/1")
        assert response.status_code == 500, response.text
        assert response.headers.get("x-mock-violation"), "the violation is named in a header"
        assert "not-a-number" not in response.text, "the bad body is not sent"
        (entry,) = journal(client, operationId="getPet")
        assert entry["status"] == 500
        assert entry["response"].startswith("invalid"), entry
        assert client.get("/pets").status_code == 200, "operations that conform are unaffected"


def test_without_strict_a_spec_violating_response_passes_but_is_journaled_invalid(pets_files):
    app = create_app(pets_config(pets_files, strict=False), vendors=[bad_pets()])
    with running(app) as url, httpx.Client(base_url=url, headers=KEY) as client:
        response = client.get("/pets/1")
        assert response.status_code == 200
        assert response.json() == BAD_PET
        assert "x-mock-violation" not in response.headers
        (entry,) = journal(client, operationId="getPet")
        assert entry["response"].startswith("invalid"), entry


# -- a wire that carries its own credentials ------------------------------------------------------
def query_signed_pets() -> Vendor:
    """A wire where the key travels as ?sig= (no security scheme of the spec points there): it hands
    the credential to identify, which answers a missing one itself."""
    from mock_server.auth import Credential
    from mock_server.errors import Rejection
    from mock_server.vendor import Caller, Routed

    class QueryKeyWire:
        def decode(self, raw):
            query = dict(raw.query)
            found = (Credential("sig", "other", query["sig"]),) if query.get("sig") else ()
            rest = "&".join(f"{k}={v}" for k, v in raw.query if k != "sig").encode()
            return Routed(raw.method, raw.path, rest, credentials=found)

        def encode(self, reply, raw):
            return reply

    def identify(identity):
        if not identity.credentials:
            raise Rejection("invalid", "sig is mandatory", status=400)
        return Caller(identity.credentials[0].value)

    vendor = Vendor("pets", wire=QueryKeyWire(), identify=identify)

    @vendor.operation("getPet")
    def who(ctx) -> Reply:
        return Reply(200, {"id": ctx.raw.serial, "name": ctx.caller.account})

    return vendor


def test_a_wire_hands_over_credentials_the_specs_security_cannot_locate(pets_files):
    app = create_app(pets_config(pets_files), vendors=[query_signed_pets()])
    with running(app) as url, httpx.Client(base_url=url) as client:
        first = client.get("/pets/1", params={"sig": "alice"})
        assert (first.status_code, first.json()["name"]) == (200, "alice"), first.text
        assert client.get("/pets/1").status_code == 400, "no credential: the vendor's own answer"
        second = client.get("/pets/1", params={"sig": "bob"})
        assert second.json()["id"] == first.json()["id"] + 2, "RawRequest.serial counts every request"


# -- hostile input --------------------------------------------------------------------------------
JSON = {"content-type": "application/json"}
BAD_INPUT = {
    "malformed JSON": ("POST", "/pets", JSON, b'{"name":', 400),
    "JSON with a NaN literal": ("POST", "/pets", JSON, b'{"name": "Rex", "weight": NaN}', 400),
    "wrong content type": ("POST", "/pets", {"content-type": "text/plain"}, b"name=Rex", 415),
    "no content type": ("POST", "/pets", {}, b'{"name": "Rex"}', 415),
    "multipart without boundary": ("POST", "/pets/1/photo", {"content-type": "multipart/form-data"},
                                   b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--x--\r\n",
                                   400),
    "multipart body not matching its boundary": ("POST", "/pets/1/photo",
                                                 {"content-type": "multipart/form-data; boundary=XX"},
                                                 b"garbage", 400),
    "non-UTF-8 body": ("POST", "/pets", JSON, b'{"name": "\xff\xfe"}', 400),
    "JSON nested deeper than 64 arrays": ("POST", "/pets", JSON, b"[" * 65 + b"]" * 65, 400),
    "JSON nested deeper than 64 objects": ("POST", "/pets", JSON, b'{"a":' * 100 + b"1" + b"}" * 100, 400),
    "body over 1 MB": ("POST", "/pets", JSON, b'{"name": "' + b"a" * 1_100_000 + b'"}', 413),
    "path parameter of the wrong type": ("GET", "/pets/abc", {}, b"", 404),
    "control character in a path parameter": ("GET", "/pets/%01", {}, b"", 404),
    "NUL in a path parameter": ("GET", "/pets/1%00", {}, b"", 404),
    "newline after a collection path": ("GET", "/pets%0A", {}, b"", 404),
}


@pytest.fixture(scope="module")
def hostile_target(tmp_path_factory) -> Iterator[str]:
    """One strict pets server shared by the hostile-input cases (none of them should change state)."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "pets.yaml").write_text(PETS_SPEC)
    (root / "fixtures").mkdir()
    server = start_server("--spec", str(root / "pets.yaml"), "--fixtures", str(root / "fixtures"), "--strict")
    yield server
    server.kill()


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_a_documented_4xx_never_a_500(hostile_target, case):
    method, path, headers, body, expected = BAD_INPUT[case]
    with hostile_target.client(headers=KEY) as client:
        response = client.request(method, path, headers=headers, content=body)
        assert response.status_code == expected, f"{case}: {response.status_code} {response.text[:300]}"
        entry = journal(client, limit=1)[0]
    assert entry["path"].startswith(path.split("%")[0])
    if entry["operationId"] is None:
        assert expected in (404, 405), "only 404/405 may answer a request no operation matches"
    else:
        assert expected in DOCUMENTED[entry["operationId"]], f"{case}: {expected} is not documented"
        assert entry["response"] == "valid", f"{case}: the error response itself broke the spec: {entry}"
        assert response.json()["code"] == expected, "the API's documented Error body"


CHALLENGE_SPEC = """
openapi: 3.0.3
info: {title: Challenge, version: "1"}
security: [{basicAuth: []}]
paths:
  /ping:
    get:
      operationId: ping
      responses:
        "200":
          description: pong
          content: {application/json: {schema: {type: string, enum: [pong]}}}
        "401":
          description: Dropwizard's default challenge
          headers:
            WWW-Authenticate: {schema: {type: string, example: 'Basic realm="realm"'}}
          content:
            text/plain:
              schema: {type: string, enum: [Credentials are required to access this resource.]}
components:
  securitySchemes:
    basicAuth: {type: http, scheme: basic}
"""


def test_text_error_body_and_example_headers_follow_the_documented_response(serve, tmp_path):
    spec = tmp_path / "challenge.yaml"
    spec.write_text(CHALLENGE_SPEC)
    server = serve("--spec", str(spec), "--strict")
    response = server.client().get("/ping")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Credentials are required to access this resource."
    assert response.headers["www-authenticate"] == 'Basic realm="realm"'
    assert server.client().get("/ping", auth=("u", "p")).json() == "pong"


def test_several_specs_are_served_together(serve, tmp_path):
    pets = tmp_path / "pets.yaml"
    pets.write_text(PETS_SPEC)
    challenge = tmp_path / "challenge.yaml"
    challenge.write_text(CHALLENGE_SPEC)
    server = serve("--spec", str(pets), "--spec", str(challenge), "--strict")
    health = server.client().get("/__admin/health").json()
    assert health["apis"] == ["challenge", "pets"]
    assert server.client().get("/ping", auth=("u", "p")).json() == "pong"
    assert server.client(headers=KEY).get("/pets").status_code == 200
    served = server.client().get("/openapi.json").json()
    assert {"/ping", "/pets", "/pets/{petId}"} <= set(served["paths"])


STORE_SPEC = """
openapi: 3.0.3
info: {title: Store, version: "1"}
paths:
  /store/pets:
    get:
      operationId: listStorePets
      responses:
        "200":
          description: Pets on sale
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}}}
components:
  schemas:
    Pet: {type: object, required: [sku], properties: {sku: {type: string, pattern: "^SKU-[0-9]{4}$"}}}
"""


def test_a_component_clashing_between_served_specs_is_renamed_and_both_shapes_are_served(serve, tmp_path):
    (tmp_path / "pets.yaml").write_text(PETS_SPEC)
    (tmp_path / "store.yaml").write_text(STORE_SPEC)
    server = serve("--spec", str(tmp_path / "pets.yaml"), "--spec", str(tmp_path / "store.yaml"), "--strict")
    schemas = server.client().get("/openapi.json").json()["components"]["schemas"]
    assert "Pet" in schemas and "store_Pet" in schemas
    assert schemas["store_Pet"]["required"] == ["sku"]
    on_sale = server.client().get("/store/pets")
    assert on_sale.status_code == 200 and all(p["sku"].startswith("SKU-") for p in on_sale.json())
    with server.client(headers=KEY) as client:
        pet = client.get(f"/pets/{create(client, name='Rex')['id']}").json()
    assert pet["name"] == "Rex" and "sku" not in pet


NOTES_31 = """
openapi: 3.1.0
info: {title: Notes, version: "1"}
paths:
  /notes:
    post:
      operationId: createNote
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/NewNote"}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
        "400": {description: bad}
    get:
      operationId: listNotes
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Note"}}}}
  /notes/{noteId}:
    get:
      operationId: getNote
      parameters: [{name: noteId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
        "404": {description: missing}
components:
  schemas:
    NewNote: {type: object, required: [text], properties: {text: {type: string}, tag: {type: ["string", "null"]}}}
    Note:
      type: object
      required: [id, text, createdAt]
      properties:
        id: {type: integer}
        text: {type: string}
        tag: {type: ["string", "null"]}
        createdAt: {type: string, format: date-time}
        score: {type: number, exclusiveMinimum: 0, exclusiveMaximum: 10}
"""


def test_an_openapi_31_document_is_served_statefully_and_validated(serve, tmp_path):
    (tmp_path / "notes.yaml").write_text(NOTES_31)
    server = serve("--spec", str(tmp_path / "notes.yaml"), "--strict")
    client = server.client()
    created = client.post("/notes", json={"text": "hi", "tag": None})
    assert created.status_code == 201 and created.json()["tag"] is None
    note = created.json()
    assert client.get(f"/notes/{note['id']}").json() == note
    assert 0 < note["score"] < 10
    assert client.post("/notes", json={"text": "x", "tag": 5}).status_code == 400
    assert client.get("/notes/999").status_code == 404
    verdicts = {e["response"] for e in client.get("/__admin/requests").json()}
    assert verdicts == {"valid"}
