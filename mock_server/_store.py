"""The store seam's contract (``Store``), apart from its implementations so that every
implementation module can import it without importing the others."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, a lock not obtained in time, ...)."""


class Store(ABC):
    """Collections of JSON records keyed by string, plus monotonic sequences and metadata.
    ``str(store)`` names where the state lives, safe to show (no password).

    ``transaction()`` groups calls all-or-nothing: an exception inside applies none of them.
    ``seed_once(fn)`` runs ``fn`` (which fills the store) only when the store is empty, inside one
    transaction: the emptiness check and the seeding hold the store's write lock together, so
    when several replicas start at once against one shared store, exactly one seeds and the
    others wait for it, then find the store filled.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several calls atomically (nested use is fine)."""
        with self.lock:
            yield

    @abstractmethod
    def get(self, collection: str, key: str) -> dict | None: ...

    @abstractmethod
    def put(self, collection: str, key: str, value: dict) -> None: ...

    @abstractmethod
    def delete(self, collection: str, key: str) -> bool: ...

    @abstractmethod
    def items(self, collection: str, *, limit: int | None = None,
              newest_first: bool = False) -> list[tuple[str, dict]]:
        """Records of one collection, oldest first (newest first if asked); at most ``limit`` of
        them, at a cost that grows with ``limit``, not with the size of the collection."""

    @abstractmethod
    def count(self, collection: str) -> int:
        """How many records a collection holds."""

    @abstractmethod
    def next_id(self, sequence: str, floor: int = 0) -> int:
        """The next value of a sequence, greater than every value handed out and than ``floor``."""

    @abstractmethod
    def get_meta(self, key: str) -> Any: ...

    @abstractmethod
    def set_meta(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def export(self) -> dict:
        """A JSON snapshot: ``{"collections": {...}, "sequences": {...}, "meta": {...}}``."""

    @abstractmethod
    def load(self, snapshot: dict) -> None:
        """Replace everything with a snapshot from ``export``."""

    def clear(self) -> None:
        self.load({})

    @abstractmethod
    def is_empty(self) -> bool:
        """No record and no sequence (meta does not count)."""

    def seed_once(self, fill: Callable[[], object]) -> bool:
        """Run ``fill()`` if the store is empty; True when this call ran it. See the class doc."""
        with self.transaction():
            if not self.is_empty():
                return False
            fill()
            return True

    def reading(self) -> AbstractContextManager[None]:
        """The reads of one request: a store may serve repeated ``get``/``get_meta`` from memory
        for its duration, as fresh as its start (and as its own writes). Nothing changes otherwise."""
        return nullcontext()

    def generation(self) -> Any:
        """A value that changes whenever anything in the store changes, by this process or another
        (compared for equality only); None when the store cannot tell cheaply. Replies computed
        from the store may be reused while it stays the same."""
        return None

    def wall_time(self) -> float:
        """Wall-clock time in unix seconds, as every process using this store sees it: the
        virtual clock (``clock.py``) is anchored to it. This machine's, unless the store says."""
        return time.time()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
