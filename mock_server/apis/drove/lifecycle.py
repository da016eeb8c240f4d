"""A Drove task's life as data: the executor's state table (the engine's ``Lifecycle``), the
task's ``History`` (created, a kill, whether the container exits non-zero), and the status the
renderers read. All time arithmetic is the engine's (``mock_server/lifecycle.py``).

Every path ends in STOPPED (Drove has no FAILED/CANCELLED state: the outcome is ``taskResult``).
A KILL moves a task that has not finished its run to RUN_COMPLETED at once; a KILL during
RUN_COMPLETED or DEPROVISIONING changes nothing (the run is over).
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.fakes import seed_for
from mock_server.lifecycle import CANCEL, History, Lifecycle, Step

# The executor's task state machine (drove-executor statemachine/task); RUNNING lasts the task's run.
BEFORE_RUN = (Step("PENDING", 1), Step("PROVISIONING", 3), Step("STARTING", 1))
AFTER_RUN = (Step("RUN_COMPLETED", 1), Step("DEPROVISIONING", 2))
RUNNING_STEP = len(BEFORE_RUN)   # a failing task's container exits at the end of RUNNING
ACTIVE = ("PENDING", "PROVISIONING", "STARTING", "RUNNING", "RUN_COMPLETED", "DEPROVISIONING")
# The run is over (taskResult is set) from RUN_COMPLETED on.
RUN_OVER = ("RUN_COMPLETED", "DEPROVISIONING", "STOPPED")

DEFAULT_RUN_SECONDS = 20
FAILURE_PERCENT = 10  # share of tasks whose container exits non-zero, chosen by seed and task
FAILURE_EXIT_CODES = (1, 2, 3, 137)
RUN_SECONDS_ENV, EXIT_CODE_ENV = "MOCK_RUN_SECONDS", "MOCK_EXIT_CODE"


def table(run_seconds: float) -> Lifecycle:
    """The state table of a task whose container runs ``run_seconds``."""
    return Lifecycle(steps=[*BEFORE_RUN, Step("RUNNING", run_seconds)], done="STOPPED", failed="STOPPED",
                     cancelled="STOPPED", done_path=AFTER_RUN, failure_path=AFTER_RUN, cancel_path=AFTER_RUN)


@dataclass(frozen=True)
class Status:
    """What TaskInfo and the log file are rendered from."""

    state: str
    outcome: str | None  # None while running, then "done" | "failed" | "cancelled"
    since: float  # when ``state`` was entered
    finished_at: float | None  # when STOPPED was reached
    entered: dict[str, float]  # state -> when it was first entered (up to now)

    @property
    def started_at(self) -> float | None:
        """When the container started (RUNNING was entered), if it did."""
        return self.entered.get("RUNNING")

    @property
    def run_ended_at(self) -> float | None:
        """When the run was over (RUN_COMPLETED was entered), if it is."""
        return self.entered.get("RUN_COMPLETED")


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
    """The task's status at ``now`` (unix seconds), replayed from the table; nothing is stored."""
    lifecycle = table(run_seconds)
    history = History(start=created, created=created, events=[(CANCEL, killed_at)] if killed_at is not None else [],
                      failures=[RUNNING_STEP] if fails else [])
    progress = lifecycle.at(history, now)
    return Status(progress.state, progress.outcome, progress.since, progress.finished_at,
                  lifecycle.entered(history, now))


def accepts_kill(status: Status) -> bool:
    """The controller keeps a task's runner (and so accepts a KILL) until the task is STOPPED."""
    return status.state != "STOPPED"


def status_of(record: dict, now: float) -> Status:
    """``state_at`` for a stored task record (``tasks.new_record``)."""
    return state_at(now, created=record["created"], run_seconds=record["runSeconds"],
                    fails=record["exitCode"] != 0, killed_at=record.get("killedAt"))
