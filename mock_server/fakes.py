"""Schema -> deterministic, realistic values (Faker), and ``conform``: fit a value to a schema.

Every value is a pure function of (seed, key, schema): the same resource id gives the same object
across calls and restarts. ``conform`` keeps what is already valid in a value (stored state) and
regenerates only what a schema does not accept, so one stored object can answer several operations
whose schemas differ slightly.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib
import math
import random
import re
import threading
import uuid
from typing import Any

import rstr
from faker import Faker

from mock_server import realism

# Generated moments fall near this anchor: the day the virtual clock starts on (BASE_EPOCH when
# no clock is given), so the same seed and start give the same values.
BASE_EPOCH = 1767225600  # 2026-01-01T00:00:00Z
MAX_DEPTH = 8
# Strings from a pattern stay of plausible length: rstr repeats `*` and `+` up to 100 times.
importlib.import_module("rstr.xeger").STAR_PLUS_LIMIT = 8
_UNSET = object()


def seed_for(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Resolver:
    """Resolves local ``$ref``s of one document, lazily, so recursive schemas are fine."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self._cache: dict[str, Any] = {}

    def pointer(self, ref: str) -> Any:
        if ref not in self._cache:
            node: Any = self.doc
            for raw in ref.lstrip("#/").split("/") if ref != "#" else []:
                key = raw.replace("~1", "/").replace("~0", "~")
                node = node[int(key)] if isinstance(node, list) else node[key]
            self._cache[ref] = node
        return self._cache[ref]

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            schema = self.pointer(schema["$ref"])
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def merged_all_of(self, schema: dict) -> dict:
        """Flatten ``allOf`` into one object schema. A branch with ``additionalProperties: false``
        admits only its own properties, so the flattened schema keeps just those."""
        schema = self.resolve(schema)
        if "allOf" not in schema:
            return schema
        out: dict = {k: v for k, v in schema.items() if k != "allOf"}
        props: dict = dict(out.get("properties") or {})
        required = list(out.get("required") or [])
        closed: set | None = set(props) if out.get("additionalProperties") is False else None
        for branch in schema["allOf"]:
            branch = self.merged_all_of(branch)
            for key, value in branch.items():
                if key not in ("properties", "required", "additionalProperties"):
                    out.setdefault(key, value)
            props.update(branch.get("properties") or {})
            required += [r for r in branch.get("required") or [] if r not in required]
            if branch.get("additionalProperties") is False:
                own = set(branch.get("properties") or {})
                closed = own if closed is None else closed & own
        if closed is not None:
            props = {k: v for k, v in props.items() if k in closed}
            out["additionalProperties"] = False
        if props:
            out["properties"] = props
            out.setdefault("type", "object")
        if required:
            out["required"] = required
        return out


def is_multiple(value: float, step: float) -> bool:
    """``multipleOf`` exactly as jsonschema (and so openapi-core and Schemathesis) judges it."""
    if isinstance(step, float) or isinstance(value, float):
        quotient = value / step
        return math.isfinite(quotient) and float(quotient).is_integer()
    return value % step == 0


def _type_of(schema: dict) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):  # OpenAPI 3.1
        t = next((x for x in t if x != "null"), None)
    if t:
        return t
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _nullable(schema: dict) -> bool:
    t = schema.get("type")
    return bool(schema.get("nullable")) or (isinstance(t, list) and "null" in t) or (
        "enum" in schema and None in schema["enum"])


_FORMAT_CHECKS = {
    "date-time": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.I),
    "date": re.compile(r"^\d{4}-\d\d-\d\d$"),
    "uuid": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I),
}


def _format_ok(value: str, fmt: str) -> bool:
    check = _FORMAT_CHECKS.get(fmt)
    if check is None:
        return True
    if not check.match(value):
        return False
    try:
        if fmt == "date-time":
            dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        elif fmt == "date":
            dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _discriminator_value(discriminator: dict, branch: Any) -> str | None:
    """The discriminator value naming ``branch``: its mapping key, else its schema name."""
    if not discriminator.get("propertyName") or not isinstance(branch, dict) or "$ref" not in branch:
        return None
    ref = branch["$ref"]
    name = ref.rsplit("/", 1)[-1]
    for key, target in (discriminator.get("mapping") or {}).items():
        if target in (ref, name):
            return key
    return name


class Validator:
    """A small OpenAPI 3.0/3.1 schema checker for the fake engine's own use (conform, oneOf).

    Responses are independently validated by openapi-core in the pipeline; this one only has to be
    strict enough that what ``conform`` keeps is valid.
    """

    def __init__(self, resolver: Resolver, direction: str = "response") -> None:
        self.r = resolver
        self.direction = direction

    def errors(self, value: Any, schema: Any, path: str = "") -> list[str]:
        schema = self.r.resolve(schema)
        if not schema:
            return []
        out: list[str] = []
        if value is None:
            return [] if _nullable(schema) or not schema else [f"{path or '/'}: null not allowed"]
        for branch in schema.get("allOf") or []:
            out += self.errors(value, branch, path)
        if "oneOf" in schema:
            matches = sum(1 for b in schema["oneOf"] if not self.errors(value, b, path))
            if matches != 1:
                out.append(f"{path or '/'}: matches {matches} oneOf branches")
        if "anyOf" in schema and not any(not self.errors(value, b, path) for b in schema["anyOf"]):
            out.append(f"{path or '/'}: matches no anyOf branch")
        if "not" in schema and not self.errors(value, schema["not"], path):
            out.append(f"{path or '/'}: matches 'not'")
        if "enum" in schema and value not in schema["enum"]:
            return out + [f"{path or '/'}: not in enum"]
        if "const" in schema and value != schema["const"]:
            return out + [f"{path or '/'}: not const"]
        t = _type_of(schema)
        if t is None and "properties" not in schema:
            return out
        checker = getattr(self, f"_check_{t or 'object'}", None)
        return out + (checker(value, schema, path or "/") if checker else [])

    def _check_object(self, value: Any, schema: dict, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        out = []
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            prop = self.r.resolve(props.get(name, {}))
            skip = prop.get("writeOnly") if self.direction == "response" else prop.get("readOnly")
            if name not in value and not skip:
                out.append(f"{path}: missing required {name!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                out += self.errors(item, props[key], f"{path}/{key}")
            elif extra is False:
                out.append(f"{path}: unexpected property {key!r}")
            elif isinstance(extra, dict):
                out += self.errors(item, extra, f"{path}/{key}")
        if len(value) < schema.get("minProperties", 0) or len(value) > schema.get("maxProperties", math.inf):
            out.append(f"{path}: wrong number of properties")
        return out

    def _check_array(self, value: Any, schema: dict, path: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        out = []
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", math.inf):
            out.append(f"{path}: wrong number of items")
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            out.append(f"{path}: items not unique")
        for index, item in enumerate(value):
            out += self.errors(item, schema.get("items", {}), f"{path}/{index}")
        return out

    def _check_string(self, value: Any, schema: dict, path: str) -> list[str]:
        if not isinstance(value, str):
            return [f"{path}: not a string"]
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", math.inf):
            return [f"{path}: wrong length"]
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return [f"{path}: does not match pattern"]
        if not _format_ok(value, schema.get("format", "")):
            return [f"{path}: bad {schema['format']}"]
        return []

    def _check_number(self, value: Any, schema: dict, path: str, integer: bool = False) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{path}: not a number"]
        if integer and not (isinstance(value, int) or float(value).is_integer()):
            return [f"{path}: not an integer"]
        low, high = schema.get("minimum"), schema.get("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
            low, ex_low = ex_low, True
        if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
            high, ex_high = ex_high, True
        if low is not None and (value < low or (ex_low and value == low)):
            return [f"{path}: below minimum"]
        if high is not None and (value > high or (ex_high and value == high)):
            return [f"{path}: above maximum"]
        step = schema.get("multipleOf")
        if step and not is_multiple(value, step):
            return [f"{path}: not a multiple of {step}"]
        return []

    def _check_integer(self, value: Any, schema: dict, path: str) -> list[str]:
        return self._check_number(value, schema, path, integer=True)

    def _check_boolean(self, value: Any, schema: dict, path: str) -> list[str]:
        return [] if isinstance(value, bool) else [f"{path}: not a boolean"]


class Fakes:
    """Deterministic fake values for one document and seed."""

    def __init__(self, doc: dict, seed: int, anchor: float | None = None) -> None:
        self.resolver = Resolver(doc)
        self.validator = Validator(self.resolver)
        self.seed = seed
        self.anchor = BASE_EPOCH if anchor is None else (anchor // realism.DAY) * realism.DAY
        self._faker = Faker()
        self._lock = threading.Lock()

    # -- generation ---------------------------------------------------------------------------
    def generate(self, schema: Any, *key: Any, name: str | None = None) -> Any:
        with self._lock:
            rng = random.Random(seed_for(self.seed, *key))
            self._faker.seed_instance(rng.getrandbits(64))
            return self._gen(schema, rng, name, 0)

    def _gen(self, schema: Any, rng: random.Random, name: str | None, depth: int) -> Any:
        schema = self.resolver.resolve(schema)
        if "allOf" in schema:
            schema = self.resolver.merged_all_of(schema)
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                return self._gen_choice(schema, keyword, rng, name, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = [v for v in schema["enum"] if v is not None] or [None]
            return options[rng.randrange(len(options))]
        if "default" in schema and rng.random() < 0.3:
            return schema["default"]
        t = _type_of(schema)
        if t == "object" or (t is None and depth == 0):
            return self._gen_object(schema, rng, depth)
        if t == "array":
            return self._gen_array(schema, rng, name, depth)
        if t == "integer":
            return self._gen_integer(schema, rng, name)
        if t == "number":
            return self._gen_number(schema, rng, name)
        if t == "boolean":
            return rng.random() < 0.5
        if t == "null":
            return None
        return self._gen_string(schema, rng, name)

    def _gen_choice(self, schema: dict, keyword: str, rng: random.Random, name: str | None, depth: int) -> Any:
        branches = schema[keyword]
        start = rng.randrange(len(branches))
        base = {k: v for k, v in schema.items() if k not in (keyword, "discriminator")}
        discriminator = schema.get("discriminator") or {}
        for offset in range(len(branches)):
            branch = branches[(start + offset) % len(branches)]
            candidate = {"allOf": [base, branch]} if base.get("properties") or base.get("required") else branch
            value = self._gen(candidate, rng, name, depth)
            tag = _discriminator_value(discriminator, branch)
            if tag is not None and isinstance(value, dict):
                value[discriminator["propertyName"]] = tag  # the value must name the branch it is
            if not self.validator.errors(value, schema):
                return value
        return self._gen(branches[start], rng, name, depth)

    def _gen_object(self, schema: dict, rng: random.Random, depth: int) -> dict:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict = {}
        for prop, sub in props.items():
            resolved = self.resolver.resolve(sub)
            if resolved.get("writeOnly"):
                continue
            if prop in required or depth < MAX_DEPTH // 2:
                out[prop] = self._gen(sub, rng, prop, depth + 1)
        extra = schema.get("additionalProperties")
        for prop in [r for r in schema.get("required") or [] if r not in props]:  # required, no schema
            out[prop] = self._gen(extra if isinstance(extra, dict) else {"type": "string"}, rng, prop, depth + 1)
        if isinstance(extra, dict) and not props and depth < MAX_DEPTH:
            for _ in range(max(schema.get("minProperties", 0), rng.randint(1, 2))):
                out[self._faker.word()] = self._gen(extra, rng, None, depth + 1)
        self._order_moments(out, props, rng)
        return out

    def _order_moments(self, out: dict, props: dict, rng: random.Random) -> None:
        """The moments of one object in the order their names say (created <= updated <= ended)."""
        fields = []
        for prop in out:
            sub = self.resolver.resolve(props.get(prop, {}))
            rank = realism.time_rank(prop, sub) if "enum" not in sub and "const" not in sub else None
            if rank is not None:
                fields.append((prop, sub, rank))
        if not fields:
            return
        for (prop, sub, _), moment in zip(fields, realism.moments([r for *_, r in fields], self.anchor, rng),
                                          strict=True):
            value = realism.render_time(moment, prop, sub)
            if not self.validator.errors(value, sub):
                out[prop] = value

    def _gen_array(self, schema: dict, rng: random.Random, name: str | None, depth: int) -> list:
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", low + 3)
        count = low if depth >= MAX_DEPTH else rng.randint(max(low, min(1, high)), max(low, min(high, low + 3)))
        items = schema.get("items", {})
        out: list = []
        for _ in range(count * 4):
            if len(out) >= count:
                break
            value = self._gen(items, rng, name, depth + 1)
            if not schema.get("uniqueItems") or value not in out:
                out.append(value)
        return out

    def _gen_integer(self, schema: dict, rng: random.Random, name: str | None) -> int:
        low, high = self._bounds(schema, integer=True)
        rank = realism.time_rank(name, schema)
        if rank is not None and not schema.get("multipleOf"):
            value = realism.render_time(realism.moments([rank], self.anchor, rng)[0], name, schema)
            if low <= value <= high:
                return value
        if name and (name == "id" or name.endswith(("Id", "_id", "ID"))):
            preferred = (1, 99999)
        else:
            preferred = realism.integer_range(name) or (0, 1000)
        lo, hi = max(low, preferred[0]), min(high, preferred[1])
        if lo > hi:
            lo, hi = low, min(high, low + 1000)
        step = schema.get("multipleOf")
        if step:
            found = self._multiple(rng, step, lo, hi, integer=True) or self._multiple(rng, step, low, high, True)
            return found if found is not None else int(lo)
        return rng.randint(int(lo), int(hi))

    def _gen_number(self, schema: dict, rng: random.Random, name: str | None = None) -> float:
        low, high = self._bounds(schema, integer=False)
        counted = realism.integer_range(name)
        if counted and not schema.get("multipleOf"):
            # A number that counts or orders things is whole, even where the schema says "number".
            lo, hi = max(math.ceil(low), counted[0]), min(math.floor(high), counted[1])
            if lo <= hi:
                return rng.randint(lo, hi)
        lo, hi = max(low, 0.0), min(high, 1000.0)
        if lo > hi:
            lo, hi = low, min(high, low + 1000.0)
        step = schema.get("multipleOf")
        if step:
            found = self._multiple(rng, step, lo, hi, integer=False)
            found = found if found is not None else self._multiple(rng, step, low, high, integer=False)
            return found if found is not None else lo
        value = round(rng.uniform(lo, hi), 2)
        return value if lo <= value <= hi else lo

    @staticmethod
    def _multiple(rng: random.Random, step: float, lo: float, hi: float, integer: bool) -> float | None:
        """A multiple of ``step`` within [lo, hi] that passes ``is_multiple`` despite float error."""
        first = math.ceil(max(lo, -2**53) / step - 1e-9)
        last = math.floor(min(hi, 2**53) / step + 1e-9)
        if first > last:
            return None
        start = rng.randint(first, min(last, first + 1000))
        for k in [*range(start, min(last, start + 64) + 1), *range(first, min(last, first + 64) + 1)]:
            value = k * step
            value = int(round(value)) if integer else round(value, 12)
            if lo <= value <= hi and is_multiple(value, step):
                return value
        return None

    @staticmethod
    def _bounds(schema: dict, integer: bool) -> tuple[float, float]:
        big = 2**31 - 1 if schema.get("format") == "int32" else 2**53
        low, high = schema.get("minimum", -big), schema.get("maximum", big)
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        eps = 1 if integer else 0.01
        if isinstance(ex_low, bool):
            low = low + eps if ex_low else low
        elif ex_low is not None:
            low = ex_low + eps
        if isinstance(ex_high, bool):
            high = high - eps if ex_high else high
        elif ex_high is not None:
            high = ex_high - eps
        if integer:
            low, high = math.ceil(low), math.floor(high)
        return low, high

    def _gen_string(self, schema: dict, rng: random.Random, name: str | None) -> str:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        pattern = schema.get("pattern")
        for _ in range(8):
            value = self._string_value(schema, rng, name, pattern)
            if high is not None and len(value) > high:
                value = value[:high]
            if len(value) < low:
                value = value + "".join(rng.choice("abcdefghij") for _ in range(low - len(value)))
            if not self.validator._check_string(value, schema, "/"):
                return value
        return value

    def _string_value(self, schema: dict, rng: random.Random, name: str | None, pattern: str | None) -> str:
        fmt = schema.get("format", "")
        f = self._faker
        if realism.wants_example_form(name, schema):
            varied = realism.vary_example(schema["example"], rng)
            if not self.validator._check_string(varied, schema, "/"):
                return varied
        rank = realism.time_rank(name, schema)
        if rank is not None and fmt not in ("uuid", "email", "uri"):
            moment = realism.moments([rank], self.anchor, rng)[0]
            return realism.render_time(moment, name, schema)
        if pattern:
            try:
                return rstr.Rstr(rng).xeger(pattern)
            except Exception:  # noqa: BLE001 - an exotic regex; fall through to heuristics
                pass
        if fmt in ("date-time", "date"):
            return realism.render_time(realism.moments([1.5], self.anchor, rng)[0], name, schema)
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fmt == "email" or (name and "email" in name.lower()):
            return f.email()
        if fmt in ("uri", "url", "uri-reference") or (name and name.lower().endswith(("url", "uri", "href"))):
            return f.url()
        if fmt == "hostname" or (name and name.lower().endswith(("hostname", "host"))):
            return f.hostname()
        if fmt == "ipv4" or (name and name.lower() in ("ip", "ipaddress", "ipv4")):
            return f.ipv4()
        if fmt == "ipv6":
            return f.ipv6()
        if fmt == "byte":
            return base64.b64encode(f.binary(length=12)).decode()
        if fmt == "password":
            return f.password()
        return self._string_by_name(rng, name)

    def _string_by_name(self, rng: random.Random, name: str | None) -> str:
        f = self._faker
        lowered = (name or "").lower()
        if lowered in ("id", "sid") or lowered.endswith(("id", "_id")):
            return str(rng.randint(1, 99999))
        if lowered.endswith(("firstname", "first_name")):
            return f.first_name()
        if lowered.endswith(("lastname", "last_name")):
            return f.last_name()
        if lowered in ("username", "user", "owner", "author"):
            return f.user_name()
        if lowered.endswith("name"):
            return f"{f.word()}-{f.word()}"
        if any(word in lowered for word in ("description", "summary", "message", "text", "comment", "reason")):
            return f.sentence(nb_words=6)
        if "country" in lowered:
            return f.country_code()
        if "city" in lowered:
            return f.city()
        if "timezone" in lowered:
            return f.timezone()
        if "phone" in lowered:
            return f.phone_number()
        if "version" in lowered:
            return f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 50)}"
        return f.word()

    # -- conform ------------------------------------------------------------------------------
    def conform(self, value: Any, schema: Any, *key: Any, name: str | None = None) -> Any:
        """Return ``value`` fitted to ``schema``: valid parts kept, the rest generated from ``key``."""
        schema = self.resolver.resolve(schema)
        if not self.validator.errors(value, schema):
            return value
        if value is None or "oneOf" in schema or "anyOf" in schema or "enum" in schema:
            return self.generate(schema, *key, name=name)
        if "allOf" in schema:
            schema = self.resolver.merged_all_of(schema)
        t = _type_of(schema)
        if t == "object" and isinstance(value, dict):
            fitted = self._conform_object(value, schema, key)
        elif t == "array" and isinstance(value, list):
            fitted = self._conform_array(value, schema, key, name)
        else:
            fitted = _UNSET
        if fitted is _UNSET or self.validator.errors(fitted, schema):
            return self.generate(schema, *key, name=name)
        return fitted

    def _conform_object(self, value: dict, schema: dict, key: tuple) -> dict:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        extra = schema.get("additionalProperties", True)
        out: dict = {}
        for prop, item in value.items():
            if prop in props:
                if not self.resolver.resolve(props[prop]).get("writeOnly"):
                    out[prop] = self.conform(item, props[prop], *key, prop, name=prop)
            elif isinstance(extra, dict):
                out[prop] = self.conform(item, extra, *key, prop)
            elif extra is not False:
                out[prop] = item
        for prop in required:
            if prop not in out and prop in props and not self.resolver.resolve(props[prop]).get("writeOnly"):
                out[prop] = self.generate(props[prop], *key, prop, name=prop)
        return out

    def _conform_array(self, value: list, schema: dict, key: tuple, name: str | None) -> list:
        items = schema.get("items", {})
        out = [self.conform(item, items, *key, index, name=name) for index, item in enumerate(value)]
        if schema.get("uniqueItems"):
            out = [v for i, v in enumerate(out) if v not in out[:i]]
        out = out[: schema.get("maxItems", len(out))]
        index = len(out)
        while len(out) < schema.get("minItems", 0) and index < len(out) + 50:
            candidate = self.generate(items, *key, "pad", index, name=name)
            index += 1
            if not schema.get("uniqueItems") or candidate not in out:
                out.append(candidate)
        return out
