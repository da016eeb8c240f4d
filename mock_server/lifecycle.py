"""Lifecycles as data: an entity's state at virtual time *t*, from a table and its history.

A ``Lifecycle`` lists the timed steps of a run and the paths taken after it succeeds, fails or is
cancelled; a ``History`` holds what happened to one entity (its start, pauses, resumes, a cancel,
and the seeded failure point of each attempt). ``Lifecycle.at(history, t)`` replays the history
against the table. Nothing is stored as "the current state" and nothing runs in the background, so
any clock jump gives the exact state, and a history read back from any store gives the same answer.

Rules of the replay:
* before ``start`` the entity is in ``before`` (or ``paused`` while a pause is open);
* the run clock advances only while not paused; pauses nest (two holders, e.g. a global queue and
  the entity's owner, each need their own ``resume``); a step with ``pausable=False`` runs through
  a pause, which takes hold at the next pausable step (a job already executing finishes);
* a step with ``waits=True`` holds the run when it is reached (an asynchronous step), until the next
  ``release`` -- or a ``resume`` while no pause is open; pauses and a waiting step are independent;
* a failing attempt ends at the end of its failing step; with retries left it waits
  ``retry.seconds`` (or the n-th of a list of waits) in ``retry.state`` and starts again from the
  first step, else it takes the failure path and ends in ``failed``;
* a cancel stops the run where it is, takes the cancel path, and ends in ``cancelled``; the paths
  after the run are not held by pauses; after the run has ended, no event changes anything.

``timeline`` also gives every state entered, in order, for answers that show when things happened;
``Status.entered`` tells when each state was first reached (e.g. a begin time to show), and
``Status.until`` when the status next changes by itself, so a vendor never adds durations to
timestamps itself.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

PAUSE, RESUME, CANCEL, RELEASE = "pause", "resume", "cancel", "release"
EVENT_KINDS = (PAUSE, RESUME, CANCEL, RELEASE)
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"


@dataclass(frozen=True)
class Step:
    state: str
    seconds: float
    waits: bool = False      # reaching this step holds the run until a release
    pausable: bool = True    # False: runs through a pause (it takes hold at the next pausable step)


@dataclass(frozen=True)
class Retry:
    times: int                          # attempts in all, the first included
    seconds: float | Sequence[float]    # wait after a failed attempt; a list: after attempt n, the n-th
    state: str                          # the state while waiting

    def wait(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based); a list's last wait repeats."""
        if isinstance(self.seconds, int | float):
            return float(self.seconds)
        return float(self.seconds[min(attempt, len(self.seconds)) - 1]) if self.seconds else 0.0


@dataclass(frozen=True)
class Transition:
    """One state entered: where in the table (phase, step index), in which attempt, when."""

    state: str
    phase: str
    step: int | None
    attempt: int
    at: float


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
        if self.retry is not None:
            waits = [self.retry.seconds] if isinstance(self.retry.seconds, int | float) else self.retry.seconds
            if not all(math.isfinite(w) and w >= 0 for w in waits):
                raise ValueError("retry: seconds must be finite and >= 0")
        # Where each step of the run begins, for the undisturbed case (no event, one attempt).
        object.__setattr__(self, "_starts", list(accumulate((s.seconds for s in self.steps), initial=0.0)))
        object.__setattr__(self, "_plain", not any(s.waits for s in self.steps))

    def at(self, history: History, now: float) -> Status:
        """The state of an entity with ``history`` at virtual time ``now``."""
        if self._plain and not history.events and not history.failures and now >= history.start:
            return self._undisturbed(history, now)
        return _Replay(self, history, now).run()

    def _undisturbed(self, history: History, now: float) -> Status:
        """The same answer as the replay for a run nothing happened to, by arithmetic alone."""
        starts, elapsed, begin = self._starts, now - history.start, history.start
        entered: dict[str, float] = {}
        if elapsed < starts[-1]:
            index = bisect_right(starts, elapsed) - 1   # a zero-length step is over where it begins
            for i in range(index + 1):
                entered.setdefault(self.steps[i].state, begin + starts[i])
            return Status(self.steps[index].state, "run", index, index, 1, None, begin + starts[index], None,
                          entered=entered, until=begin + starts[index + 1])
        for i, step in enumerate(self.steps):
            entered.setdefault(step.state, begin + starts[i])
        at = begin + starts[-1]
        for index, step in enumerate(self.done_path):
            entered.setdefault(step.state, at)
            if now < at + step.seconds:
                return Status(step.state, "done", index, len(self.steps) - 1, 1, DONE, at, None,
                              entered=entered, until=at + step.seconds)
            at += step.seconds
        entered.setdefault(self.done, at)
        return Status(self.done, "end", None, len(self.steps) - 1, 1, DONE, at, at, entered=entered)

    def timeline(self, history: History, now: float) -> tuple[Status, list[Transition]]:
        """The state at ``now`` and every state entered up to then, in order."""
        replay = _Replay(self, history, now)
        return replay.run(), replay.transitions

    def entered(self, history: History, now: float) -> dict[str, float]:
        """Each state reached by virtual time ``now`` -> when it was first entered, in order.

        For renderers that show when something began (a container started, a run ended) without
        redoing the table's arithmetic."""
        replay = _Replay(self, history, now)
        replay.run()
        marks = [(at, state) for state, at in ([(self.before, replay.created)] if self.before
                                              and replay.created < history.start else [])]
        marks += [(t.at, t.state) for t in replay.transitions]
        if self.paused and replay.held_at:
            marks.append((replay.held_at[0], self.paused))
        out: dict[str, float] = {}
        for at, state in sorted(marks, key=lambda m: m[0]):
            out.setdefault(state, at)
        return out

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
    entered: Mapping[str, float] = field(default_factory=dict)   # state -> when the run first entered it
    until: float = math.inf     # when this status next changes by itself (inf: only an event changes it)

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
        self.depth = 0                          # open pauses
        self.paused_at: float | None = None     # when the open pauses took hold (None: not held)
        self.waiting_at: float | None = None    # when a waiting step was reached (None: not waiting)
        self.finished: float | None = None
        self.transitions: list[Transition] = []
        self.held_at: list[float] = []          # when pauses took hold, in order

    # -- the steps of each phase ------------------------------------------------------------------
    def _steps(self) -> Sequence[Step]:
        return {"run": self.t.steps, "done": self.t.done_path, "failure": self.t.failure_path,
                "cancel": self.t.cancel_path}.get(self.phase, ())

    def _pausable(self) -> bool:
        if self.phase == "run":
            return self.t.steps[self.index].pausable
        return self.phase in ("before", "retry")

    def _held(self) -> bool:
        """The run clock stands still: a waiting step, or open pauses on a pausable step."""
        if self.phase not in ("before", "run", "retry"):
            return False
        return self.waiting_at is not None or (self.depth > 0 and self._pausable())

    def _enter(self, phase: str, index: int, at: float) -> None:
        self.phase, self.index, self.since = phase, index, at
        if phase == "run" and index < len(self.t.steps):
            self.main_step = index
        if phase == "retry":
            self.remaining = self.t.retry.wait(self.attempt)
            self.transitions.append(Transition(self.t.retry.state, phase, 0, self.attempt, at))
            self._hold_if_paused(at)
            return
        steps = self._steps()
        if index >= len(steps):
            self._after(phase, at)
            return
        step = steps[index]
        self.remaining = float(step.seconds)
        self.transitions.append(Transition(step.state, phase, index, self.attempt, at))
        if phase == "run":
            if step.waits:
                self.waiting_at = at
            self._hold_if_paused(at)

    def _hold_if_paused(self, at: float) -> None:
        """Open pauses take hold when a pausable step is entered (and keep their time if they had)."""
        if self.depth > 0 and self._pausable():
            self.paused_at = self.paused_at if self.paused_at is not None else at
        else:
            self.paused_at = None

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
        self.paused_at = self.waiting_at = None
        state = {DONE: self.t.done, FAILED: self.t.failed, CANCELLED: self.t.cancelled}[self.outcome] or self.t.done
        self.transitions.append(Transition(state, "end", None, self.attempt, at))

    def _advance_step(self, at: float) -> None:
        """The current step ran its time at ``at``."""
        if self.phase == "run" and self._failing_step() == self.index:
            return self._fail(at)
        self._enter(self.phase, self.index + 1, at)

    # -- events -----------------------------------------------------------------------------------
    def _apply(self, kind: str, at: float) -> None:
        if self.phase in ("done", "failure", "cancel", "end"):
            return   # the run is over: nothing changes it any more
        if kind == PAUSE:
            self.depth += 1
            if self._pausable() and self.paused_at is None:
                self.paused_at = at
                self.held_at.append(at)
        elif kind == RESUME and self.depth > 0:
            self.depth -= 1
            if self.depth == 0 and self.paused_at is not None:
                self.paused_at, self.since = None, at   # a resume re-enters the state
        elif kind in (RESUME, RELEASE) and self.waiting_at is not None:
            self.waiting_at, self.since = None, at
            self._hold_if_paused(at)
        elif kind == CANCEL:
            self.outcome = CANCELLED
            self.paused_at = self.waiting_at = None
            self._enter("cancel", 0, at)

    # -- the replay -------------------------------------------------------------------------------
    def run(self) -> Status:
        pending = list(self.events)
        # Before the start: only pauses, resumes and a cancel can happen.
        while pending and pending[0][1] < self.h.start and self.phase == "before":
            kind, at = pending.pop(0)
            self._apply(kind, at)
            if self.phase == "cancel":
                self.clock = at
        if self.phase == "before":
            if self.now < self.h.start:
                return self._status()
            self.clock = self.h.start
            self._enter("run", 0, self.h.start)
        while self.phase != "end":
            next_event = pending[0][1] if pending else math.inf
            running = not self._held()
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

    def _status(self) -> Status:
        t = self.t
        entered: dict[str, float] = {}
        for step in self.transitions:
            entered.setdefault(step.state, step.at)
        if self.phase == "end":
            state = {DONE: t.done, FAILED: t.failed, CANCELLED: t.cancelled}[self.outcome] or t.done
            return Status(state, "end", None, self.main_step, self.attempt, self.outcome, self.finished,
                          self.finished, entered=entered)
        if self._held():
            own = {"run": lambda: self._steps()[self.index].state, "retry": lambda: t.retry.state}.get(
                self.phase, lambda: t.before or t.steps[0].state)()
            since = self.waiting_at if self.waiting_at is not None else self.paused_at
            return Status(t.paused or own, self.phase, None if self.phase == "before" else self.index,
                          self.main_step, self.attempt, self.outcome, since, None, paused=True, entered=entered)
        if self.phase == "before":
            state = t.before or t.steps[0].state
            return Status(state, "before", None, 0, 1, None, self.created, None, entered={state: self.created},
                          until=self.h.start)
        until = self.clock + self.remaining
        if self.phase == "retry":
            return Status(t.retry.state, "retry", 0, self.main_step, self.attempt, None, self.since, None,
                          entered=entered, until=until)
        step = self._steps()[self.index]
        return Status(step.state, self.phase, self.index, self.main_step, self.attempt, self.outcome,
                      self.since, None, entered=entered, until=until)


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
