"""The virtual clock: follows an injected wall clock (scaled), freezes, advances exactly; its state is
the store's, so clocks on one store are one clock. Across Redis replicas: tests/test_redis_store.py."""

from __future__ import annotations

import pytest

from mock_server.clock import ClockState, VirtualClock
from mock_server.store import MemoryStore

START = 1_767_225_600.0


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_starts_at_wall_time_without_a_start():
    wall = FakeWall(123.0)
    assert VirtualClock(wall=wall).now() == 123.0


def test_follows_wall_time_from_the_given_start():
    wall = FakeWall()
    clock = VirtualClock(start=START, wall=wall)
    assert clock.now() == START
    wall.now += 42.5
    assert clock.now() == START + 42.5


def test_time_scale_multiplies_elapsed_wall_time():
    wall = FakeWall()
    clock = VirtualClock(start=START, scale=60, wall=wall)
    wall.now += 2
    assert clock.now() == START + 120


def test_non_positive_scale_is_refused():
    with pytest.raises(ValueError):
        VirtualClock(scale=0)
    with pytest.raises(ValueError):
        VirtualClock(scale=-1)


def test_frozen_clock_ignores_wall_time():
    wall = FakeWall()
    clock = VirtualClock(start=START, frozen=True, wall=wall)
    wall.now += 3600
    assert clock.now() == START


def test_freeze_stops_where_it_is_and_unfreeze_continues_from_there():
    wall = FakeWall()
    clock = VirtualClock(start=START, scale=2, wall=wall)
    wall.now += 10
    clock.freeze()
    assert clock.now() == START + 20
    wall.now += 1000
    assert clock.now() == START + 20, "frozen time does not move"
    clock.unfreeze()
    assert clock.now() == START + 20, "unfreezing does not jump over the frozen period"
    wall.now += 5
    assert clock.now() == START + 30


def test_advance_moves_a_frozen_clock_exactly():
    clock = VirtualClock(start=START, frozen=True, wall=FakeWall())
    assert clock.advance(90) == START + 90
    assert clock.advance(0.25) == START + 90.25
    assert clock.now() == START + 90.25


def test_advance_adds_to_a_running_clock():
    wall = FakeWall()
    clock = VirtualClock(start=START, wall=wall)
    wall.now += 10
    clock.advance(100)
    assert clock.now() == START + 110
    wall.now += 1
    assert clock.now() == START + 111


def test_advance_refuses_to_go_backwards():
    clock = VirtualClock(start=START, frozen=True, wall=FakeWall())
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == START


def test_snapshot_reports_now_frozen_and_scale():
    clock = VirtualClock(start=START, scale=3, frozen=True, wall=FakeWall())
    assert clock.snapshot() == {"now": START, "frozen": True, "scale": 3.0}


def test_the_state_is_the_stores_meta_clock():
    store, wall = MemoryStore(), FakeWall()
    clock = VirtualClock(store, start=START, scale=2, wall=wall)
    assert store.get_meta("clock") == {"now": START, "frozen": False, "scale": 2.0, "wall": wall.now}
    wall.now += 10
    clock.freeze()
    assert store.get_meta("clock") == {"now": START + 20, "frozen": True, "scale": 2.0, "wall": wall.now}


def test_a_clock_on_a_store_that_holds_one_runs_that_one_not_its_arguments():
    store, wall = MemoryStore(), FakeWall()
    first = VirtualClock(store, start=START, scale=4, wall=wall)
    first.advance(50)
    first.freeze()
    second = VirtualClock(store, start=0, scale=9, frozen=False, wall=wall)
    assert second.snapshot() == {"now": START + 50, "frozen": True, "scale": 4.0}
    second.unfreeze()
    wall.now += 1
    assert second.now() == START + 54, "it runs at the stored scale"


def test_two_clocks_on_one_store_are_one_clock():
    store, wall = MemoryStore(), FakeWall()
    a = VirtualClock(store, start=START, frozen=True, wall=wall)
    b = VirtualClock(store, start=0, wall=wall)
    a.advance(30)
    assert b.now() == START + 30, "an advance through one is seen through the other at once"
    b.unfreeze()
    wall.now += 5
    assert a.now() == START + 35, "so is an unfreeze"
    a.freeze()
    wall.now += 100
    assert b.snapshot() == {"now": START + 35, "frozen": True, "scale": 1.0}


def test_a_running_clock_continues_for_the_wall_time_it_was_not_read():
    """A server restarted on its state file: the clock ran on while nothing was serving."""
    store, wall = MemoryStore(), FakeWall()
    VirtualClock(store, start=START, scale=3, wall=wall)
    wall.now += 7
    assert VirtualClock(store, start=0, frozen=True, wall=wall).now() == START + 21


def test_the_wall_clock_is_the_stores():
    class Store(MemoryStore):
        def wall_time(self) -> float:
            return 5_000.0

    clock = VirtualClock(Store(), scale=2)
    assert clock.now() == 5_000.0, "without a start the clock starts at the store's wall time"
    assert clock.snapshot()["now"] == 5_000.0


def test_a_wall_clock_running_late_never_moves_virtual_time_back():
    wall = FakeWall()
    clock = VirtualClock(start=START, wall=wall)
    clock.advance(10)
    wall.now -= 60  # another machine's wall clock, a minute behind the one that anchored
    assert clock.now() == START + 10


def test_a_stored_value_that_is_not_a_clock_is_not_taken_for_one():
    assert ClockState.from_json({"now": 1.0, "frozen": True, "scale": 1, "wall": 2}) == ClockState(1.0, True, 1.0, 2.0)
    for bad in (None, [1], {"now": "1", "wall": 2}, {"now": 1, "scale": 0, "wall": 2}, {"now": 1, "wall": True},
                {"now": 1, "frozen": "yes", "wall": 2}, {"now": 1}):
        assert ClockState.from_json(bad) is None, bad
    assert ClockState.from_json({"now": 1}, wall=9.0) == ClockState(1.0, False, 1.0, 9.0), "a wall stands in"
