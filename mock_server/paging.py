"""Paging fields that echo the request and agree with the list returned.

A list answer's ``PageNumber``/``page``, ``PageSize``/``limit``, ``offset`` and ``TotalCount``/
``total`` are what the client asked for (or the first page), and the total is the number of items
there are -- never a random number. Names are matched by their words, whatever their case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.realism import OFFSET, PAGE_NUMBER, PAGE_SIZE, TOTAL, words

if TYPE_CHECKING:
    from mock_server.fakes import Fakes, Resolver

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    number: int = 1
    size: int | None = None    # None: every item
    first: int = 0             # index of the first item of the page


def _joined(name: str) -> str:
    return "".join(words(name))


def _asked(query: Mapping[str, str], names: set[str]) -> int | None:
    for key, value in query.items():
        if _joined(key) in names and str(value).strip().isascii() and str(value).strip().isdigit():
            return int(str(value).strip())
    return None


def window(query: Mapping[str, str], total: int) -> Page:
    """The page of a list of ``total`` items the request asks for."""
    size = _asked(query, PAGE_SIZE)
    size = min(size, MAX_PAGE_SIZE) if size else None
    number = max(1, _asked(query, PAGE_NUMBER) or 1)
    offset = _asked(query, OFFSET)
    if offset is not None:
        return Page(number=1 + (offset // size if size else 0), size=size, first=offset)
    return Page(number=number, size=size, first=(number - 1) * size if size else 0)


def echo(body: Any, schema: dict, resolver: Resolver, query: Mapping[str, str], fakes: Fakes, key: tuple,
         total: int | None = None) -> Any:
    """``body`` with its paging fields set from the request and its own list."""
    if not isinstance(body, dict):
        return body
    props = resolver.merged_all_of(schema).get("properties") or {}
    listed = next((len(v) for k, v in body.items() if isinstance(v, list)
                   and (resolver.resolve(props.get(k, {})).get("type") == "array")), None)
    if listed is None and total is None:
        return body
    count = total if total is not None else listed
    page = window(query, count)
    values = {"number": page.number, "size": page.size or max(listed or 0, 1), "offset": page.first,
              "total": count}
    for name, sub in props.items():
        joined = _joined(name)
        role = ("number" if joined in PAGE_NUMBER else "size" if joined in PAGE_SIZE else
                "offset" if joined in OFFSET else "total" if joined in TOTAL else None)
        if role is None or name not in body:
            continue
        sub = resolver.resolve(sub)
        value: Any = values[role]
        if sub.get("type") == "string":
            value = str(value)
        if not fakes.validator.errors(value, sub):
            body[name] = value
    return body
