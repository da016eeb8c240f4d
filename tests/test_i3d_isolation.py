"""i3D lists cost what the caller owns: another account's records are never read. Counted in
store rows touched (in process, seeded through the store), never timed."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.runtime import ServeConfig
from mock_server.store import MemoryStore

from .conftest import CLOCK_START

OTHER = "i3d/tasks@account-2"


def touched_while_listing(monkeypatch: pytest.MonkeyPatch, foreign: int) -> tuple[int, int]:
    """(records the task list read, tasks it listed) for account-1, with ``foreign`` extra tasks
    stored for account-2."""
    app = create_app(ServeConfig(frozen_clock=True, clock_start=CLOCK_START))
    store = app.rt.store
    assert isinstance(store, MemoryStore)
    with store.transaction():
        for n in range(10**6, 10**6 + foreign):
            store.put(OTHER, str(n), {"id": n, "account": "account-2", "batchId": 1, "templateId": 1,
                                      "entityId": 1001, "createdAt": CLOCK_START, "history": {"start": CLOCK_START}})
    rows = []
    items, get = MemoryStore.items, MemoryStore.get

    def counted_items(self, collection, **kwargs):
        found = items(self, collection, **kwargs)
        rows.append(len(found))
        return found

    def counted_get(self, collection, key):
        rows.append(1)
        return get(self, collection, key)

    with TestClient(app) as client:
        monkeypatch.setattr(MemoryStore, "items", counted_items)
        monkeypatch.setattr(MemoryStore, "get", counted_get)
        response = client.get("/v3/applicationInstance/task", headers={"PRIVATE-TOKEN": "dev-token"})
        monkeypatch.undo()
    assert response.status_code == 200, response.text
    return sum(rows), len(response.json())


def test_listing_ones_own_tasks_reads_the_same_records_whatever_another_account_holds(monkeypatch):
    alone, listed = touched_while_listing(monkeypatch, 0)
    crowded, listed_crowded = touched_while_listing(monkeypatch, 20_000)
    assert listed == listed_crowded > 0, "the caller's own list is the same"
    assert crowded == alone, f"20,000 foreign tasks changed the rows read from {alone} to {crowded}"
    assert alone <= 3 * 100, f"a list of at most 100 tasks read {alone} records"
