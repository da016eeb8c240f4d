"""State snapshots as the admin API shows and accepts them.

``check`` refuses an import before anything is written: every record must match the schema its
vendor declares for its collection (``Vendor.records``) and the vendor's own consistency check
(``Vendor.check``, for references between records), every sequence must be at least the
largest integer key of the collections it numbers (``Vendor.sequences``), so the next create can
never overwrite a record, and the clock must be a valid clock. ``masked`` hides the values vendors
declare secret (``Vendor.secrets``) in an export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from jsonschema import Draft7Validator

from mock_server.clock import MAX_SCALE, finite
from mock_server.errors import excerpt
from mock_server.vendor import Vendor

KEY = "$key"   # in Vendor.secrets: the record's key itself is the secret


def _split(collection: str) -> tuple[str, str]:
    """("jobs", "runs@a") of the store collection "jobs/runs@a" (a vendor's namespace prefix)."""
    api, _, local = collection.partition("/")
    return (api, local) if local else ("", collection)


def _matching(patterns: Iterable[str], name: str) -> list[str]:
    return [p for p in patterns if fnmatchcase(name, p)]


def check(snapshot: Mapping[str, Any], vendors: Mapping[str, Vendor]) -> None:
    """Raise ``ValueError`` naming the first thing in ``snapshot`` the served data model refuses."""
    collections = snapshot.get("collections") or {}
    validators: dict[tuple[str, str], Draft7Validator] = {}
    for collection, rows in collections.items():
        if not isinstance(rows, dict):
            raise ValueError(f"collection {excerpt(collection, 80)!r} must be an object of records")
        api, local = _split(collection)
        vendor = vendors.get(api)
        for key, record in rows.items():
            if not isinstance(record, dict):
                raise ValueError(f"record {excerpt(collection, 80)}/{excerpt(key, 40)} must be an object")
        if vendor is None:
            continue
        for pattern in _matching(vendor.records, local):
            if (api, pattern) not in validators:
                validators[(api, pattern)] = Draft7Validator(vendor.records[pattern])
            for key, record in rows.items():
                error = next(iter(validators[(api, pattern)].iter_errors(record)), None)
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path) or "(the record)"
                    raise ValueError(f"record {excerpt(collection, 80)}/{excerpt(key, 40)} does not fit the "
                                     f"{api} data model at {excerpt(where, 80)}: {excerpt(error.message, 160)}")
    sequences = snapshot.get("sequences") or {}
    for name, vendor in vendors.items():
        for sequence, numbered in vendor.sequences.items():
            largest = max((int(key) for collection, rows in collections.items()
                           if _split(collection)[0] == name and fnmatchcase(_split(collection)[1], numbered)
                           for key in rows if key.isascii() and key.isdigit()), default=0)
            value = sequences.get(f"{name}/{sequence}", 0)
            if value < largest:
                raise ValueError(f"sequence {name}/{sequence} is {value}, below the id {largest} already used "
                                 f"in {name}/{numbered}: the next create would overwrite a record")
    for name, vendor in vendors.items():
        if vendor.check is not None:
            vendor.check({_split(c)[1]: rows for c, rows in collections.items() if _split(c)[0] == name})
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
            rows = {(_mask(key) if KEY in fields else key): _masked_record(record, fields)
                    for key, record in rows.items()}
        collections[collection] = rows
    out["collections"] = collections
    return out


def _masked_record(record: Any, fields: list[str]) -> Any:
    if not isinstance(record, dict):
        return record
    return {k: (_mask(v) if _matching(fields, k) and v not in (None, "") else v) for k, v in record.items()}
