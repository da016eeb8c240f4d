"""Schema fakes: deterministic per (seed, key), valid for their schema, realistic by property name;
``conform`` keeps what is valid and repairs the rest.

Validity is judged by openapi-schema-validator (the response direction: ``OAS30ReadValidator``),
not by the fake engine's own validator, so a shared misunderstanding cannot hide a bug.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from mock_server.fakes import BASE_EPOCH, Fakes

SCHEMAS: dict[str, Any] = {
    "Cat": {"type": "object", "required": ["petType", "meow"], "additionalProperties": False,
            "properties": {"petType": {"type": "string", "enum": ["cat"]}, "meow": {"type": "boolean"}}},
    "Dog": {"type": "object", "required": ["petType", "bark"], "additionalProperties": False,
            "properties": {"petType": {"type": "string", "enum": ["dog"]},
                           "bark": {"type": "integer", "minimum": 1, "maximum": 3}}},
    # The OpenAPI specification's own discriminator example: the property is a plain string and
    # only the mapping says which value names which schema.
    "Lizard": {"type": "object", "required": ["petType", "lovesRocks"],
               "properties": {"petType": {"type": "string"}, "lovesRocks": {"type": "boolean"}}},
    "Snake": {"type": "object", "required": ["petType", "length"],
              "properties": {"petType": {"type": "string"}, "length": {"type": "integer", "minimum": 1}}},
    "Audited": {"type": "object", "required": ["id", "createdAt"],
                "properties": {"id": {"type": "integer", "readOnly": True, "minimum": 1},
                               "createdAt": {"type": "string", "format": "date-time", "readOnly": True}}},
    "Node": {"type": "object", "required": ["value"],
             "properties": {"value": {"type": "integer"},
                            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
    "Pet": {"type": "object", "additionalProperties": False, "required": ["id", "name", "tag", "password"],
            "properties": {"id": {"type": "integer", "readOnly": True, "minimum": 1},
                           "name": {"type": "string", "minLength": 1, "maxLength": 12},
                           "tag": {"type": "string", "enum": ["cat", "dog", "bird"]},
                           "weight": {"type": "number", "minimum": 0.5, "maximum": 90},
                           "password": {"type": "string", "writeOnly": True},
                           "toys": {"type": "array", "maxItems": 2, "uniqueItems": True,
                                    "items": {"type": "string", "enum": ["ball", "rope", "bone"]}}}},
}
DOC = {"openapi": "3.0.3", "components": {"schemas": SCHEMAS}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


TRICKY: dict[str, Any] = {
    "enum": {"type": "string", "enum": ["queued", "running", "done"]},
    "nullable enum": {"type": "string", "nullable": True, "enum": ["a", "b", None]},
    "integer min/max": {"type": "integer", "minimum": 5, "maximum": 7},
    "negative range": {"type": "integer", "minimum": -50, "maximum": -10},
    "integer exclusive bounds": {"type": "integer", "minimum": 0, "maximum": 3,
                                 "exclusiveMinimum": True, "exclusiveMaximum": True},
    "number exclusive bounds": {"type": "number", "minimum": 0, "maximum": 1,
                                "exclusiveMinimum": True, "exclusiveMaximum": True},
    "int32 at its top": {"type": "integer", "format": "int32", "maximum": 2147483647, "exclusiveMaximum": True},
    "narrow number": {"type": "number", "minimum": 0.1, "maximum": 0.2},
    "integer multipleOf within bounds": {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 7},
    "number multipleOf": {"type": "number", "minimum": 1, "maximum": 10, "multipleOf": 0.5},
    "number multipleOf a decimal": {"type": "number", "minimum": 0.3, "maximum": 0.9, "multipleOf": 0.1},
    "pattern": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
    "pattern with lengths": {"type": "string", "pattern": "^[a-z]+$", "minLength": 3, "maxLength": 5},
    "lengths": {"type": "string", "minLength": 5, "maxLength": 8},
    "date-time": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "uuid": {"type": "string", "format": "uuid"},
    "email": {"type": "string", "format": "email"},
    "nullable": {"type": "string", "nullable": True},
    "readOnly and writeOnly": {"type": "object", "required": ["id", "password", "name"],
                               "properties": {"id": {"type": "integer", "readOnly": True},
                                              "password": {"type": "string", "writeOnly": True},
                                              "name": {"type": "string"}}},
    "additionalProperties false": {"type": "object", "additionalProperties": False, "required": ["a"],
                                   "properties": {"a": {"type": "string"},
                                                  "b": {"type": "object", "additionalProperties": False,
                                                        "properties": {"c": {"type": "integer"}}}}},
    "map": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer", "minimum": 0}},
    "oneOf with discriminator (enum-typed)": {
        "oneOf": [ref("Cat"), ref("Dog")],
        "discriminator": {"propertyName": "petType",
                          "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}},
    "oneOf with discriminator (mapping only)": {
        "oneOf": [ref("Lizard"), ref("Snake")],
        "discriminator": {"propertyName": "petType",
                          "mapping": {"lizard": "#/components/schemas/Lizard",
                                      "snake": "#/components/schemas/Snake"}}},
    "oneOf with overlapping branches": {"oneOf": [{"type": "string"}, {"type": "string", "format": "uuid"}]},
    "anyOf": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "integer", "minimum": 1}]},
    "allOf": {"allOf": [ref("Audited"), {"type": "object", "required": ["name"],
                                         "properties": {"name": {"type": "string", "minLength": 1}}}]},
    "array bounds, unique": {"type": "array", "minItems": 2, "maxItems": 4, "uniqueItems": True,
                             "items": {"type": "integer", "minimum": 1, "maximum": 5}},
    "array needing every enum value": {"type": "array", "minItems": 3, "uniqueItems": True,
                                       "items": {"type": "string", "enum": ["a", "b", "c"]}},
    "empty array only": {"type": "array", "maxItems": 0, "items": {"type": "string"}},
    "recursive": ref("Node"),
    "object with everything": ref("Pet"),
}


def judge(schema: Any, value: Any) -> list[str]:
    """Every reason openapi-schema-validator gives for ``value`` not being a valid response of ``schema``."""
    root = {**schema, "components": DOC["components"]}
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}"
              for e in OAS30ReadValidator(root, format_checker=oas30_format_checker).iter_errors(value)]
    discriminator = schema.get("discriminator")
    if discriminator and isinstance(value, dict):
        # Whatever a validator makes of it, the discriminator value must name the branch the value is.
        name = discriminator["propertyName"]
        target = (discriminator.get("mapping") or {}).get(value.get(name))
        if target is None:
            errors.append(f"discriminator {name}={value.get(name)!r} names no mapped schema")
        elif judge({"$ref": target}, value):
            errors.append(f"discriminator {name}={value.get(name)!r} names {target}, which the value is not")
    return errors


@pytest.fixture(scope="module")
def fakes() -> Fakes:
    return Fakes(DOC, seed=1)


@pytest.mark.parametrize("label", list(TRICKY))
def test_generated_values_validate_against_their_schema(label: str):
    schema = TRICKY[label]
    invalid = []
    for seed in (1, 2):
        fakes = Fakes(DOC, seed)
        for key in range(40):
            value = fakes.generate(schema, "item", key)
            problems = judge(schema, value)
            if problems:
                invalid.append(f"seed {seed} key {key}: {value!r} -> {problems[:2]}")
    assert not invalid, f"{len(invalid)} of 80 generated values are invalid for {label!r}:\n" + "\n".join(invalid[:5])


def test_generation_varies_within_a_schema(fakes: Fakes):
    """Not one constant per schema: keys pick different values where the schema allows them."""
    for label in ("integer min/max", "pattern", "uuid", "email", "oneOf with discriminator (enum-typed)"):
        values = {repr(fakes.generate(TRICKY[label], "item", key)) for key in range(30)}
        assert len(values) > 1, f"{label}: every key generated the same value {values}"


def test_same_seed_and_key_give_identical_values_across_instances():
    schema = ref("Pet")
    first = [Fakes(DOC, 7).generate(schema, "item", "/pets", n) for n in range(10)]
    again = [Fakes(DOC, 7).generate(schema, "item", "/pets", n) for n in range(10)]
    assert first == again


def test_same_key_gives_the_same_value_whatever_was_generated_before(fakes: Fakes):
    alone = Fakes(DOC, 1).generate(ref("Pet"), "item", "/pets", 3)
    for n in range(5):
        fakes.generate(ref("Node"), "noise", n)
    assert fakes.generate(ref("Pet"), "item", "/pets", 3) == alone


def test_different_ids_give_different_objects(fakes: Fakes):
    objects = [fakes.generate(ref("Pet"), "item", "/pets", n) for n in range(20)]
    distinct = {repr(o) for o in objects}
    assert len(distinct) == len(objects), "two ids generated the same object"


def test_different_seeds_give_different_objects():
    one = [Fakes(DOC, 1).generate(ref("Pet"), "item", "/pets", n) for n in range(10)]
    two = [Fakes(DOC, 2).generate(ref("Pet"), "item", "/pets", n) for n in range(10)]
    assert all(a != b for a, b in zip(one, two, strict=True))


def test_generated_objects_leave_out_write_only_properties(fakes: Fakes):
    for n in range(20):
        assert "password" not in fakes.generate(ref("Pet"), "item", n)


NAMED = {"type": "object", "properties": {
    "email": {"type": "string"}, "ownerEmail": {"type": "string"}, "homepageUrl": {"type": "string"},
    "avatarUri": {"type": "string"}, "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
    "startedAt": {"type": "integer"}, "hostname": {"type": "string"}, "userId": {"type": "integer"},
    "firstName": {"type": "string"}}}
_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_HOSTNAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


@pytest.mark.parametrize("key", range(5))
def test_property_names_give_realistic_values(fakes: Fakes, key: int):
    value = fakes.generate(NAMED, "named", key)
    assert _EMAIL.match(value["email"]), value["email"]
    assert _EMAIL.match(value["ownerEmail"]), value["ownerEmail"]
    for name in ("homepageUrl", "avatarUri"):
        assert re.match(r"^https?://[a-z0-9.-]+\.[a-z]{2,}/", value[name]), f"{name}={value[name]!r}"
    for name in ("createdAt", "updatedAt"):
        moment = dt.datetime.fromisoformat(value[name].replace("Z", "+00:00"))
        assert moment.tzinfo is not None, f"{name}={value[name]!r} has no zone"
        assert 2020 <= moment.year <= 2035, f"{name}={value[name]!r} is not a plausible time"
    assert BASE_EPOCH - 32 * 86400 <= value["startedAt"] <= BASE_EPOCH, "an integer *At is unix seconds, recent"
    assert _HOSTNAME.match(value["hostname"]), value["hostname"]
    assert value["userId"] >= 1
    assert value["firstName"][:1].isupper() and value["firstName"].isalpha(), value["firstName"]


def test_format_uuid_is_a_real_uuid(fakes: Fakes):
    value = fakes.generate({"type": "string", "format": "uuid"}, "u", 1)
    assert str(uuid.UUID(value)) == value.lower()


# -- conform ------------------------------------------------------------------------------------
def test_conform_returns_a_valid_value_unchanged(fakes: Fakes):
    pet = {"id": 3, "name": "Rex", "tag": "dog", "weight": 12.5, "toys": ["ball"]}
    assert fakes.conform(pet, ref("Pet"), "item", 3) == pet


def test_conform_keeps_valid_fields_and_repairs_invalid_ones(fakes: Fakes):
    broken = {"id": 3, "name": "Rex", "tag": "unicorn", "weight": -4, "extra": "not allowed",
              "password": "secret", "toys": ["ball", "ball", "rope", "bone"]}
    fixed = fakes.conform(broken, ref("Pet"), "item", 3)
    assert judge(ref("Pet"), fixed) == [], fixed
    assert fixed["id"] == 3 and fixed["name"] == "Rex", "valid fields are kept as they were"
    assert fixed["tag"] in ("cat", "dog", "bird")
    assert 0.5 <= fixed["weight"] <= 90
    assert "extra" not in fixed, "a property additionalProperties: false forbids is dropped"
    assert "password" not in fixed, "a writeOnly property never goes out in a response"
    assert fixed["toys"][0] == "ball" and len(fixed["toys"]) <= 2


def test_conform_fills_in_missing_required_properties(fakes: Fakes):
    fixed = fakes.conform({"name": "Rex"}, ref("Pet"), "item", 9)
    assert fixed["name"] == "Rex"
    assert {"id", "tag"} <= set(fixed)
    assert judge(ref("Pet"), fixed) == []


def test_conform_is_deterministic_for_the_same_key(fakes: Fakes):
    broken = {"name": "Rex", "tag": "unicorn"}
    assert fakes.conform(broken, ref("Pet"), "item", 4) == Fakes(DOC, 1).conform(broken, ref("Pet"), "item", 4)


def test_conform_pads_and_trims_arrays_to_their_bounds(fakes: Fakes):
    schema = {"type": "array", "minItems": 3, "maxItems": 4, "uniqueItems": True,
              "items": {"type": "integer", "minimum": 1, "maximum": 50}}
    short = fakes.conform([7], schema, "arr", 1)
    assert short[0] == 7 and judge(schema, short) == [], short
    long = fakes.conform([1, 2, 3, 4, 5, 6], schema, "arr", 2)
    assert long == [1, 2, 3, 4]
    duplicated = fakes.conform([5, 5, 6, 6, 7], schema, "arr", 3)
    assert duplicated[:3] == [5, 6, 7] and judge(schema, duplicated) == []
    wrong_items = fakes.conform([1, "two", 3], schema, "arr", 4)
    assert wrong_items[0] == 1 and wrong_items[2] == 3 and judge(schema, wrong_items) == []


def test_conform_replaces_null_unless_nullable(fakes: Fakes):
    assert fakes.conform(None, {"type": "string", "nullable": True}, "n", 1) is None
    replaced = fakes.conform(None, {"type": "string", "format": "uuid"}, "n", 1)
    assert judge({"type": "string", "format": "uuid"}, replaced) == []


def test_conform_picks_a_valid_branch_for_a_discriminated_union(fakes: Fakes):
    schema = TRICKY["oneOf with discriminator (enum-typed)"]
    fixed = fakes.conform({"petType": "cat", "bark": 2}, schema, "u", 1)
    assert judge(schema, fixed) == [], fixed
