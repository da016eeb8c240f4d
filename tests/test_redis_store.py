"""RedisStore as replicas see it: two stores (or processes) on one Redis share state, transactions
stay all-or-nothing and isolated between them, seeding happens once (on SQLite too), the password
never shows. The single-store contract runs in tests/test_store.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from mock_server.clock import VirtualClock
from mock_server.redis_store import RedisStore
from mock_server.store import StoreError, open_store

from .conftest import start_redis


@pytest.fixture
def url(redis_url: str) -> str:
    """The URL of a fresh, empty store on the session's Redis."""
    return f"{redis_url}?prefix=replicas-{uuid.uuid4().hex}"


@pytest.fixture
def replicas(url: str):
    """Two stores on the same Redis and prefix: what two replicas of the mock hold."""
    first, second = RedisStore(url), RedisStore(url)
    yield first, second
    first.close()
    second.close()


def _in_threads(count: int, work) -> None:
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_a_write_on_one_replica_is_seen_by_the_other(replicas):
    first, second = replicas
    first.put("pets", "1", {"name": "Rex"})
    first.set_meta("clock", {"now": 5})
    assert second.get("pets", "1") == {"name": "Rex"}
    assert second.get_meta("clock") == {"now": 5}
    assert second.next_id("id:pets", floor=1) == 2
    assert first.next_id("id:pets") == 3
    assert second.export() == first.export()


def test_a_snapshot_from_sqlite_loads_into_redis_in_order(replicas, tmp_path: Path):
    sqlite = open_store(tmp_path / "s.sqlite")
    for key in ("9", "1", "zeta", "a"):
        sqlite.put("pets", key, {"k": key})
    sqlite.next_id("id:pets", floor=9)
    sqlite.set_meta("clock", {"now": 3.5})
    snapshot = sqlite.export()
    sqlite.close()
    first, second = replicas
    first.put("stale", "1", {})
    first.load(snapshot)
    assert second.export() == snapshot
    assert [k for k, _ in second.items("pets")] == ["9", "1", "zeta", "a"]
    assert second.next_id("id:pets") == 11


def test_prefixes_keep_stores_apart(redis_url: str):
    one = open_store(f"{redis_url}?prefix=a-{uuid.uuid4().hex}")
    two = open_store(f"{redis_url}?prefix=b-{uuid.uuid4().hex}")
    one.put("pets", "1", {})
    one.next_id("id:pets")
    assert two.is_empty() and two.get("pets", "1") is None
    two.clear()
    assert one.count("pets") == 1, "clearing one prefix leaves the other alone"
    one.close()
    two.close()


def test_open_store_takes_a_url_even_after_path_folded_its_slashes(url: str):
    store = open_store(Path(url))  # Path("redis://h:1/0") is "redis:/h:1/0"
    assert isinstance(store, RedisStore)
    assert str(store) == url
    store.close()


def test_concurrent_next_id_on_two_replicas_never_repeats(replicas):
    handed: list[int] = []

    def take(n: int) -> None:
        store = replicas[n % 2]
        for _ in range(40):
            handed.append(store.next_id("id:tasks"))

    _in_threads(6, take)
    assert sorted(handed) == list(range(1, 241)), "every id once, none skipped"


def test_concurrent_next_id_from_processes_never_repeats(url: str):
    script = ("import sys, json; from mock_server.store import open_store; s = open_store(sys.argv[1]); "
              "print(json.dumps([s.next_id('id:tasks') for _ in range(50)]))")
    procs = [subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    handed = [n for proc in procs for n in json.loads(proc.communicate(timeout=120)[0])]
    assert sorted(handed) == list(range(1, 151))


def test_a_transaction_that_raises_applies_nothing_anywhere(replicas):
    first, second = replicas
    first.put("pets", "1", {"name": "kept"})
    with pytest.raises(RuntimeError), first.transaction():
        first.put("pets", "1", {"name": "lost"})
        first.put("pets", "2", {})
        first.next_id("id:pets")
        first.set_meta("m", 1)
        raise RuntimeError("boom")
    assert second.export() == {"collections": {"pets": {"1": {"name": "kept"}}}, "sequences": {}, "meta": {}}


def test_uncommitted_writes_are_invisible_to_the_other_replica(replicas):
    first, second = replicas
    first.put("pets", "1", {"v": 1})
    seen: dict[str, object] = {}
    with first.transaction():
        first.put("pets", "1", {"v": 2})
        first.put("pets", "2", {})

        def peek(_: int) -> None:  # another thread: not inside first's transaction
            seen["get"] = second.get("pets", "1")
            seen["count"] = second.count("pets")
            seen["items"] = second.items("pets")

        _in_threads(1, peek)
    assert seen == {"get": {"v": 1}, "count": 1, "items": [("1", {"v": 1})]}
    assert second.items("pets") == [("1", {"v": 2}), ("2", {})]


def test_concurrent_read_modify_write_on_two_replicas_loses_no_update(replicas):
    replicas[0].put("counters", "hits", {"n": 0})

    def bump(n: int) -> None:
        store = replicas[n % 2]
        for _ in range(25):
            with store.transaction():
                current = store.get("counters", "hits")["n"]
                store.put("counters", "hits", {"n": current + 1})

    _in_threads(4, bump)
    assert replicas[1].get("counters", "hits") == {"n": 100}


def test_a_transaction_that_outlives_its_lease_applies_nothing(url: str):
    slow = RedisStore(url + "&lock_ttl=200")
    other = RedisStore(url)
    with pytest.raises(StoreError, match="lease; nothing was applied"), slow.transaction():
        slow.put("pets", "slow", {})
        time.sleep(0.4)  # touching nothing: the lease is not renewed and runs out
        other.put("pets", "fast", {})  # the other replica gets the lock meanwhile
    assert [k for k, _ in other.items("pets")] == ["fast"]
    slow.close()
    other.close()


def test_a_long_transaction_that_keeps_working_keeps_its_lease(url: str):
    store = RedisStore(url + "&lock_ttl=1000")
    with store.transaction():  # 1.5 s in all, past the 1 s lease; each put renews it when due
        for n in range(10):
            store.put("pets", str(n), {})
            time.sleep(0.15)
    assert store.count("pets") == 10
    store.close()


def test_waiting_for_a_held_lock_is_bounded(url: str):
    holder, waiter = RedisStore(url), RedisStore(url + "&lock_timeout=0.2")
    with holder.transaction():
        holder.put("pets", "1", {})
        started = time.monotonic()
        with pytest.raises(StoreError, match="held the store lock"):
            waiter.put("pets", "2", {})  # another store object: it does not share holder's transaction
    assert time.monotonic() - started < 5
    assert waiter.items("pets") == [("1", {})]
    holder.close()
    waiter.close()


_SEEDER = """
import json, sys, time
from mock_server.store import open_store
store = open_store(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
def fill():
    for n in range(20):
        store.put("tasks", str(store.next_id("id:tasks")), {"by": sys.argv[3]})
        if n == 10:
            time.sleep(0.2)  # a slow seed: the others must wait, not seed too
print(json.dumps(store.seed_once(fill)))
"""


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_replicas_started_together_seed_exactly_once(kind: str, request, tmp_path: Path):
    url = request.getfixturevalue("url") if kind == "redis" else str(tmp_path / "shared.sqlite")
    start_at = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", _SEEDER, url, str(start_at), f"p{n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(results) == [False, False, False, True], "exactly one process seeds"
    store = open_store(url)
    rows = store.items("tasks")
    assert [k for k, _ in rows] == [str(n) for n in range(1, 21)]
    assert len({row["by"] for _, row in rows}) == 1, "every record comes from the one seeder"
    assert store.export()["sequences"] == {"id:tasks": 20}
    store.close()


def test_no_keys_or_scan_command_is_ever_sent(redis_url: str, url: str):
    admin = redis.Redis.from_url(redis_url)
    admin.config_resetstat()
    store = RedisStore(url)
    store.put("pets", "1", {})
    store.items("pets", limit=1, newest_first=True)
    store.count("pets")
    store.load(store.export())
    store.clear()
    store.close()
    stats = admin.info("commandstats")
    assert not {"cmdstat_keys", "cmdstat_scan"} & set(stats), sorted(stats)
    admin.close()


def test_a_transaction_reads_each_record_from_redis_once(redis_url: str, url: str):
    store = RedisStore(url)
    store.put("templates", "1", {"name": "start"})
    admin = redis.Redis.from_url(redis_url)
    admin.config_resetstat()
    with store.transaction():
        assert all(store.get("templates", "1") == {"name": "start"} for _ in range(50))
    assert admin.info("commandstats")["cmdstat_hget"]["calls"] == 1
    admin.close()
    store.close()


@pytest.fixture
def password_user(redis_url: str):
    """A Redis user with a password (an ACL user: the session's server stays open for the rest)."""
    admin = redis.Redis.from_url(redis_url)
    name, password = f"user-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    admin.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    yield name, password
    admin.acl_deluser(name)
    admin.close()


def test_the_password_comes_from_the_environment_and_never_shows(url: str, password_user, monkeypatch):
    name, password = password_user
    parts = urlsplit(url)
    user_url = parts._replace(netloc=f"{name}@{parts.netloc}").geturl()
    monkeypatch.setenv("MOCK_REDIS_PASSWORD", password)
    store = open_store(user_url)
    store.put("pets", "1", {})
    assert password not in repr(store) + str(store)
    store.close()
    monkeypatch.setenv("MOCK_REDIS_PASSWORD", "wrong-" + password)
    with pytest.raises(StoreError) as failed:
        open_store(user_url)
    assert password not in str(failed.value)


def test_a_password_in_the_url_is_masked(url: str, password_user):
    name, password = password_user
    parts = urlsplit(url)
    store = open_store(parts._replace(netloc=f"{name}:{password}@{parts.netloc}").geturl())
    assert password not in repr(store) + str(store)
    assert f"{name}:***@" in str(store)
    store.close()
    wrong = parts._replace(netloc=f"{name}:{password}x@{parts.netloc}").geturl()
    with pytest.raises(StoreError) as failed:
        open_store(wrong)
    assert password not in str(failed.value) and ":***@" in str(failed.value)


def test_an_unreachable_redis_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError, match=r"cannot use redis://:\*\*\*@127\.0\.0\.1:1/0") as failed:
        open_store("redis://:secret-pw@127.0.0.1:1/0")
    assert "secret-pw" not in str(failed.value)


def test_rediss_speaks_tls_with_the_password_from_the_environment(tmp_path: Path, monkeypatch):
    if shutil.which("redis-server") is None or shutil.which("openssl") is None:
        pytest.skip("redis-server and openssl are needed for a TLS server")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"],
                   cwd=tmp_path, check=True, capture_output=True)
    cert = tmp_path / "cert.pem"
    port, proc = start_redis(tmp_path, "--tls-cert-file", str(cert), "--tls-key-file", str(tmp_path / "key.pem"),
                             "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", "--requirepass", "tls-secret",
                             tls=True)
    try:
        monkeypatch.setenv("MOCK_REDIS_PASSWORD", "tls-secret")
        store = open_store(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}&prefix=tls")
        store.put("pets", "1", {"over": "tls"})
        assert store.items("pets") == [("1", {"over": "tls"})]
        assert "tls-secret" not in repr(store)
        store.close()
        with pytest.raises(StoreError):
            open_store(f"redis://127.0.0.1:{port}/0?socket_timeout=2")  # TLS only: plain text is refused
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- the clock replicas share -----------------------------------------------------------------------
def test_a_clock_moved_through_one_replica_is_read_at_once_through_the_other(replicas):
    first, second = replicas
    a = VirtualClock(first, start=1_000.0, frozen=True)
    b = VirtualClock(second, start=0.0, scale=5)
    assert b.snapshot() == {"now": 1_000.0, "frozen": True, "scale": 1.0}, "the first clock stored wins"
    a.advance(30)
    assert b.now() == 1_030.0, "no cache hides an advance"
    b.unfreeze()
    assert not a.snapshot()["frozen"]
    a.freeze()
    frozen = b.now()
    time.sleep(0.05)
    assert a.now() == b.now() == frozen


def test_concurrent_advances_through_two_replicas_lose_none(replicas):
    clocks = [VirtualClock(store, start=0.0, frozen=True) for store in replicas]
    _in_threads(4, lambda n: [clocks[n % 2].advance(1) for _ in range(25)])
    assert clocks[0].now() == clocks[1].now() == 100.0


def test_the_wall_clock_of_a_redis_store_is_the_redis_servers(url: str, monkeypatch):
    store = RedisStore(url)
    with redis.Redis.from_url(url.partition("?")[0]) as client:
        seconds, micros = client.time()
    server_time = seconds + micros / 1_000_000
    monkeypatch.setattr(time, "time", lambda: server_time + 3600)  # this machine's clock an hour ahead
    try:
        assert abs(store.wall_time() - server_time) < 5
        assert abs(VirtualClock(store).now() - server_time) < 5, "a clock on it starts at the server's time"
    finally:
        store.close()
