"""State snapshots as the admin API shows and accepts them.

``check`` refuses an import before anything is written, vendor by vendor, in the order of what each
declares (``Vendor.records``, ``keys``, ``sequences``, ``references``, then its own ``check``):
every record matches the schema of its collection and is filed under the key and collection its
fields name; every sequence is past the ids already in use, so the next create can never
overwrite a record; every record names only records that exist; and the clock must be a valid
clock. ``masked`` hides the values vendors declare secret (``Vendor.secrets``) in an export.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from jsonschema import Draft7Validator

from mock_server.clock import MAX_SCALE, finite
from mock_server.errors import excerpt
from mock_server.vendor import Numbering, Vendor

KEY = "$key"   # in a field path: the record's key itself
_FIELD = re.compile(r"\{([^{}]+)\}")


def _split(collection: str) -> tuple[str, str]:
    """("jobs", "runs@a") of the store collection "jobs/runs@a" (a vendor's namespace prefix)."""
    api, _, local = collection.partition("/")
    return (api, local) if local else ("", collection)


def _matching(patterns: Iterable[str], name: str) -> list[str]:
    return [p for p in patterns if fnmatchcase(name, p)]


def values_at(value: Any, path: str) -> Iterator[Any]:
    """Every value at the dotted ``path`` of ``value``, lists walked through."""
    if isinstance(value, list):
        for item in value:
            yield from values_at(item, path)
    elif not path:
        yield value
    elif isinstance(value, dict):
        head, _, rest = path.partition(".")
        if head in value:
            yield from values_at(value[head], rest)


def _pattern(template: str) -> str:
    """The fnmatch pattern of a collection template: "tasks@{account}" -> "tasks@*"."""
    return _FIELD.sub("*", template)


def _filled(template: str, record: Mapping[str, Any]) -> str | None:
    """``template`` with each ``{field}`` replaced by the record's value; None when one is missing."""
    parts = []
    for field in _FIELD.findall(template):
        value = record.get(field)
        if value is None or isinstance(value, dict | list | bool):
            return None
        parts.append(str(value))
    pieces = _FIELD.split(template)
    return "".join(p if i % 2 == 0 else parts[i // 2] for i, p in enumerate(pieces))


def check(snapshot: Mapping[str, Any], vendors: Mapping[str, Vendor], *, seed: int = 0) -> None:
    """Raise ``ValueError`` naming the first thing in ``snapshot`` the served data model refuses.
    ``seed`` is the server's (what minted ids are made from)."""
    collections = snapshot.get("collections") or {}
    by_api: dict[str, dict[str, dict]] = {}
    for collection, rows in collections.items():
        if not isinstance(rows, dict):
            raise ValueError(f"collection {excerpt(collection, 80)!r} must be an object of records")
        for key, record in rows.items():
            if not isinstance(record, dict):
                raise ValueError(f"record {excerpt(collection, 80)}/{excerpt(key, 40)} must be an object")
        api, local = _split(collection)
        by_api.setdefault(api, {})[local] = rows
    sequences = snapshot.get("sequences") or {}
    for name, vendor in vendors.items():
        own = by_api.get(name, {})
        _fits_records(name, vendor, own)
        _fits_keys(name, vendor, own)
        for sequence, numbering in vendor.sequences.items():
            _fits_sequence(f"{name}/{sequence}", sequences.get(f"{name}/{sequence}", 0), numbering, name, own, seed)
        _fits_references(name, vendor, own)
        if vendor.check is not None:
            vendor.check(own)
    clock = (snapshot.get("meta") or {}).get("clock")
    if clock is not None:
        if not isinstance(clock, dict):
            raise ValueError("meta.clock must be an object")
        finite(clock.get("now"), "meta.clock.now")
        for field in ("scale", "wall"):
            if field in clock:
                finite(clock[field], f"meta.clock.{field}")
        if not 0 < clock.get("scale", 1) <= MAX_SCALE:
            raise ValueError(f"meta.clock.scale must be > 0 and <= {MAX_SCALE:g}")


def _where(api: str, local: str, key: str) -> str:
    return f"{excerpt(f'{api}/{local}', 80)}/{excerpt(key, 40)}"


def _fits_records(api: str, vendor: Vendor, own: Mapping[str, dict]) -> None:
    validators: dict[str, Draft7Validator] = {}
    for local, rows in own.items():
        for pattern in _matching(vendor.records, local):
            if pattern not in validators:
                validators[pattern] = Draft7Validator(vendor.records[pattern])
            validator = validators[pattern]
            for key, record in rows.items():
                error = next(iter(validator.iter_errors(record)), None)
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path) or "(the record)"
                    raise ValueError(f"record {_where(api, local, key)} does not fit the {api} data model at "
                                     f"{excerpt(where, 80)}: {excerpt(error.message, 160)}")


def _fits_keys(api: str, vendor: Vendor, own: Mapping[str, dict]) -> None:
    for template, key_template in vendor.keys.items():
        for local in (c for c in own if fnmatchcase(c, _pattern(template))):
            for key, record in own[local].items():
                if _filled(template, record) != local:
                    raise ValueError(f"record {_where(api, local, key)}: its fields file it under "
                                     f"{template!r}, not {excerpt(local, 80)!r}")
                expected = _filled(key_template, record)
                if expected != key:
                    raise ValueError(f"record {_where(api, local, key)}: its key must be its {key_template!r}"
                                     + (f" ({excerpt(expected, 40)!r})" if expected is not None else ""))


def _fits_references(api: str, vendor: Vendor, own: Mapping[str, dict]) -> None:
    for template, references in vendor.references.items():
        for local in (c for c in own if fnmatchcase(c, _pattern(template))):
            for key, record in own[local].items():
                for path, target_template in references.items():
                    target = _filled(target_template, record)
                    for value in [key] if path == KEY else values_at(record, path):
                        if value is None:
                            continue
                        if target is None or str(value) not in own.get(target, {}):
                            shown = target if target is not None else target_template
                            raise ValueError(f"record {_where(api, local, key)}: no {excerpt(f'{api}/{shown}', 80)}/"
                                             f"{excerpt(str(value), 40)} (its {path})")


def _ids(numbering: Numbering, own: Mapping[str, dict]) -> Iterator[Any]:
    for local, rows in own.items():
        if any(fnmatchcase(local, p) for p in numbering.patterns):
            for key, record in rows.items():
                yield from [key] if numbering.at == KEY else values_at(record, numbering.at)


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _fits_sequence(name: str, value: int, numbering: Numbering, api: str, own: Mapping[str, dict],
                   seed: int) -> None:
    numbered = ", ".join(f"{api}/{p}" for p in numbering.patterns)
    if numbering.minted is None:
        largest = max((n for n in map(_number, _ids(numbering, own)) if n is not None), default=0)
        if value < largest:
            raise ValueError(f"sequence {name} is {value}, below the id {largest} already used in {numbered}: "
                             f"the next create would overwrite a record")
        return
    # A run hands out ids 1, 2, ... and keeps each (minted ids are never freed), so the ids in use
    # were made from at most as many numbers as there are ids: those past ``value`` must be free.
    used = {str(i) for i in _ids(numbering, own)}
    for n in range(value + 1, value + len(used) + 1):
        minted = numbering.minted(seed, n)
        if minted in used:
            raise ValueError(f"sequence {name} is {value}, but its id number {n} ({excerpt(minted, 40)}) is "
                             f"already used in {numbered}: a create would overwrite a record")


def _mask(value: Any) -> str:
    return "masked:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def masked(snapshot: dict, vendors: Mapping[str, Vendor]) -> dict:
    """``snapshot`` with every declared secret replaced by a stable, unreadable stand-in."""
    out = dict(snapshot)
    collections = {}
    for collection, rows in (snapshot.get("collections") or {}).items():
        api, local = _split(collection)
        vendor = vendors.get(api)
        fields = [f for p in _matching(vendor.secrets, local) for f in vendor.secrets[p]] if vendor else []
        if fields:
            paths = [f.lower().split(".") for f in fields if f != KEY]
            rows = {(_mask(key) if KEY in fields else key): _masked_record(record, paths)
                    for key, record in rows.items()}
        collections[collection] = rows
    out["collections"] = collections
    return out


def _masked_record(value: Any, paths: list[list[str]]) -> Any:
    """``value`` with what each path names masked (path parts: lower-case fnmatch patterns)."""
    for path in paths:
        value = _masked_at(value, path)
    return value


def _masked_at(value: Any, path: list[str]) -> Any:
    if isinstance(value, list):
        return [_masked_at(item, path) for item in value]
    if not isinstance(value, dict):
        return value
    head, rest = path[0], path[1:]
    out = {}
    for name, item in value.items():
        if fnmatchcase(name.lower(), head):
            item = (_mask(item) if item not in (None, "") else item) if not rest else _masked_at(item, rest)
        out[name] = item
    return out
