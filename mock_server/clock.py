"""The virtual clock: follows wall time (scaled), or is frozen and advanced by hand.

Its whole state is four numbers kept in the store's meta ``clock``: virtual time ``now`` at wall
time ``wall``, ``frozen`` and ``scale``. ``now()`` reads them on every call (nothing is cached);
freeze, unfreeze and advance re-anchor them in one store transaction, against the store's own
wall clock (``Store.wall_time()``: the Redis server's ``TIME`` for Redis). So every replica on one
shared store runs one clock, whichever of them moves it, and a server restarted on its state file
continues the clock it left. Domain lifecycles are computed from ``now()`` on every read; nothing
sleeps, so a test that freezes and advances the clock sees exact, repeatable states.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mock_server.store import MemoryStore, Store

META_KEY = "clock"
_NUMBER = (int, float)  # as JSON decodes numbers (a bool is not one)
MAX_TIME = 253402300799.0   # 9999-12-31T23:59:59Z: every moment a client may format as a date
MAX_SCALE = 1e6


def finite(value: Any, what: str, low: float = 0.0) -> float:
    """``value`` as a float, refused unless finite and in [low, MAX_TIME]: the clock never holds
    NaN or infinity, whatever an import or an advance asks for."""
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise ValueError(f"{what} must be a number")
    if isinstance(value, int) and abs(value) > MAX_TIME:   # before float(): a huge int overflows it
        raise ValueError(f"{what} out of range")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= MAX_TIME:
        raise ValueError(f"{what} must be a finite number between {low:g} and {MAX_TIME:g}")
    return value


def _scale(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, _NUMBER) or not math.isfinite(value) \
            or not 0 < value <= MAX_SCALE:
        raise ValueError(f"time scale must be a number > 0 and <= {MAX_SCALE:g}")
    return float(value)


@dataclass(frozen=True)
class ClockState:
    """Virtual time ``now`` at wall time ``wall``; it runs at ``scale`` unless ``frozen``."""

    now: float
    frozen: bool
    scale: float
    wall: float

    def at(self, wall: float) -> float:
        """Virtual time at wall time ``wall`` (never before ``now``: a lagging wall clock waits; a
        running clock stops at the end of representable time rather than pass it)."""
        if self.frozen:
            return self.now
        return min(MAX_TIME, self.now + max(0.0, wall - self.wall) * self.scale)

    def moved(self, wall: float, *, by: float = 0.0, frozen: bool | None = None) -> ClockState:
        """The same clock re-anchored at ``wall`` (moved on by ``by``, frozen or not as asked)."""
        return replace(self, now=self.at(wall) + by, wall=wall, frozen=self.frozen if frozen is None else frozen)

    def to_json(self) -> dict:
        return {"now": self.now, "frozen": self.frozen, "scale": self.scale, "wall": self.wall}

    @classmethod
    def from_json(cls, value: Any, wall: float | None = None) -> ClockState | None:
        """A state from ``to_json`` (``wall`` stands in when it has none); None if it is not one."""
        if not isinstance(value, dict):
            return None
        try:
            now = finite(value.get("now"), "clock now")
            scale = _scale(value.get("scale", 1.0))
            anchor = finite(value.get("wall", wall), "clock wall")
        except ValueError:
            return None
        frozen = value.get("frozen", False)
        return cls(now, frozen, scale, anchor) if type(frozen) is bool else None


class VirtualClock:
    """``VirtualClock(store, start=..., scale=..., frozen=...)``: the clock whose state is
    ``store``'s (a private in-memory store when none is given). The arguments apply only when the
    store holds no clock yet; otherwise the stored one runs on. ``wall`` replaces the store's wall
    clock (tests)."""

    def __init__(self, store: Store | None = None, *, start: float | None = None, scale: float = 1.0,
                 frozen: bool = False, wall: Callable[[], float] | None = None) -> None:
        scale = _scale(scale)
        self._store = MemoryStore() if store is None else store
        self._wall = wall or self._store.wall_time
        self._parsed: tuple[Any, ClockState | None] | None = None
        anchor = self._wall()
        # What this clock runs as should the store lose its state (a wiped Redis): never written over one.
        self._initial = ClockState(anchor if start is None else finite(start, "clock start"), frozen, scale, anchor)
        with self._store.transaction():
            if self._stored() is None:
                self._store.set_meta(META_KEY, self._initial.to_json())

    def _stored(self) -> ClockState | None:
        value = self._store.get_meta(META_KEY)
        last = self._parsed
        if last is not None and last[0] == value:  # read on every call, parsed only when it changed
            return last[1]
        state = ClockState.from_json(value)
        self._parsed = (value, state)
        return state

    def state(self) -> ClockState:
        return self._stored() or self._initial

    def _now(self, state: ClockState) -> float:
        return state.now if state.frozen else state.at(self._wall())  # a frozen clock needs no wall time

    def now(self) -> float:
        return self._now(self.state())

    def _move(self, *, by: float = 0.0, frozen: bool | None = None) -> ClockState:
        with self._store.transaction():  # read and re-anchor under the store's lock: no change is lost
            state = self.state().moved(self._wall(), by=by, frozen=frozen)
            self._store.set_meta(META_KEY, state.to_json())
        return state

    def freeze(self) -> None:
        self._move(frozen=True)

    def unfreeze(self) -> None:
        self._move(frozen=False)

    def advance(self, seconds: float) -> float:
        seconds = finite(seconds, "seconds")   # negative too: the clock only moves forward
        with self._store.transaction():
            if self.now() + seconds > MAX_TIME:
                raise ValueError(f"the advanced clock would pass {MAX_TIME:g}")
            return self._move(by=seconds).now

    def restore(self, snapshot: dict) -> None:
        """Set the clock from a ``snapshot()`` (now, frozen, scale); a value that is not a valid
        clock raises ``ValueError`` and changes nothing."""
        if not isinstance(snapshot, dict):
            raise ValueError("clock must be an object")
        current = self.state()
        now = finite(snapshot.get("now"), "clock now")
        scale = _scale(snapshot.get("scale", current.scale))
        frozen = snapshot.get("frozen", current.frozen)
        if type(frozen) is not bool:
            raise ValueError("clock frozen must be a boolean")
        with self._store.transaction():
            self._store.set_meta(META_KEY, ClockState(now, frozen, scale, self._wall()).to_json())

    def snapshot(self) -> dict:
        state = self.state()
        return {"now": self._now(state), "frozen": state.frozen, "scale": state.scale}
