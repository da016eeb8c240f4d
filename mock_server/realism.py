"""What a field's name, schema and examples say about a believable value.

A naive schema faker reads the schema alone: ``cycle: 364.71``, a year 0889 from a date pattern,
``created: 986`` for an epoch-millisecond field. These rules read the name too (camelCase and
snake_case split into words), the field's examples and description, and the virtual clock:

* **times**: which moment a field names (created <= started <= updated <= finished <= now; expiry
  and "next" moments in the future), in the unit and form the field uses (seconds or milliseconds
  for integers; ISO 8601, "YYYY-MM-DD HH:MM:SS", slashed, or whatever form matches the field's
  pattern or example, for strings);
* **counts, days, cycles, attempts, versions, indexes...**: integers in sensible ranges;
* **paging**: page numbers start at 1, sizes are small round numbers;
* **examples**: a string with a pattern or a unit (durations, sizes) takes the form of its example,
  with other digits.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

DAY = 86400

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str | None) -> list[str]:
    """``lastActivityAt`` -> [last, activity, at]; ``PageSize`` -> [page, size]; ``created_at`` -> [created, at]."""
    return [w.lower() for w in _WORD.findall(name or "")]


# -- times ----------------------------------------------------------------------------------------
_TIME_LAST = {"at", "timestamp", "date", "created", "updated", "modified", "started", "finished", "ended",
              "completed", "stopped", "begin", "end", "expires", "expiry", "deadline", "since", "until", "ts"}
_RANKS = (  # (words, rank): the order moments of one object keep
    ({"created", "creation", "create", "registered", "submitted", "requested"}, 0),
    ({"start", "started", "begin", "began", "scheduled", "queued", "issued", "first"}, 1),
    ({"updated", "modified", "last", "changed", "activity", "executed", "run"}, 2),
    ({"end", "ended", "finish", "finished", "complete", "completed", "stopped", "done", "closed"}, 3),
    ({"expires", "expiry", "expiration", "next", "due", "deadline", "until", "valid", "renewal"}, 4),
)
FUTURE = 4


def time_rank(name: str | None, schema: dict) -> float | None:
    """Where a field's moment falls among an object's moments, or None when it is not a moment."""
    parts = words(name)
    fmt = schema.get("format")
    kind = schema.get("type")
    if fmt in ("date-time", "date"):
        pass
    elif not parts or kind not in ("integer", "string"):
        return None
    elif parts[-1] == "time" and kind == "string":
        pass
    elif parts[-1] not in _TIME_LAST and not (name or "").endswith("At"):
        return None
    described = set(words(str(schema.get("description", ""))))
    for source in (set(parts), described):
        for names, rank in _RANKS:
            if names & source:
                return rank
    return 1.5


def in_milliseconds(name: str | None, schema: dict) -> bool:
    """An integer moment in milliseconds: said by its name, description or example."""
    parts = words(name)
    if parts and parts[-1] in ("ms", "millis", "milliseconds"):
        return True
    if "millisecond" in str(schema.get("description", "")).lower():
        return True
    example = schema.get("example")
    return isinstance(example, int) and not isinstance(example, bool) and example > 10**11


_STRING_FORMS = (  # (recogniser of an example, strftime form)
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"), "%Y-%m-%dT%H:%M:%SZ"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"), "%Y-%m-%dT%H:%M:%S.{ms}Z"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$"), "%Y-%m-%dT%H:%MZ"),
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}/\d\d/\d\dT\d\d:\d\d:\d\dZ$"), "%Y/%m/%dT%H:%M:%SZ"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"), "%Y-%m-%dT%H:%M:%S+00:00"),
    (re.compile(r"^\d{4}-\d\d-\d\d$"), "%Y-%m-%d"),
)


def render_time(moment: float, name: str | None, schema: dict) -> Any:
    """``moment`` (unix seconds) in the unit or textual form the field uses."""
    if schema.get("type") == "integer":
        return int(moment * 1000) if in_milliseconds(name, schema) else int(moment)
    when = dt.datetime.fromtimestamp(moment, dt.UTC)
    forms = [form for check, form in _STRING_FORMS if isinstance(schema.get("example"), str)
             and check.match(schema["example"])]
    if schema.get("format") == "date":
        forms.insert(0, "%Y-%m-%d")
    forms += [form for _, form in _STRING_FORMS]
    pattern = schema.get("pattern")
    for form in forms:
        text = when.strftime(form.replace("{ms}", f"{when.microsecond // 1000:03d}"))
        if pattern is None or re.search(pattern, text):
            return text
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def moments(ranks: list[float], anchor: float, rng: random.Random) -> list[float]:
    """Moments near ``anchor`` in the order of ``ranks``: past ones before it, future ones after it."""
    base = anchor - rng.randint(3, 30) * DAY - rng.randint(0, DAY)
    step = (anchor - base) / 5
    out = []
    for rank in ranks:
        if rank >= FUTURE:
            out.append(anchor + rng.randint(3600, 30 * DAY))
        else:
            out.append(base + rank * step + rng.randint(0, int(step / 4)))
    return out


# -- numbers --------------------------------------------------------------------------------------
_INTEGER_RANGES = (  # (words any of which is the name's last word, (low, high))
    ({"count", "counts", "total", "num", "quantity", "items", "retries", "replicas", "instances"}, (0, 20)),
    ({"day", "days"}, (1, 28)),
    ({"month", "months"}, (1, 12)),
    ({"hour", "hours"}, (0, 23)),
    ({"minute", "minutes", "second", "seconds"}, (0, 59)),
    ({"year", "years"}, (2020, 2027)),
    ({"cycle", "cycles", "round", "generation"}, (1, 12)),
    ({"attempt", "attempts", "try", "tries", "times"}, (1, 5)),
    ({"version", "revision", "rev"}, (1, 5)),
    ({"index", "idx", "position", "order", "rank", "step"}, (0, 9)),
    ({"priority", "level", "weight"}, (1, 10)),
    ({"port"}, (1024, 65535)),
    ({"percent", "percentage", "ratio"}, (0, 100)),
    ({"mb", "memory"}, (128, 4096)),
    ({"cores", "cpus", "cpu", "parallelism", "workers", "threads"}, (1, 8)),
)
PAGE_NUMBER = {"page", "pagenumber", "pageno", "pageindex"}
PAGE_SIZE = {"pagesize", "perpage", "limit", "maxresults", "results", "size"}
OFFSET = {"offset", "start", "skip"}
TOTAL = {"totalcount", "total", "totalresults", "totalitems", "totalelements", "count"}


def integer_range(name: str | None) -> tuple[int, int] | None:
    """A sensible range for a number this name counts or orders, or None when the name says nothing."""
    parts = words(name)
    if not parts:
        return None
    joined = "".join(parts)
    if joined in PAGE_NUMBER:
        return (1, 1)
    if joined in PAGE_SIZE or (len(parts) > 1 and parts[-2:] == ["page", "size"]):
        return (10, 30)
    if joined in OFFSET:
        return (0, 0)
    for names, bounds in _INTEGER_RANGES:
        if parts[-1] in names or (parts[-1] == "number" and len(parts) > 1 and parts[-2] in names):
            return bounds
    if parts[0] == "num" or parts[-1] == "number" and len(parts) > 1:
        return (0, 20)
    return None


# -- strings shaped by their example --------------------------------------------------------------
_DIGITS = re.compile(r"[0-9]+")
_UNITS = {"timeout", "duration", "delay", "interval", "period", "ttl", "size", "age", "retention", "limit"}


def wants_example_form(name: str | None, schema: dict) -> bool:
    """A string whose example shows its form: it has a pattern, or it names a duration or a size."""
    example = schema.get("example")
    if not isinstance(example, str) or not example:
        return False
    return bool(schema.get("pattern")) or bool(set(words(name)) & _UNITS)


def vary_example(example: str, rng: random.Random) -> str:
    """The example with its numbers replaced by others of at most as many digits."""
    def number(match: re.Match) -> str:
        digits = match.group()
        if len(digits) == 1:
            return str(rng.randint(1, 9)) if digits != "0" else "0"
        return str(rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))

    return _DIGITS.sub(number, example)
