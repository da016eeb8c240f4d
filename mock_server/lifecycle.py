"""Lifecycles as data: an entity's state at virtual time *t*, from a table and its history.

A ``Lifecycle`` lists the timed steps of a run and the paths taken after it succeeds, fails or is
cancelled; a ``History`` holds what happened to one entity (its start, pauses, resumes, a cancel,
and the seeded failure point of each attempt). ``Lifecycle.at(history, t)`` replays the history
against the table. Nothing is stored as "the current state" and nothing runs in the background, so
any clock jump gives the exact state, and a history read back from any store gives the same answer.

Rules of the replay:
* before ``start`` the entity is in ``before`` (or ``paused`` while a pause is open);
* the run clock advances only while not paused; a step with ``waits=True`` pauses the run when it
  is reached, until the next ``resume`` (an asynchronous step);
* a failing attempt ends at the end of its failing step; with retries left it waits
  ``retry.seconds`` in ``retry.state`` and starts again from the first step, else it takes the
  failure path and ends in ``failed``;
* a cancel stops the run where it is, takes the cancel path (which pauses do not hold), and ends
  in ``cancelled``; after the run has ended, pause, resume and cancel change nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

PAUSE, RESUME, CANCEL = "pause", "resume", "cancel"
EVENT_KINDS = (PAUSE, RESUME, CANCEL)
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"


@dataclass(frozen=True)
class Step:
    state: str
    seconds: float
    waits: bool = False   # reaching this step pauses the run until a resume


@dataclass(frozen=True)
class Retry:
    times: int            # attempts in all, the first included
    seconds: float        # wait between a failed attempt and the next
    state: str            # the state while waiting


@dataclass(frozen=True)
class Lifecycle:
    steps: Sequence[Step]
    done: str
    failed: str | None = None
    cancelled: str | None = None
    paused: str | None = None
    before: str | None = None
    done_path: Sequence[Step] = ()
    failure_path: Sequence[Step] = ()
    cancel_path: Sequence[Step] = ()
    retry: Retry | None = None

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a lifecycle needs at least one step")
        for step in [*self.steps, *self.done_path, *self.failure_path, *self.cancel_path]:
            if not (math.isfinite(step.seconds) and step.seconds >= 0):
                raise ValueError(f"step {step.state}: seconds must be finite and >= 0")

    def at(self, history: History, now: float) -> Status:
        """The state of an entity with ``history`` at virtual time ``now``."""
        return _Replay(self, history, now).run()

    def entered(self, history: History, now: float) -> dict[str, float]:
        """Each state reached by virtual time ``now`` -> when it was first entered, in order.

        For renderers that show when something began (a container started, a run ended) without
        redoing the table's arithmetic."""
        replay = _Replay(self, history, now)
        replay.run()
        return replay.entered

    def states(self) -> list[str]:
        """Every state this table can report, in table order (for docs and schema checks)."""
        names = [self.before, *(s.state for s in self.steps), self.retry.state if self.retry else None,
                 self.paused, *(s.state for s in [*self.done_path, *self.failure_path, *self.cancel_path]),
                 self.done, self.failed, self.cancelled]
        return list(dict.fromkeys(n for n in names if n))


@dataclass
class History:
    """What happened to one entity. ``failures[i]`` is the step where attempt ``i + 1`` fails
    (None or absent: it succeeds). Stored as JSON with ``to_json`` / ``from_json``."""

    start: float
    created: float | None = None
    events: list[tuple[str, float]] = field(default_factory=list)
    failures: list[int | None] = field(default_factory=list)

    def record(self, kind: str, at: float) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown lifecycle event {kind!r}")
        self.events.append((kind, float(at)))

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "created": self.created, "events": [list(e) for e in self.events],
                "failures": list(self.failures)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        return cls(start=float(data["start"]), created=data.get("created"),
                   events=[(str(k), float(t)) for k, t in data.get("events") or []],
                   failures=list(data.get("failures") or []))


@dataclass(frozen=True)
class Status:
    state: str
    phase: str                  # before | run | retry | done | failure | cancel | end
    step: int | None            # index within the phase's steps (None: before, end)
    main_step: int              # the last step of the run that was reached
    attempt: int                # 1-based
    outcome: str | None         # None while undecided; done | failed | cancelled
    since: float                # when the current state was entered (a resume re-enters it)
    finished_at: float | None   # when the final state was reached
    paused: bool = False

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class _Replay:
    """One pass over a history, in time order, up to ``now``."""

    def __init__(self, table: Lifecycle, history: History, now: float) -> None:
        self.t, self.h, self.now = table, history, now
        self.events = sorted((e for e in history.events if e[1] <= now), key=lambda e: e[1])
        self.created = history.created if history.created is not None else history.start
        # position
        self.phase, self.index, self.attempt, self.main_step = "before", 0, 1, 0
        self.outcome: str | None = None
        self.remaining = 0.0
        self.clock = history.start
        self.since = self.created
        self.paused_at: float | None = None    # an open pause (user pause or a waiting step)
        self.held = False                      # the open pause is a waiting step's
        self.entered: dict[str, float] = {}    # state -> when it was first entered

    # -- the steps of each phase ------------------------------------------------------------------
    def _steps(self) -> Sequence[Step]:
        return {"run": self.t.steps, "done": self.t.done_path, "failure": self.t.failure_path,
                "cancel": self.t.cancel_path}.get(self.phase, ())

    def _enter(self, phase: str, index: int, at: float) -> None:
        self.phase, self.index, self.since = phase, index, at
        if phase == "run" and index < len(self.t.steps):
            self.main_step = index
        if phase == "retry":
            self.remaining = self.t.retry.seconds
            self._mark(self.t.retry.state, at)
            return
        steps = self._steps()
        if index >= len(steps):
            self._after(phase, at)
            return
        step = steps[index]
        self._mark(step.state, at)
        self.remaining = float(step.seconds)
        if step.waits and phase == "run" and self.paused_at is None:
            self.paused_at, self.held = at, True

    def _after(self, phase: str, at: float) -> None:
        """The steps of ``phase`` are over at ``at``: move on."""
        if phase == "run":
            failing = self._failing_step()
            if failing is not None:
                return self._fail(at)
            self.outcome = DONE
            return self._enter("done", 0, at)
        if phase == "retry":
            self.attempt += 1
            return self._enter("run", 0, at)
        self._end(at)

    def _failing_step(self) -> int | None:
        failures = self.h.failures
        return failures[self.attempt - 1] if self.attempt - 1 < len(failures) else None

    def _fail(self, at: float) -> None:
        retry = self.t.retry
        if retry is not None and self.attempt < retry.times:
            self._enter("retry", 0, at)
        else:
            self.outcome = FAILED
            self._enter("failure", 0, at)

    def _end(self, at: float) -> None:
        self.phase, self.index, self.since, self.finished = "end", None, at, at
        self.paused_at, self.held = None, False
        t = self.t
        self._mark({DONE: t.done, FAILED: t.failed, CANCELLED: t.cancelled}[self.outcome] or t.done, at)

    def _mark(self, state: str | None, at: float) -> None:
        if state and state not in self.entered:
            self.entered[state] = at

    def _advance_step(self, at: float) -> None:
        """The current step ran its time at ``at``."""
        if self.phase == "run" and self._failing_step() == self.index:
            return self._fail(at)
        self._enter(self.phase, self.index + 1, at)

    # -- events -----------------------------------------------------------------------------------
    def _apply(self, kind: str, at: float) -> None:
        if self.phase in ("done", "failure", "cancel", "end"):
            return   # the run is over: nothing changes it any more
        if kind == PAUSE and self.paused_at is None:
            self.paused_at, self.held = at, False
            self._mark(self.t.paused, at)
        elif kind == RESUME and self.paused_at is not None:
            self.paused_at, self.held = None, False
            self.since = at
        elif kind == CANCEL:
            self.outcome = CANCELLED
            self.paused_at, self.held = None, False
            self._enter("cancel", 0, at)

    # -- the replay -------------------------------------------------------------------------------
    def run(self) -> Status:
        self.finished: float | None = None
        pending = list(self.events)
        if self.created < self.h.start:
            self._mark(self.t.before, self.created)
        # Before the start: only pauses, resumes and a cancel can happen.
        while pending and pending[0][1] < self.h.start and self.phase == "before":
            kind, at = pending.pop(0)
            if kind == CANCEL:
                self.outcome = CANCELLED
                self.paused_at = None
                self._enter("cancel", 0, at)
                self.clock = at
            elif kind == PAUSE and self.paused_at is None:
                self.paused_at = at
            elif kind == RESUME and self.paused_at is not None:
                self.paused_at = None
        if self.phase == "before":
            if self.now < self.h.start:
                return self._status()
            self.clock = self.h.start
            self._enter("run", 0, self.h.start) if self.paused_at is None else self._enter_paused_start()
        while self.phase != "end":
            next_event = pending[0][1] if pending else math.inf
            running = self.paused_at is None or self.phase == "cancel"
            step_end = self.clock + self.remaining if running else math.inf
            if step_end <= min(next_event, self.now):
                self.clock = step_end
                self._advance_step(step_end) if self.phase != "retry" else self._after("retry", step_end)
            elif next_event <= self.now:
                kind, at = pending.pop(0)
                if running:
                    self.remaining -= at - self.clock
                self.clock = at
                self._apply(kind, at)
            else:
                break
        return self._status()

    def _enter_paused_start(self) -> None:
        """The start came while paused: the first step is entered but does not run."""
        paused_at = self.paused_at
        self._enter("run", 0, self.h.start)
        self.paused_at, self.since = paused_at, paused_at

    def _status(self) -> Status:
        t = self.t
        if self.phase == "end":
            state = {DONE: t.done, FAILED: t.failed, CANCELLED: t.cancelled}[self.outcome] or t.done
            return Status(state, "end", None, self.main_step, self.attempt, self.outcome, self.finished,
                          self.finished)
        if self.paused_at is not None and self.phase in ("before", "run", "retry"):
            state = t.paused or (self._steps()[self.index].state if self.phase == "run" else t.before or "")
            return Status(state, self.phase, None if self.phase == "before" else self.index, self.main_step,
                          self.attempt, self.outcome, self.paused_at, None, paused=True)
        if self.phase == "before":
            state = t.before or t.steps[0].state
            return Status(state, "before", None, 0, 1, None, self.created, None)
        if self.phase == "retry":
            return Status(t.retry.state, "retry", 0, self.main_step, self.attempt, None, self.since, None)
        step = self._steps()[self.index]
        return Status(step.state, self.phase, self.index, self.main_step, self.attempt, self.outcome,
                      self.since, None)


def last_tick(start: float, every: float, now: float) -> float:
    """The latest of ``start``, ``start + every``, ``start + 2 * every``, ... not after ``now``: when
    something that reports periodically from ``start`` on (a heartbeat, a snapshot) last did."""
    if not (math.isfinite(every) and every > 0):
        raise ValueError("every must be finite and > 0")
    return start + max(0, math.floor((now - start) / every)) * every


def history(start: float, created: float | None = None, events: Iterable[tuple[str, float]] = (),
            failures: Iterable[int | None] = ()) -> History:
    """A ``History`` from plain values."""
    return History(start=float(start), created=created, events=[(k, float(t)) for k, t in events],
                   failures=list(failures))
