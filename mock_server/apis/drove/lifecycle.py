"""A Drove task's life as data: the executor's state table, and the state at virtual time t.

The table has the shape of the engine's generic ``Lifecycle(steps=[Step(...)], done_path=...,
failure_path=..., cancel_path=...)`` (design: the vendor-profile seam), written as plain data so
the generic module can take it over unchanged; ``state_at`` is the one function it replaces.

Every path ends in STOPPED (Drove has no FAILED/CANCELLED state: the outcome is ``taskResult``).
A KILL moves a task that has not finished its run to RUN_COMPLETED at once; a KILL during
RUN_COMPLETED or DEPROVISIONING changes nothing (the run is over).
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.fakes import seed_for

# Seconds per state. RUNNING's ``None`` = the task's own run time (``run_plan``).
LIFECYCLE = {
    "steps": [("PENDING", 1), ("PROVISIONING", 3), ("STARTING", 1), ("RUNNING", None)],
    "done": "STOPPED", "failed": "STOPPED", "cancelled": "STOPPED",
    "done_path": [("RUN_COMPLETED", 1), ("DEPROVISIONING", 2)],
    "failure_path": [("RUN_COMPLETED", 1), ("DEPROVISIONING", 2)],  # the container exited non-zero
    "cancel_path": [("RUN_COMPLETED", 1), ("DEPROVISIONING", 2)],
    "fail_at": "RUNNING",  # a failing task fails at the end of this step
}
ACTIVE = ("PENDING", "PROVISIONING", "STARTING", "RUNNING", "RUN_COMPLETED", "DEPROVISIONING")
# The run is over (taskResult is set) from RUN_COMPLETED on.
RUN_OVER = ("RUN_COMPLETED", "DEPROVISIONING", "STOPPED")

DEFAULT_RUN_SECONDS = 20
FAILURE_PERCENT = 10  # share of tasks whose container exits non-zero, chosen by seed and task
FAILURE_EXIT_CODES = (1, 2, 3, 137)
RUN_SECONDS_ENV, EXIT_CODE_ENV = "MOCK_RUN_SECONDS", "MOCK_EXIT_CODE"


@dataclass(frozen=True)
class Status:
    """Mirrors the engine's ``lifecycle.Status`` (no pauses: Drove tasks cannot be paused)."""

    state: str
    step: int | None  # index into ``steps`` while on the main path
    path: str  # "main" | "done" | "failure" | "cancel"
    outcome: str | None  # None while running, then "done" | "failed" | "cancelled"
    since: float  # when ``state`` was entered
    finished_at: float | None  # when STOPPED was reached
    run_ended_at: float | None  # when RUN_COMPLETED was entered (the container's end)
    started_at: float | None  # when RUNNING was entered (the container started), if it was


def run_plan(seed: int, source_app: str, task_id: str, env: dict | None) -> tuple[int, int]:
    """(run seconds, exit code) of a new task.

    ``env`` of the spec can force both: ``MOCK_RUN_SECONDS=<n>`` (a whole number of seconds) and
    ``MOCK_EXIT_CODE=<n>`` (0 succeeds, anything else fails with that code). Otherwise the run takes
    DEFAULT_RUN_SECONDS and FAILURE_PERCENT of tasks, picked by the seed and the task, fail.
    """
    env = env or {}
    pick = seed_for(seed, "drove", "outcome", source_app, task_id)
    run = _int(env.get(RUN_SECONDS_ENV))
    code = _int(env.get(EXIT_CODE_ENV))
    if run is None or run < 0:
        run = DEFAULT_RUN_SECONDS
    if code is None:
        code = FAILURE_EXIT_CODES[pick // 100 % len(FAILURE_EXIT_CODES)] if pick % 100 < FAILURE_PERCENT else 0
    return run, code


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def state_at(now: float, *, created: float, run_seconds: float, fails: bool,
             killed_at: float | None = None) -> Status:
    """The task's status at ``now`` (unix seconds), computed from the table; nothing is stored."""
    t, started = created, None
    for index, (name, seconds) in enumerate(LIFECYCLE["steps"]):
        started = t if name == "RUNNING" else started
        end = t + (run_seconds if seconds is None else seconds)
        if killed_at is not None and killed_at < end and killed_at <= now:
            return _follow(now, max(killed_at, t), "cancel", "cancelled", started)
        if now < end:
            return Status(name, index, "main", None, t, None, None, started)
        t = end
    return _follow(now, t, "failure", "failed", started) if fails else _follow(now, t, "done", "done", started)


def _follow(now: float, t: float, path: str, outcome: str, started: float | None) -> Status:
    run_ended = t
    for name, seconds in LIFECYCLE[f"{path}_path"]:
        if now < t + seconds:
            return Status(name, None, path, outcome, t, None, run_ended, started)
        t += seconds
    return Status(LIFECYCLE[outcome], None, path, outcome, t, t, run_ended, started)


def accepts_kill(status: Status) -> bool:
    """The controller keeps a task's runner (and so accepts a KILL) until the task is STOPPED."""
    return status.state != "STOPPED"


def status_of(record: dict, now: float) -> Status:
    """``state_at`` for a stored task record (``render.new_record``)."""
    return state_at(now, created=record["created"], run_seconds=record["runSeconds"],
                    fails=record["exitCode"] != 0, killed_at=record.get("killedAt"))
