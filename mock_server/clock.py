"""The virtual clock: follows wall time (scaled), or is frozen and advanced by hand.

Domain lifecycles are computed from ``now()`` on every read; nothing sleeps, so a test that
freezes and advances the clock sees exact, repeatable states.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class VirtualClock:
    def __init__(self, *, start: float | None = None, scale: float = 1.0, frozen: bool = False,
                 wall: Callable[[], float] = time.time) -> None:
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self._wall = wall
        self._lock = threading.Lock()
        self._anchor_wall = wall()
        self._anchor_virtual = self._anchor_wall if start is None else float(start)
        self._scale = float(scale)
        self._frozen = frozen

    def _now_locked(self) -> float:
        if self._frozen:
            return self._anchor_virtual
        return self._anchor_virtual + (self._wall() - self._anchor_wall) * self._scale

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
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._reanchor(self._now_locked() + seconds)
            return self._anchor_virtual

    def snapshot(self) -> dict:
        with self._lock:
            return {"now": self._now_locked(), "frozen": self._frozen, "scale": self._scale}

    def restore(self, snapshot: dict) -> None:
        with self._lock:
            self._reanchor(float(snapshot["now"]))
            self._frozen = bool(snapshot.get("frozen", self._frozen))
            self._scale = float(snapshot.get("scale", self._scale))
