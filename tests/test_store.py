"""The store seam: the memory, SQLite and Redis stores keep the same contract; SQLite also survives
a reopen. Redis across replicas: tests/test_redis_store.py."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from mock_server.store import MemoryStore, SqliteStore, Store, open_store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path: Path) -> Store:
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "store.sqlite")
    else:  # a fresh prefix: every test starts from an empty store
        opened = open_store(f"{request.getfixturevalue('redis_url')}?prefix=test-{uuid.uuid4().hex}")
    yield opened
    opened.close()


def test_put_then_get_returns_the_record(store: Store):
    store.put("pets", "1", {"name": "Rex", "tags": ["a"]})
    assert store.get("pets", "1") == {"name": "Rex", "tags": ["a"]}
    assert store.get("pets", "2") is None
    assert store.get("cats", "1") is None, "collections must not share keys"


def test_put_stores_a_copy_not_the_callers_dict(store: Store):
    record = {"name": "Rex"}
    store.put("pets", "1", record)
    record["name"] = "changed after put"
    assert store.get("pets", "1") == {"name": "Rex"}


def test_put_on_an_existing_key_replaces_the_record_in_place(store: Store):
    for key in ("a", "b", "c"):
        store.put("pets", key, {"v": key})
    store.put("pets", "b", {"v": "updated"})
    assert store.items("pets") == [("a", {"v": "a"}), ("b", {"v": "updated"}), ("c", {"v": "c"})]


def test_items_are_in_insertion_order(store: Store):
    keys = ["10", "2", "zeta", "alpha", "1"]
    for key in keys:
        store.put("pets", key, {"k": key})
    assert [k for k, _ in store.items("pets")] == keys
    assert store.items("empty") == []


def test_delete_removes_only_that_record_and_reports_whether_it_existed(store: Store):
    store.put("pets", "1", {"n": 1})
    store.put("pets", "2", {"n": 2})
    assert store.delete("pets", "1") is True
    assert store.delete("pets", "1") is False
    assert store.delete("pets", "missing") is False
    assert store.get("pets", "1") is None
    assert store.items("pets") == [("2", {"n": 2})]


def test_reinserted_key_goes_to_the_end_of_the_order(store: Store):
    for key in ("a", "b", "c"):
        store.put("pets", key, {})
    store.delete("pets", "a")
    store.put("pets", "a", {})
    assert [k for k, _ in store.items("pets")] == ["b", "c", "a"]


def test_next_id_counts_up_per_sequence(store: Store):
    assert [store.next_id("pets") for _ in range(3)] == [1, 2, 3]
    assert store.next_id("cats") == 1, "sequences are independent"


def test_next_id_is_never_reused_after_delete(store: Store):
    ids = [store.next_id("pets") for _ in range(3)]
    for item_id in ids:
        store.put("pets", str(item_id), {})
    store.delete("pets", str(ids[-1]))
    assert store.next_id("pets") == 4


def test_next_id_respects_the_floor_and_never_goes_back(store: Store):
    assert store.next_id("pets", floor=41) == 42
    assert store.next_id("pets") == 43
    assert store.next_id("pets", floor=5) == 44, "a floor below the sequence must not move it back"


def test_meta_round_trips_json_values(store: Store):
    assert store.get_meta("clock") is None
    store.set_meta("clock", {"now": 1.5, "frozen": True})
    store.set_meta("seed", 7)
    assert store.get_meta("clock") == {"now": 1.5, "frozen": True}
    assert store.get_meta("seed") == 7


def _fill(store: Store) -> None:
    store.put("pets", "2", {"name": "b"})
    store.put("pets", "1", {"name": "a"})
    store.put("/v3/fleet", "x", {"nested": {"list": [1, 2, None]}})
    store.next_id("id:pets", floor=2)
    store.set_meta("seed", 3)


def test_export_then_load_reproduces_everything_in_order(store: Store, tmp_path: Path):
    _fill(store)
    snapshot = store.export()
    assert snapshot["collections"]["pets"] == {"2": {"name": "b"}, "1": {"name": "a"}}
    assert snapshot["sequences"] == {"id:pets": 3}
    assert snapshot["meta"] == {"seed": 3}
    for other in (MemoryStore(), SqliteStore(tmp_path / "other.sqlite")):
        other.put("stale", "1", {"gone": True})
        other.load(snapshot)
        assert other.export() == snapshot
        assert [k for k, _ in other.items("pets")] == ["2", "1"]
        assert other.get("stale", "1") is None, "load replaces everything"
        assert other.next_id("id:pets") == 4
        other.close()


def test_clear_empties_the_store(store: Store):
    assert store.is_empty()
    _fill(store)
    assert not store.is_empty()
    store.clear()
    assert store.is_empty()
    assert store.export() == {"collections": {}, "sequences": {}, "meta": {}}


def test_nested_transactions_commit_together(store: Store):
    with store.transaction():
        store.put("pets", "1", {})
        with store.transaction():
            store.put("pets", "2", {})
    assert [k for k, _ in store.items("pets")] == ["1", "2"]


def test_transaction_rolls_back_every_write_on_exception(store: Store):
    store.put("pets", "1", {"name": "kept"})
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.put("pets", "1", {"name": "overwritten"})
        store.put("pets", "2", {"name": "new"})
        store.next_id("id:pets")
        with store.transaction():
            store.delete("pets", "1")
        raise RuntimeError("boom")
    assert store.items("pets") == [("1", {"name": "kept"})]
    assert store.next_id("id:pets") == 1, "the sequence bump inside the failed transaction is undone"
    store.put("pets", "3", {})  # the store is usable after a rollback
    assert store.get("pets", "3") == {}
    assert [k for k, _ in store.items("pets")] == ["1", "3"], "insertion order survives the rollback"


def test_a_failed_transaction_that_replaced_everything_restores_the_old_state(store: Store):
    store.put("pets", "1", {"name": "kept"})
    store.set_meta("clock", {"now": 1})
    before = store.export()
    with pytest.raises(RuntimeError), store.transaction():
        store.put("pets", "2", {"name": "written before the load"})
        store.load({"collections": {"cats": {"9": {}}}, "sequences": {"id:cats": 9}})
        store.put("cats", "10", {})
        raise RuntimeError("boom")
    assert store.export() == before


def test_sqlite_reopened_on_the_same_file_sees_every_acknowledged_write(tmp_path: Path):
    path = tmp_path / "s.sqlite"
    first = SqliteStore(path)
    for n in range(1, 6):
        first.put("pets", str(first.next_id("id:pets")), {"n": n})
    first.delete("pets", "2")
    first.put("pets", "3", {"n": "updated"})
    first.set_meta("clock", {"now": 10})
    expected = first.export()
    # No close(): a crashed process never gets to close, so each write must already be durable.
    second = SqliteStore(path)
    assert second.export() == expected
    assert [k for k, _ in second.items("pets")] == ["1", "3", "4", "5"]
    assert second.next_id("id:pets") == 6, "ids handed out before the reopen are never reused"
    second.close()
    first.close()


def test_open_store_picks_memory_without_a_path_and_sqlite_with_one(tmp_path: Path):
    assert isinstance(open_store(None), MemoryStore)
    assert str(open_store(None)) == "memory"
    sqlite = open_store(tmp_path / "x.sqlite")
    assert isinstance(sqlite, SqliteStore)
    assert str(sqlite) == str(tmp_path / "x.sqlite"), "str() names where the state lives"
    sqlite.close()


def test_sqlite_lists_from_either_end_through_the_index(tmp_path: Path):
    store = SqliteStore(tmp_path / "x.sqlite")
    for query in ("SELECT key FROM records WHERE collection=? ORDER BY rowid DESC LIMIT 5",
                  "SELECT COUNT(*) FROM records WHERE collection=?"):
        plan = " ".join(row[-1] for row in store._db.execute("EXPLAIN QUERY PLAN " + query, ("pets",)))
        assert "USING" in plan and "INDEX" in plan and "TEMP B-TREE" not in plan, f"{query}: {plan}"
    store.close()


def test_items_with_a_limit_takes_the_oldest_or_the_newest(store: Store):
    for key in ("a", "b", "c", "d"):
        store.put("pets", key, {"k": key})
    store.put("pets", "b", {"k": "B"})  # a replace keeps its place
    assert store.items("pets", limit=2) == [("a", {"k": "a"}), ("b", {"k": "B"})]
    assert store.items("pets", limit=2, newest_first=True) == [("d", {"k": "d"}), ("c", {"k": "c"})]
    assert [k for k, _ in store.items("pets", newest_first=True)] == ["d", "c", "b", "a"]
    assert store.items("pets", limit=10) == store.items("pets"), "a limit over the size returns everything"
    assert store.items("pets", limit=0) == []
    assert store.items("empty", limit=3, newest_first=True) == []
    with pytest.raises(ValueError):
        store.items("pets", limit=-1)


def test_count_follows_puts_replaces_and_deletes(store: Store):
    assert store.count("pets") == 0
    for key in ("a", "b", "c"):
        store.put("pets", key, {})
    store.put("pets", "a", {"again": True})
    store.delete("pets", "b")
    store.delete("pets", "missing")
    assert store.count("pets") == 2
    assert store.count("cats") == 0, "counts are per collection"


def test_a_transaction_reads_its_own_writes_in_order(store: Store):
    for key in ("a", "b", "c"):
        store.put("pets", key, {"k": key})
    with store.transaction():
        store.put("pets", "b", {"k": "B"})
        store.delete("pets", "a")
        store.put("pets", "a", {"k": "A"})
        store.put("pets", "d", {"k": "d"})
        store.delete("pets", "c")
        assert store.get("pets", "b") == {"k": "B"}
        assert store.get("pets", "c") is None
        assert [k for k, _ in store.items("pets")] == ["b", "a", "d"]
        assert store.items("pets", limit=2, newest_first=True) == [("d", {"k": "d"}), ("a", {"k": "A"})]
        assert store.count("pets") == 3
        assert store.next_id("id:pets", floor=7) == 8
        assert store.next_id("id:pets") == 9
        store.set_meta("m", [1])
        assert store.get_meta("m") == [1]
    assert [k for k, _ in store.items("pets")] == ["b", "a", "d"]
    assert store.count("pets") == 3
    assert store.next_id("id:pets") == 10


def test_is_empty_counts_records_and_sequences_not_meta(store: Store):
    store.set_meta("clock", {"now": 1})
    assert store.is_empty(), "meta alone leaves the store empty"
    store.next_id("id:pets")
    assert not store.is_empty()
    store.clear()
    store.put("pets", "1", {})
    assert not store.is_empty()
    store.delete("pets", "1")
    assert store.is_empty(), "a collection emptied by deletes does not count"


def test_seed_once_fills_an_empty_store_only(store: Store):
    calls = []

    def fill() -> None:
        calls.append(1)
        store.put("pets", str(store.next_id("id:pets")), {"seeded": True})

    assert store.seed_once(fill) is True
    assert store.seed_once(fill) is False, "a filled store is not seeded again"
    assert calls == [1]
    assert store.items("pets") == [("1", {"seeded": True})]


def test_seed_once_that_fails_leaves_the_store_empty(store: Store):
    def fill() -> None:
        store.put("pets", "1", {})
        raise RuntimeError("bad fixture")

    with pytest.raises(RuntimeError, match="bad fixture"):
        store.seed_once(fill)
    assert store.is_empty()
    assert store.seed_once(lambda: store.put("pets", "2", {})) is True


def test_wall_time_is_this_machines_clock_here(store: Store):
    """Every store answers wall time (the clock is anchored to it); on one machine they agree."""
    assert abs(store.wall_time() - time.time()) < 5


def test_sqlite_reads_during_a_request_see_every_commit_made_before_it_or_under_its_lock(tmp_path: Path):
    # Two connections to one file, as two --workers are: ``reading()`` may serve repeated reads
    # from memory, but never a value another connection replaced before the reading began, nor
    # (inside a transaction, under the write lock) one replaced before the transaction began.
    path = tmp_path / "shared.sqlite"
    mine, other = SqliteStore(path), SqliteStore(path)
    mine.put("tasks", "1", {"v": 1})
    mine.set_meta("clock", {"now": 1})
    with mine.reading():
        assert mine.get("tasks", "1") == {"v": 1} and mine.get_meta("clock") == {"now": 1}
        before = mine.generation()
        other.put("tasks", "1", {"v": 2})
        other.set_meta("clock", {"now": 2})
        with mine.transaction():   # what a handler's writes are based on
            assert mine.get("tasks", "1") == {"v": 2} and mine.get_meta("clock") == {"now": 2}
            mine.put("tasks", "1", {"v": 3})
            assert mine.get("tasks", "1") == {"v": 3}
    other.put("tasks", "2", {"v": 1})
    with mine.reading():
        assert mine.generation() != before
        assert mine.get("tasks", "2") == {"v": 1}
        other.delete("tasks", "2")
    with mine.reading():
        assert mine.get("tasks", "2") is None, "a delete by another connection was not seen"
        with pytest.raises(RuntimeError), mine.transaction():
            mine.put("tasks", "1", {"v": 4})
            raise RuntimeError
        assert mine.get("tasks", "1") == {"v": 3}, "a rolled-back write was served from memory"
    assert other.get("tasks", "1") == {"v": 3}
    mine.close()
    other.close()
