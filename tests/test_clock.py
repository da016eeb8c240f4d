"""The virtual clock: follows an injected wall clock (scaled), freezes, advances exactly, restores."""

from __future__ import annotations

import pytest

from mock_server.clock import VirtualClock

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


def test_restore_brings_back_a_snapshot():
    wall = FakeWall()
    source = VirtualClock(start=START, scale=4, wall=wall)
    source.advance(50)
    source.freeze()
    snapshot = source.snapshot()
    target = VirtualClock(start=0, wall=wall)
    target.restore(snapshot)
    assert target.snapshot() == snapshot
    wall.now += 100
    assert target.now() == START + 50, "the restored clock is frozen"
    target.unfreeze()
    wall.now += 1
    assert target.now() == START + 54, "and runs at the restored scale"


def test_restore_of_a_running_snapshot_keeps_running_from_its_now():
    wall = FakeWall()
    clock = VirtualClock(start=0, frozen=True, wall=wall)
    clock.restore({"now": START, "frozen": False, "scale": 1})
    wall.now += 7
    assert clock.now() == START + 7
