"""The Redis store: the same contract as the memory and SQLite stores, shared by every replica
that opens the same ``redis://`` URL (and ``?prefix=``).

Layout under the key prefix ``mock:`` (``mock:<prefix>:`` with ``?prefix=``):

* ``h:<collection>`` a hash key -> JSON value; ``z:<collection>`` a sorted set of the same keys
  scored by ``order``, a counter bumped by INCR: a put of an existing key keeps its score (its
  place), a key put anew (also after a delete) gets the next score (the end).
* ``collections`` the set of non-empty collections; ``sequences`` and ``meta`` two hashes.
* ``lock`` the store's write lock (a random token, with a lease).

Why a lock and not optimistic WATCH: ``transaction()`` is a context manager, and its body
cannot be re-run when a WATCHed key changed, so a conflict could only be reported, never
retried. A transaction therefore takes the store-wide lock (``SET NX PX``) first, like SQLite's
``BEGIN IMMEDIATE``; every write, inside a ``transaction()`` or not, is one. Writes are buffered
in the process (reads see them) and applied at the end by one Lua script, atomically and only if
the lock is still this transaction's: a transaction whose lease ran out (it is renewed whenever
the transaction touches the store) applies nothing and raises ``StoreError``; one that raises
applies nothing. Reads outside a transaction take no lock and see committed state only.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from itertools import chain, islice
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from mock_server._store import Store, StoreError

PASSWORD_ENV = "MOCK_REDIS_PASSWORD"
_OWN_PARAMS = ("prefix", "lock_ttl", "lock_timeout")

# Every write of a transaction, in order, applied atomically if the lock is still ours.
# ARGV: token, key prefix, then ops: P coll key value | D coll key | S name value | M key value | X
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('LOCKLOST the store lock expired before the commit')
end
local p = ARGV[2]
local reg, counter = p .. 'collections', p .. 'order'
local i = 3
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'P' then
    local c, k = ARGV[i + 1], ARGV[i + 2]
    local z = p .. 'z:' .. c
    if not redis.call('ZSCORE', z, k) then
      redis.call('ZADD', z, redis.call('INCR', counter), k)
    end
    redis.call('HSET', p .. 'h:' .. c, k, ARGV[i + 3])
    redis.call('SADD', reg, c)
    i = i + 4
  elseif op == 'D' then
    local c, k = ARGV[i + 1], ARGV[i + 2]
    redis.call('HDEL', p .. 'h:' .. c, k)
    redis.call('ZREM', p .. 'z:' .. c, k)
    if redis.call('HLEN', p .. 'h:' .. c) == 0 then redis.call('SREM', reg, c) end
    i = i + 3
  elseif op == 'S' then
    redis.call('HSET', p .. 'sequences', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'M' then
    redis.call('HSET', p .. 'meta', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'X' then
    for _, c in ipairs(redis.call('SMEMBERS', reg)) do
      redis.call('DEL', p .. 'h:' .. c, p .. 'z:' .. c)
    end
    redis.call('DEL', reg, p .. 'sequences', p .. 'meta')
    i = i + 1
  else
    return redis.error_reply('BADOP ' .. tostring(op))
  end
end
redis.call('DEL', KEYS[1])
return 1
"""

# Records of one collection in order, read atomically: KEYS z, h; ARGV last index (-1: all), newest first.
_ITEMS = """
local keys = redis.call(ARGV[2] == '1' and 'ZREVRANGE' or 'ZRANGE', KEYS[1], 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #keys, 1000 do
  local chunk = {}
  for j = i, math.min(i + 999, #keys) do chunk[#chunk + 1] = keys[j] end
  local values = redis.call('HMGET', KEYS[2], unpack(chunk))
  for j = 1, #chunk do
    out[#out + 1] = chunk[j]
    out[#out + 1] = values[j]
  end
end
return out
"""

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
          "return 0")


@dataclass
class _Pending:
    """One collection's writes in an open transaction."""

    values: dict[str, str | None] = field(default_factory=dict)  # key -> JSON, None = deleted
    appended: dict[str, None] = field(default_factory=dict)      # keys new in this transaction, in order
    had: dict[str, bool] = field(default_factory=dict)           # key -> existed before the transaction


@dataclass
class _Tx:
    token: str
    renewed: float
    cleared: bool = False  # a load() ran: what Redis holds no longer counts
    ops: list[str] = field(default_factory=list)
    records: dict[str, _Pending] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    # Records read from Redis: nothing can change them while the lock is held, so read each once.
    read: dict[tuple[str, str], str | None] = field(default_factory=dict)


def _masked_errors(method: Callable) -> Callable:
    """Turn a client error into a StoreError that names the store without its password."""

    @wraps(method)
    def wrapper(self: RedisStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            raise StoreError(f"{self}: {self._mask(str(exc))}") from None

    return wrapper


class RedisStore(Store):
    """``RedisStore("redis://HOST:PORT/DB?prefix=NAME")`` (``rediss://`` for TLS). The password is
    the URL's, else ``$MOCK_REDIS_PASSWORD``; ``str()``, ``repr()`` and errors never show it.
    ``lock_ttl`` (ms, default 10000) is the lock's lease, ``lock_timeout`` (s, default 30) how long
    a transaction waits for the lock before ``StoreError``."""

    def __init__(self, url: str) -> None:
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise StoreError(f"not a redis:// or rediss:// URL: {self._mask_url(url)}")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        prefix = params.get("prefix", "")
        self.prefix = f"mock:{prefix}:" if prefix else "mock:"
        self.lock_ttl_ms = int(params.get("lock_ttl", 10_000))
        self.lock_timeout = float(params.get("lock_timeout", 30))
        self._password = parts.password or os.environ.get(PASSWORD_ENV) or None
        client_query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _OWN_PARAMS])
        self._url = urlunsplit(parts._replace(query=client_query))
        self._shown = self._mask_url(url)
        self._lock_key = self.prefix + "lock"
        self._tx: _Tx | None = None
        try:
            self._redis = redis.Redis.from_url(self._url, password=self._password, decode_responses=True)
            self._commit_script = self._redis.register_script(_COMMIT)
            self._items_script = self._redis.register_script(_ITEMS)
            self._release_script = self._redis.register_script(_RELEASE)
            self._renew_script = self._redis.register_script(_RENEW)
            self._redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"cannot use {self._shown}: {self._mask(str(exc))}") from None

    # -- naming and masking ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"RedisStore({self._shown!r})"

    def __str__(self) -> str:
        return self._shown

    @staticmethod
    def _mask_url(url: str) -> str:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

    def _mask(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _h(self, collection: str) -> str:
        return f"{self.prefix}h:{collection}"

    def _z(self, collection: str) -> str:
        return f"{self.prefix}z:{collection}"

    # -- the lock and transactions --------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self._tx is not None:  # nested: part of the outer transaction
                yield
                return
            self._tx = self._begin()
            try:
                yield
            except BaseException:
                tx, self._tx = self._tx, None
                self._end(tx, commit=False)
                raise
            tx, self._tx = self._tx, None
            self._end(tx, commit=True)

    @_masked_errors
    def _begin(self) -> _Tx:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.001
        while not self._redis.set(self._lock_key, token, nx=True, px=self.lock_ttl_ms):
            if time.monotonic() > deadline:
                raise StoreError(f"{self}: another replica held the store lock for over {self.lock_timeout:g} s")
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.05)
        return _Tx(token=token, renewed=time.monotonic())

    @_masked_errors
    def _end(self, tx: _Tx, *, commit: bool) -> None:
        if not (commit and tx.ops):
            self._release_script(keys=[self._lock_key], args=[tx.token])
            return
        try:
            self._commit_script(keys=[self._lock_key], args=[tx.token, self.prefix, *tx.ops])
        except redis.ResponseError as exc:
            if "LOCKLOST" in str(exc):
                raise StoreError(f"{self}: the transaction held the store lock longer than its "
                                 f"{self.lock_ttl_ms} ms lease; nothing was applied") from None
            raise

    def _open(self) -> _Tx:
        """The open transaction, its lease renewed when a third of it has gone."""
        tx = self._tx
        if time.monotonic() - tx.renewed > self.lock_ttl_ms / 3000:
            if not self._renew_script(keys=[self._lock_key], args=[tx.token, self.lock_ttl_ms]):
                raise StoreError(f"{self}: the store lock expired during the transaction")
            tx.renewed = time.monotonic()
        return tx

    # -- records --------------------------------------------------------------------------------
    def _exists(self, tx: _Tx, collection: str, key: str) -> bool:
        pending = tx.records.setdefault(collection, _Pending())
        if key in pending.values:
            return pending.values[key] is not None
        had = not tx.cleared and self._read(tx, collection, key) is not None
        pending.had[key] = had
        return had

    def _read(self, tx: _Tx, collection: str, key: str) -> str | None:
        if (collection, key) not in tx.read:
            tx.read[collection, key] = self._redis.hget(self._h(collection), key)
        return tx.read[collection, key]

    @_masked_errors
    def get(self, collection: str, key: str) -> dict | None:
        with self.lock:
            tx = self._tx and self._open()
            pending = tx.records.get(collection) if tx else None
            if pending is not None and key in pending.values:
                raw = pending.values[key]
            elif tx:
                raw = None if tx.cleared else self._read(tx, collection, key)
            else:
                raw = self._redis.hget(self._h(collection), key)
        return None if raw is None else json.loads(raw)

    @_masked_errors
    def put(self, collection: str, key: str, value: dict) -> None:
        raw = json.dumps(value)
        with self.transaction():
            tx = self._open()
            existed = self._exists(tx, collection, key)
            pending = tx.records[collection]
            pending.values[key] = raw
            if not existed:
                pending.appended[key] = None
            tx.ops += ["P", collection, key, raw]

    @_masked_errors
    def delete(self, collection: str, key: str) -> bool:
        with self.transaction():
            tx = self._open()
            if not self._exists(tx, collection, key):
                return False
            pending = tx.records[collection]
            pending.values[key] = None
            pending.appended.pop(key, None)
            tx.ops += ["D", collection, key]
            return True

    @_masked_errors
    def items(self, collection: str, *, limit: int | None = None,
              newest_first: bool = False) -> list[tuple[str, dict]]:
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if limit == 0:
            return []
        with self.lock:
            tx = self._tx and self._open()
            pending = tx.records.get(collection) if tx else None
            if pending is None:
                if tx and tx.cleared:
                    return []
                flat = self._items_script(keys=[self._z(collection), self._h(collection)],
                                          args=[-1 if limit is None else limit - 1, int(newest_first)])
                return [(flat[i], json.loads(flat[i + 1])) for i in range(0, len(flat), 2)]
            return self._pending_items(tx, collection, pending, limit, newest_first)

    def _pending_items(self, tx: _Tx, collection: str, pending: _Pending, limit: int | None,
                       newest_first: bool) -> list[tuple[str, dict]]:
        """Redis's order with this transaction's writes laid over it: a key deleted or put anew
        has left its old place; new keys follow, in the order they were put."""
        moved = {k for k, v in pending.values.items() if v is None or k in pending.appended}
        base = () if tx.cleared else (k for k in self._keys_in_order(collection, newest_first) if k not in moved)
        new = reversed(pending.appended) if newest_first else iter(pending.appended)
        keys = list(islice(chain(new, base) if newest_first else chain(base, new), limit))
        unread = [k for k in keys if k not in pending.values]
        read = dict(zip(unread, self._redis.hmget(self._h(collection), unread), strict=True)) if unread else {}
        return [(k, json.loads(pending.values[k] if k in pending.values else read[k])) for k in keys]

    def _keys_in_order(self, collection: str, newest_first: bool, page: int = 256) -> Iterable[str]:
        """Redis's keys of a collection, a page at a time (stable: the lock is held)."""
        read = self._redis.zrevrange if newest_first else self._redis.zrange
        start = 0
        while True:
            keys = read(self._z(collection), start, start + page - 1)
            yield from keys
            if len(keys) < page:
                return
            start += page

    @_masked_errors
    def count(self, collection: str) -> int:
        with self.lock:
            tx = self._tx and self._open()
            base = 0 if tx and tx.cleared else self._redis.zcard(self._z(collection))
            pending = tx.records.get(collection) if tx else None
            if pending is None:
                return base
            return base + sum((v is not None) - pending.had.get(k, False) for k, v in pending.values.items())

    @_masked_errors
    def is_empty(self) -> bool:
        with self.lock:
            tx = self._tx and self._open()
            if tx is None:
                return not self._redis.exists(self.prefix + "collections", self.prefix + "sequences")
            if tx.sequences or (not tx.cleared and self._redis.exists(self.prefix + "sequences")):
                return False
            names = set(tx.records) | (set() if tx.cleared else self._redis.smembers(self.prefix + "collections"))
            return not any(self.count(name) for name in names)

    # -- sequences and meta ---------------------------------------------------------------------
    @_masked_errors
    def next_id(self, sequence: str, floor: int = 0) -> int:
        with self.transaction():
            tx = self._open()
            if sequence in tx.sequences:
                current = tx.sequences[sequence]
            else:
                current = 0 if tx.cleared else int(self._redis.hget(self.prefix + "sequences", sequence) or 0)
            value = max(current, floor) + 1
            tx.sequences[sequence] = value
            tx.ops += ["S", sequence, str(value)]
            return value

    @_masked_errors
    def get_meta(self, key: str) -> Any:
        with self.lock:
            tx = self._tx and self._open()
            if tx and key in tx.meta:
                raw = tx.meta[key]
            elif tx and tx.cleared:
                raw = None
            else:
                raw = self._redis.hget(self.prefix + "meta", key)
        return None if raw is None else json.loads(raw)

    @_masked_errors
    def set_meta(self, key: str, value: Any) -> None:
        raw = json.dumps(value)
        with self.transaction():
            tx = self._open()
            tx.meta[key] = raw
            tx.ops += ["M", key, raw]

    # -- snapshots ------------------------------------------------------------------------------
    @_masked_errors
    def export(self) -> dict:
        with self.transaction():  # the lock: one consistent snapshot
            tx = self._open()
            names = set(tx.records) | (set() if tx.cleared else self._redis.smembers(self.prefix + "collections"))
            collections = {name: dict(rows) for name in sorted(names) if (rows := self.items(name))}
            sequences = dict(tx.sequences)
            meta = dict(tx.meta)
            if not tx.cleared:
                stored = self._redis.hgetall(self.prefix + "sequences")
                sequences = {k: int(v) for k, v in stored.items()} | sequences
                meta = self._redis.hgetall(self.prefix + "meta") | meta
        return {"collections": collections, "sequences": sequences,
                "meta": {k: json.loads(v) for k, v in meta.items()}}

    @_masked_errors
    def load(self, snapshot: dict) -> None:
        with self.transaction():
            tx = self._open()
            tx.cleared = True
            tx.ops = ["X"]  # everything buffered before is replaced anyway
            tx.records, tx.sequences, tx.meta = {}, {}, {}
            for collection, rows in (snapshot.get("collections") or {}).items():
                for key, value in rows.items():
                    self.put(collection, key, value)
            for name, value in (snapshot.get("sequences") or {}).items():
                tx.sequences[name] = int(value)
                tx.ops += ["S", name, str(int(value))]
            for key, value in (snapshot.get("meta") or {}).items():
                self.set_meta(key, value)

    # -- time -----------------------------------------------------------------------------------
    @_masked_errors
    def wall_time(self) -> float:
        """The Redis server's ``TIME``: replicas agree on it even when their machines' clocks do not."""
        seconds, micros = self._redis.time()
        return seconds + micros / 1_000_000

    def close(self) -> None:
        with self.lock:
            self._redis.close()
