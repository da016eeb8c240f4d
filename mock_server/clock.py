"""The virtual clock: follows wall time (scaled), or is frozen and advanced by hand.

Domain lifecycles are computed from ``now()`` on every read; nothing sleeps, so a test that
freezes and advances the clock sees exact, repeatable states.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_TIME = 253402300799.0   # 9999-12-31T23:59:59Z: every moment a client may format as a date
MAX_SCALE = 1e6


def finite(value: float, what: str, low: float = 0.0) -> float:
    """``value`` as a float, refused unless finite and in [low, MAX_TIME]: the clock never holds
    NaN or infinity, whatever an import or an advance asks for."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number")
    if isinstance(value, int) and abs(value) > MAX_TIME:   # before float(): a huge int overflows it
        raise ValueError(f"{what} out of range")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= MAX_TIME:
        raise ValueError(f"{what} must be a finite number between {low:g} and {MAX_TIME:g}")
    return value


class VirtualClock:
    def __init__(self, *, start: float | None = None, scale: float = 1.0, frozen: bool = False,
                 wall: Callable[[], float] = time.time) -> None:
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0 < scale <= MAX_SCALE):
            raise ValueError(f"time scale must be a number > 0 and <= {MAX_SCALE:g}")
        self._wall = wall
        self._lock = threading.Lock()
        self._anchor_wall = wall()
        self._anchor_virtual = self._anchor_wall if start is None else finite(start, "clock start")
        self._scale = float(scale)
        self._frozen = frozen

    def _now_locked(self) -> float:
        if self._frozen:
            return self._anchor_virtual
        # A running clock stops at the end of representable time rather than pass it.
        return min(MAX_TIME, self._anchor_virtual + (self._wall() - self._anchor_wall) * self._scale)

    def now(self) -> float:
        with self._lock:
            return self._now_locked()

    def _reanchor(self, virtual: float) -> None:
        self._anchor_wall, self._anchor_virtual = self._wall(), virtual

    def freeze(self) -> None:
        with self._lock:
            self._reanchor(self._now_locked())
            self._frozen = True

    def unfreeze(self) -> None:
        with self._lock:
            self._reanchor(self._now_locked())
            self._frozen = False

    def advance(self, seconds: float) -> float:
        seconds = finite(seconds, "seconds")   # negative too: the clock only moves forward
        with self._lock:
            self._reanchor(finite(self._now_locked() + seconds, "the advanced clock"))
            return self._anchor_virtual

    def snapshot(self) -> dict:
        with self._lock:
            return {"now": self._now_locked(), "frozen": self._frozen, "scale": self._scale}

    def restore(self, snapshot: dict) -> None:
        """Set the clock from a ``snapshot()``; a value that is not a valid clock changes nothing."""
        now = finite(snapshot.get("now"), "clock now")
        scale = snapshot.get("scale", self._scale)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= MAX_SCALE:
            raise ValueError(f"clock scale must be a number > 0 and <= {MAX_SCALE:g}")
        frozen = snapshot.get("frozen", self._frozen)
        if not isinstance(frozen, bool):
            raise ValueError("clock frozen must be a boolean")
        with self._lock:
            self._reanchor(now)
            self._frozen = frozen
            self._scale = float(scale)
