"""The bolttech store's data model as data (its layout: ``access.py``), read by
``mock_server/snapshot.py`` on every admin import and export: each collection's record schema,
where records are filed, what they name, the sid sequence and the one secret. ``check`` holds what
data cannot say: a strategy's settings as a create judges them, and the indexes agreeing with the
records they index."""

from __future__ import annotations

from mock_server.records import TEXT, obj
from mock_server.vendor import Numbering

from . import events, instances, render, strategies

EVENTS = "events@{instanceSid}"   # an instance's events

RECORDS = {"strategies": strategies.RECORD, "strategy-names": obj({"sid": TEXT}), "instances": instances.RECORD,
           "events@*": events.RECORD, "event-index": obj({"instanceSid": TEXT}), "correlations": obj({"sid": TEXT}),
           "queue": events.QUEUE_RECORD}
KEYS = {"strategies": "{sid}", "instances": "{sid}", EVENTS: "{sid}", "queue": "global"}
REFERENCES = {
    "instances": {"strategySid": "strategies", "mainEvent": "events@{sid}"},
    EVENTS: {"strategySid": "strategies"},
    "strategy-names": {"sid": "strategies"},
    "event-index": {"$key": EVENTS, "instanceSid": "instances"},
    "correlations": {"sid": "event-index"},
}
# Every sid and correlationId is the n-th of one counter under the seed (render.sid).
SEQUENCES = {"sids": Numbering(("strategies", "instances", "events@*", "correlations"), minted=render.sid)}
# A strategy keeps only the digest of its Strategy-Secret, but any guess can be checked against it.
SECRETS = {"strategies": ["secret"]}


def check(collections: dict[str, dict]) -> None:
    own = collections.get("strategies") or {}
    names, index, correlations = (collections.get(c) or {} for c in ("strategy-names", "event-index", "correlations"))
    for sid, record in own.items():
        body = {"name": record["name"], "description": record["description"], "secret": "(stored as a digest)",
                "settings": record["settings"]}
        problems = strategies.validate_strategy(body)
        if problems:
            raise ValueError(f"strategies/{sid[:40]}: {problems[0]}")
        if (names.get(record["name"]) or {}).get("sid") != sid:
            raise ValueError(f"strategies/{sid[:40]}: strategy-names has no {record['name']!r} naming it")
    for name, entry in names.items():
        if own[entry["sid"]]["name"] != name:
            raise ValueError(f"strategy-names/{name[:40]}: strategy {entry['sid'][:40]} has another name")
    for collection, rows in collections.items():
        if not collection.startswith("events@"):
            continue
        for sid, record in rows.items():
            if (index.get(sid) or {}).get("instanceSid") != record["instanceSid"]:
                raise ValueError(f"{collection[:60]}/{sid[:40]}: event-index does not file it under its instance")
            if (correlations.get(record["correlationId"]) or {}).get("sid") != sid:
                raise ValueError(f"{collection[:60]}/{sid[:40]}: correlations has no {record['correlationId'][:40]!r} "
                                 f"naming it")
