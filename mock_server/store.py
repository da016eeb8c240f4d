"""The state store seam: one interface; in-memory, SQLite and Redis implementations.

Records are JSON objects in named collections, kept in insertion order. Sequences hand out ids
that are never reused, even after deletes or restarts. Every write through ``SqliteStore`` is
committed before the call returns, so an acknowledged write survives ``kill -9``. ``RedisStore``
(``mock_server/redis_store.py``) lets several replicas share one state.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import islice
from pathlib import Path
from typing import Any

from mock_server import codec
from mock_server._store import Store, StoreError

_READING: ContextVar[bool] = ContextVar("sqlite_reading", default=False)   # inside Store.reading()

__all__ = ["MemoryStore", "SqliteStore", "Store", "StoreError", "open_store"]


class MemoryStore(Store):
    """Everything in dicts. A transaction keeps an undo log, so a failed request (an exception
    inside ``transaction()``) leaves no trace, as with SQLite."""

    def __init__(self) -> None:
        super().__init__()
        self._collections: dict[str, dict[str, str]] = {}
        self._sequences: dict[str, int] = {}
        self._meta: dict[str, str] = {}
        self._undo: dict | None = None
        self._generation = 0

    def __str__(self) -> str:
        return "memory"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            outer = self._undo is None
            if outer:
                self._undo = {"collections": {}}
            try:
                yield
            except BaseException:
                if outer:
                    self._rollback()
                raise
            finally:
                if outer:
                    self._undo = None

    def _save_key(self, collection: str, key: str) -> None:
        """Remember one record about to be written (its old value, or that it was absent): a write
        costs what it touches, not the size of its collection."""
        undo = self._undo
        if undo is None or "all" in undo or collection in undo["collections"]:
            return
        rows = self._collections.get(collection)
        if rows is None:   # a new collection: a rollback simply drops it
            undo["collections"][collection] = None
            return
        seen = undo.setdefault("seen", set())
        if (collection, key) not in seen:
            seen.add((collection, key))
            undo.setdefault("keys", []).append((collection, key, rows.get(key)))

    def _save(self, collection: str | None = None, part: str | None = None) -> None:
        """Remember the state about to change, the first time it changes in a transaction."""
        undo = self._undo
        if undo is None or "all" in undo:
            return
        if collection is not None and collection not in undo["collections"]:
            rows = self._collections.get(collection)
            copy = None if rows is None else dict(rows)
            for name, key, old in reversed(undo.get("keys", [])):   # back to how the transaction found it
                if name == collection and copy is not None:
                    if old is None:
                        copy.pop(key, None)
                    else:
                        copy[key] = old
            undo["collections"][collection] = copy
        elif part == "sequences":
            undo.setdefault("sequences", dict(self._sequences))
        elif part == "meta":
            undo.setdefault("meta", dict(self._meta))
        elif part == "all":
            undo["all"] = ({c: dict(r) for c, r in self._collections.items()}, dict(self._sequences),
                           dict(self._meta))

    def _rollback(self) -> None:
        undo = self._undo
        self._generation += 1
        if "all" in undo:
            collections, self._sequences, self._meta = undo["all"]
            self._collections = collections
        for collection, key, old in reversed(undo.get("keys", [])):
            if collection in undo["collections"]:
                continue   # the whole collection is restored below
            rows = self._collections.setdefault(collection, {})
            if old is None:
                rows.pop(key, None)
            else:
                rows[key] = old
        for collection, rows in undo["collections"].items():
            if rows is None:
                self._collections.pop(collection, None)
            else:
                self._collections[collection] = rows
        self._sequences = undo.get("sequences", self._sequences)
        self._meta = undo.get("meta", self._meta)

    def get(self, collection: str, key: str) -> dict | None:
        with self.lock:
            raw = self._collections.get(collection, {}).get(key)
        return None if raw is None else codec.loads(raw)

    def put(self, collection: str, key: str, value: dict) -> None:
        raw = codec.text(value)  # store a copy: callers may keep mutating their dict
        with self.lock:
            self._generation += 1
            self._save_key(collection, key)
            self._collections.setdefault(collection, {})[key] = raw

    def delete(self, collection: str, key: str) -> bool:
        with self.lock:
            self._generation += 1
            self._save(collection)
            return self._collections.get(collection, {}).pop(key, None) is not None

    def items(self, collection: str, *, limit: int | None = None,
              newest_first: bool = False) -> list[tuple[str, dict]]:
        with self.lock:
            rows = self._collections.get(collection, {}).items()
            rows = list(islice(reversed(rows) if newest_first else rows, limit))
        return [(k, codec.loads(v)) for k, v in rows]

    def count(self, collection: str) -> int:
        with self.lock:
            return len(self._collections.get(collection, ()))

    def is_empty(self) -> bool:
        with self.lock:
            return not self._sequences and not any(self._collections.values())

    def next_id(self, sequence: str, floor: int = 0) -> int:
        with self.lock:
            self._generation += 1
            self._save(part="sequences")
            value = max(self._sequences.get(sequence, 0), floor) + 1
            self._sequences[sequence] = value
            return value

    def get_meta(self, key: str) -> Any:
        with self.lock:
            raw = self._meta.get(key)
        return None if raw is None else codec.loads(raw)

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self._generation += 1
            self._save(part="meta")
            self._meta[key] = codec.text(value)

    def generation(self) -> Any:
        return self._generation

    def export(self) -> dict:
        with self.lock:
            return {
                "collections": {c: {k: codec.loads(v) for k, v in rows.items()}
                                for c, rows in self._collections.items() if rows},
                "sequences": dict(self._sequences),
                "meta": {k: codec.loads(v) for k, v in self._meta.items()},
            }

    def load(self, snapshot: dict) -> None:
        with self.lock:
            self._generation += 1
            self._save(part="all")
            self._collections = {c: {k: codec.text(v) for k, v in rows.items()}
                                 for c, rows in (snapshot.get("collections") or {}).items()}
            self._sequences = {k: int(v) for k, v in (snapshot.get("sequences") or {}).items()}
            self._meta = {k: codec.text(v) for k, v in (snapshot.get("meta") or {}).items()}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
  collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (collection, key));
-- (collection) then rowid: a collection's records in insertion order, from either end
CREATE INDEX IF NOT EXISTS records_order ON records (collection);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_TABLES = {"records": {"collection", "key", "value"}, "sequences": {"name", "value"}, "meta": {"key", "value"}}


class _Reading:
    """``SqliteStore.reading()``: a plain context manager (it runs once per request)."""

    __slots__ = ("store", "token")

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        with self.store.lock:
            self.store._revalidate()
        self.token = _READING.set(True)

    def __exit__(self, *exc: object) -> None:
        _READING.reset(self.token)


class SqliteStore(Store):
    """A file-backed store. WAL mode: a committed write survives a crash of this process."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        # A writer waits its turn (BEGIN IMMEDIATE) for up to 30 s: workers, replicas and a seeding start queue.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            self._check_is_ours()
        except BaseException:
            self._db.close()
            raise
        self._setup()
        self._depth = 0
        self._writes = 0
        # Records and meta read during requests (``reading``), as raw JSON, valid while SQLite's
        # data_version (which moves when another connection commits) stays what it was.
        self._cache: dict[tuple[str, str], str | None] = {}
        self._version = self._db.execute("PRAGMA data_version").fetchone()[0]

    def __str__(self) -> str:
        return str(self.path)

    def _setup(self, patience: float = 30.0) -> None:
        """WAL mode and the tables. Processes opening one new file together contend for it, and the
        switch to WAL may answer "locked" at once instead of waiting: it is tried again, in time."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    self._db.close()
                    raise
                time.sleep(0.05)

    def _check_is_ours(self) -> None:
        """Refuse, before writing a byte, a file that is not SQLite or holds another program's tables."""
        try:
            tables = {name: {c[1] for c in self._db.execute(f"PRAGMA table_info('{name}')")}
                      for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a mock-server state file ({exc})") from None
        if tables and tables != _TABLES:
            found = ", ".join(sorted(tables)[:5]) or "none"
            raise StoreError(f"{self.path} is an SQLite database but not a mock-server state file "
                             f"(its tables: {found})")

    def _revalidate(self) -> None:
        """Forget the cached reads if another connection has committed since they were made."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._cache.clear()
            self._version = version

    def reading(self) -> _Reading:
        return _Reading(self)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
                self._revalidate()   # under the write lock: what is cached now holds until COMMIT
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                    self._cache.clear()
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def _cached(self, kind: str, key: str, sql: str, params: tuple) -> str | None:
        if not _READING.get():
            row = self._db.execute(sql, params).fetchone()
            return None if row is None else row[0]
        slot = (kind, key)
        if slot in self._cache:
            return self._cache[slot]
        row = self._db.execute(sql, params).fetchone()
        raw = self._cache[slot] = None if row is None else row[0]
        if len(self._cache) > 4096:   # a bound, not an eviction policy: start again
            self._cache.clear()
        return raw

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        self._writes += 1
        with self.transaction():
            return self._db.execute(sql, params)

    def get(self, collection: str, key: str) -> dict | None:
        with self.lock:
            raw = self._cached(collection, key, "SELECT value FROM records WHERE collection=? AND key=?",
                               (collection, key))
        return None if raw is None else codec.loads(raw)

    def put(self, collection: str, key: str, value: dict) -> None:
        raw = codec.text(value)
        self._writes += 1
        with self.transaction():
            self._cache.pop((collection, key), None)
            updated = self._db.execute("UPDATE records SET value=? WHERE collection=? AND key=?",
                                       (raw, collection, key)).rowcount
            if not updated:  # a new rowid: insertion order is rowid order
                self._db.execute("INSERT INTO records (collection, key, value) VALUES (?, ?, ?)",
                                 (collection, key, raw))

    def delete(self, collection: str, key: str) -> bool:
        self._cache.pop((collection, key), None)
        return self._write("DELETE FROM records WHERE collection=? AND key=?", (collection, key)).rowcount > 0

    def items(self, collection: str, *, limit: int | None = None,
              newest_first: bool = False) -> list[tuple[str, dict]]:
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        order = "DESC" if newest_first else "ASC"
        with self.lock:
            rows = self._db.execute(f"SELECT key, value FROM records WHERE collection=? ORDER BY rowid {order} LIMIT ?",
                                    (collection, -1 if limit is None else limit)).fetchall()
        return [(k, codec.loads(v)) for k, v in rows]

    def count(self, collection: str) -> int:
        with self.lock:
            return self._db.execute("SELECT COUNT(*) FROM records WHERE collection=?", (collection,)).fetchone()[0]

    def is_empty(self) -> bool:
        with self.lock:
            row = self._db.execute("SELECT EXISTS (SELECT 1 FROM records) OR EXISTS (SELECT 1 FROM sequences)")
            return not row.fetchone()[0]

    def next_id(self, sequence: str, floor: int = 0) -> int:
        self._writes += 1
        with self.transaction():
            row = self._db.execute("SELECT value FROM sequences WHERE name=?", (sequence,)).fetchone()
            value = max(row[0] if row else 0, floor) + 1
            self._db.execute("INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)", (sequence, value))
            return value

    def get_meta(self, key: str) -> Any:
        with self.lock:
            raw = self._cached(" meta", key, "SELECT value FROM meta WHERE key=?", (key,))
        return None if raw is None else codec.loads(raw)

    def set_meta(self, key: str, value: Any) -> None:
        self._cache.pop((" meta", key), None)
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, codec.text(value)))

    def export(self) -> dict:
        with self.lock:
            collections: dict[str, dict] = {}
            for collection, key, value in self._db.execute(
                    "SELECT collection, key, value FROM records ORDER BY rowid"):
                collections.setdefault(collection, {})[key] = codec.loads(value)
            sequences = dict(self._db.execute("SELECT name, value FROM sequences").fetchall())
            meta = {k: codec.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
        return {"collections": collections, "sequences": sequences, "meta": meta}

    def load(self, snapshot: dict) -> None:
        self._writes += 1
        with self.transaction():
            self._cache.clear()
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM sequences")
            self._db.execute("DELETE FROM meta")
            self._db.executemany("INSERT INTO records (collection, key, value) VALUES (?, ?, ?)",
                                 [(collection, key, codec.text(value))
                                  for collection, rows in (snapshot.get("collections") or {}).items()
                                  for key, value in rows.items()])
            self._db.executemany("INSERT INTO sequences (name, value) VALUES (?, ?)",
                                 [(k, int(v)) for k, v in (snapshot.get("sequences") or {}).items()])
            self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                 [(k, codec.text(v)) for k, v in (snapshot.get("meta") or {}).items()])

    def generation(self) -> Any:
        # Writes by this connection, and (data_version) commits by any other connection: during a
        # request, as of its start (``reading``), which is what its cached reads are as fresh as.
        with self.lock:
            if _READING.get():
                return self._writes, self._version
            return self._writes, self._db.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self._db.close()


_REDIS_URL = re.compile(r"^(rediss?):/+")


def open_store(path: str | Path | None) -> Store:
    """None: in memory; ``redis://HOST:PORT/DB`` or ``rediss://...``: Redis; else a SQLite file."""
    if path is None:
        return MemoryStore()
    url = _REDIS_URL.match(str(path))
    if url:
        from mock_server.redis_store import RedisStore  # the redis client only when asked for

        # ``Path("redis://h")`` folds the "//" to "/": accept what a Path-typed setting makes of a URL.
        return RedisStore(_REDIS_URL.sub(f"{url.group(1)}://", str(path), count=1))
    return SqliteStore(path)
