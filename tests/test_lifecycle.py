"""Lifecycles as data: the state at any virtual time, from a table and a history alone."""

from __future__ import annotations

import pytest

from mock_server.lifecycle import CANCEL, PAUSE, RELEASE, RESUME, History, Lifecycle, Retry, Step, last_tick
from mock_server.store import SqliteStore

# Three timed steps (10 s, 20 s, 30 s) starting at t=100, created at t=50.
THREE = Lifecycle(steps=[Step("a", 10), Step("b", 20), Step("c", 30)], before="pending", paused="paused",
                  done="done", failed="failed", cancelled="cancelled")
# Drove-like: a failure or a kill runs a path of its own before the final state.
WITH_PATHS = Lifecycle(steps=[Step("PENDING", 2), Step("RUNNING", 10)], done="STOPPED", failed="STOPPED",
                       cancelled="STOPPED", done_path=[Step("RUN_COMPLETED", 1), Step("DEPROVISIONING", 2)],
                       failure_path=[Step("RUN_COMPLETED", 1), Step("DEPROVISIONING", 2)],
                       cancel_path=[Step("RUN_COMPLETED", 1), Step("DEPROVISIONING", 3)])


def run(table: Lifecycle = THREE, events=(), failures=(), start: float = 100, created: float = 50):
    history = History(start=start, created=created, events=list(events), failures=list(failures))
    return lambda now: table.at(history, now)


def test_before_the_start_the_entity_is_in_the_before_state_since_its_creation():
    at = run()
    status = at(99.9)
    assert (status.state, status.phase, status.since, status.finished_at) == ("pending", "before", 50, None)


def test_each_step_is_entered_at_the_exact_second_its_predecessor_ends():
    at = run()
    assert [(at(t).state, at(t).main_step, at(t).since) for t in (100, 109.99, 110, 129.99, 130)] == [
        ("a", 0, 100), ("a", 0, 100), ("b", 1, 110), ("b", 1, 110), ("c", 2, 130)]


def test_one_clock_jump_across_every_state_gives_the_final_state_and_when_it_was_reached():
    status = run()(10_000)
    assert (status.state, status.outcome, status.finished_at, status.main_step) == ("done", "done", 160, 2)
    assert status.finished


def test_entered_remembers_when_each_state_was_first_reached_even_after_the_end():
    at = run(failures=[1])
    assert at(99).entered == {"pending": 50}
    assert at(115).entered == {"a": 100, "b": 110}
    finished = at(10_000)
    assert finished.state == "failed" and finished.entered == {"a": 100, "b": 110, "failed": 130}
    paused = run(events=[(PAUSE, 105)])(200)
    assert paused.paused and paused.entered == {"a": 100}


def test_pause_before_the_start_holds_the_run_until_resumed():
    at = run(events=[(PAUSE, 80), (RESUME, 130)])
    assert at(90).state == "paused" and at(90).since == 80
    assert at(120).state == "paused", "the start passed while paused: nothing runs"
    assert (at(130).state, at(130).since) == ("a", 130)
    assert at(140).state == "b"
    assert at(190).finished_at == 190, "the whole run is shifted by the 30 s of pause after the start"


def test_pause_during_a_step_freezes_it_and_resume_continues_where_it_stopped():
    at = run(events=[(PAUSE, 115), (RESUME, 215)])
    assert (at(150).state, at(150).main_step, at(150).since) == ("paused", 1, 115)
    resumed = at(216)
    assert (resumed.state, resumed.since) == ("b", 215), "a resume re-enters the step"
    assert at(229.99).state == "b" and at(230).state == "c", "15 s of step b were left after the pause"
    assert at(1000).finished_at == 260


def test_cancel_while_paused_ends_at_the_cancel_time_on_the_step_it_was_paused_in():
    status = run(events=[(PAUSE, 115), (CANCEL, 150)])(500)
    assert (status.state, status.outcome, status.finished_at, status.main_step) == ("cancelled", "cancelled", 150, 1)
    assert not status.paused


def test_cancel_before_the_start_cancels_at_once():
    status = run(events=[(CANCEL, 60)])(500)
    assert (status.state, status.finished_at, status.main_step) == ("cancelled", 60, 0)


def test_events_after_the_end_change_nothing():
    at = run(events=[(PAUSE, 500), (CANCEL, 600)])
    assert (at(700).state, at(700).finished_at) == ("done", 160)


def test_the_failure_point_ends_the_run_at_the_end_of_the_failing_step():
    at = run(failures=[1])
    assert at(129).state == "b"
    status = at(130)
    assert (status.state, status.outcome, status.finished_at, status.main_step) == ("failed", "failed", 130, 1)


def test_retries_wait_then_start_again_and_fail_for_good_when_attempts_are_exhausted():
    table = Lifecycle(steps=[Step("EXECUTING", 5)], done="PROCESSED", failed="FAILED",
                      retry=Retry(times=3, seconds=60, state="PENDING"))
    at = run(table, failures=[0, 0], start=0)
    assert (at(5).state, at(5).attempt) == ("PENDING", 1)
    assert (at(65).state, at(65).attempt) == ("EXECUTING", 2)
    assert (at(70).state, at(70).attempt) == ("PENDING", 2)
    third = at(130)
    assert (third.state, third.attempt) == ("EXECUTING", 3), "the third attempt succeeds"
    assert (at(135).state, at(135).finished_at) == ("PROCESSED", 135)
    always = run(table, failures=[0, 0, 0], start=0)(1000)
    assert (always.state, always.attempt, always.finished_at) == ("FAILED", 3, 135)


def test_a_waiting_step_parks_the_run_until_resumed():
    table = Lifecycle(steps=[Step("EXECUTING", 2), Step("EXECUTING", 0, waits=True), Step("QUEUED", 1),
                             Step("EXECUTING", 2)], done="PROCESSED", paused="PAUSED")
    parked = run(table, start=0)
    assert (parked(1).state, parked(2).state, parked(10_000).state) == ("EXECUTING", "PAUSED", "PAUSED")
    resumed = run(table, start=0, events=[(RESUME, 50)])
    assert (resumed(50).state, resumed(51).state, resumed(53).state) == ("QUEUED", "EXECUTING", "PROCESSED")
    assert resumed(100).finished_at == 53
    early = run(table, start=0, events=[(RESUME, 1)])
    assert early(10).state == "PAUSED", "a resume before the step is reached does not release it"


def test_paths_after_success_failure_and_cancel_run_before_the_final_state():
    done = run(WITH_PATHS, start=0)
    assert [done(t).state for t in (0, 2, 12, 13, 15)] == ["PENDING", "RUNNING", "RUN_COMPLETED",
                                                            "DEPROVISIONING", "STOPPED"]
    assert done(15).outcome == "done"
    killed = run(WITH_PATHS, start=0, events=[(CANCEL, 5)])
    assert (killed(5).state, killed(5).outcome) == ("RUN_COMPLETED", "cancelled")
    assert [killed(t).state for t in (6, 9)] == ["DEPROVISIONING", "STOPPED"]
    failed = run(WITH_PATHS, start=0, failures=[1])(15)
    assert (failed.state, failed.outcome) == ("STOPPED", "failed")


def test_a_cancel_path_is_not_held_by_an_open_pause():
    status = run(WITH_PATHS, start=0, events=[(PAUSE, 4), (CANCEL, 6)])(10)
    assert (status.state, status.finished_at) == ("STOPPED", 10)


def test_history_replayed_after_a_restart_from_the_sqlite_store_gives_the_same_states(tmp_path):
    history = History(start=100, created=50, failures=[2])
    history.record(PAUSE, 105)
    history.record(RESUME, 125)
    store = SqliteStore(tmp_path / "state.sqlite")
    store.put("tasks", "1", {"history": history.to_json()})
    store.close()
    reopened = SqliteStore(tmp_path / "state.sqlite")
    replayed = History.from_json(reopened.get("tasks", "1")["history"])
    reopened.close()
    for now in (99, 104, 110, 130, 149, 150, 180, 500):
        assert THREE.at(replayed, now) == THREE.at(history, now), now
    assert THREE.at(replayed, 500).state == "failed"


def test_a_table_refuses_non_finite_or_negative_durations():
    with pytest.raises(ValueError):
        Lifecycle(steps=[Step("a", float("nan"))], done="done")
    with pytest.raises(ValueError):
        Lifecycle(steps=[Step("a", -1)], done="done")
    with pytest.raises(ValueError):
        History(start=0).record("explode", 1)


def test_states_lists_every_state_the_table_can_report():
    assert WITH_PATHS.states() == ["PENDING", "RUNNING", "RUN_COMPLETED", "DEPROVISIONING", "STOPPED"]


def test_the_arithmetic_for_an_undisturbed_run_equals_the_replay():
    import random

    from mock_server.lifecycle import _Replay

    rng = random.Random(7)
    for case in range(300):
        steps = [Step(f"s{i}", rng.choice([0, 0.5, 1, 3, 10])) for i in range(rng.randint(1, 5))]
        path = [Step(f"p{i}", rng.choice([0, 1, 2])) for i in range(rng.randint(0, 2))]
        table = Lifecycle(steps=steps, done="end", done_path=path, before="before")
        history = History(start=100, created=90)
        for now in [100, *(100 + rng.uniform(0, 40) for _ in range(10)), 100 + sum(s.seconds for s in steps)]:
            assert table.at(history, now) == _Replay(table, history, now).run(), (case, now, steps, path)


# A queue-like table: waiting in line (pausable), then work that finishes once started (not
# pausable), an asynchronous step that waits for a release, and the rest of the work.
JOB = Lifecycle(steps=[Step("QUEUED", 1), Step("EXECUTING", 3, pausable=False),
                       Step("PAUSED", 0, waits=True, pausable=False), Step("QUEUED", 1),
                       Step("EXECUTING", 3, pausable=False)], before="PENDING", done="PROCESSED",
                failed="FAILED", cancelled="CANCELED")


def test_pauses_nest_so_two_holders_each_need_their_own_resume():
    at = run(THREE, start=100, events=[(PAUSE, 105), (PAUSE, 110), (RESUME, 120), (RESUME, 150)])
    assert (at(130).state, at(130).paused, at(130).since) == ("paused", True, 105), "one holder still holds it"
    assert (at(150).state, at(150).paused, at(150).since) == ("a", False, 150)
    assert at(155).state == "b", "5 s of step a were left after the pauses"


def test_a_step_that_is_not_pausable_finishes_and_the_pause_holds_the_next_pausable_step():
    at = run(JOB, start=0, events=[(PAUSE, 2), (RELEASE, 10), (RESUME, 30)])
    assert (at(3).state, at(3).paused) == ("EXECUTING", False), "the job already executing runs on"
    assert at(4).state == "PAUSED", "the waiting step is reached through the pause"
    held = at(10)
    assert (held.state, held.paused, held.since) == ("QUEUED", True, 10), "released, then held in line"
    assert (at(30).state, at(31).state, at(34).state) == ("QUEUED", "EXECUTING", "PROCESSED")


def test_a_release_frees_only_a_waiting_step_and_a_resume_frees_it_only_with_no_pause_open():
    early = run(JOB, start=0, events=[(RELEASE, 2)])
    assert early(100).state == "PAUSED", "a release before the step is reached does nothing"
    paused = run(JOB, start=0, events=[(PAUSE, 5), (RESUME, 6)])
    assert paused(100).state == "PAUSED", "that resume closed the pause, the step still waits"
    assert run(JOB, start=0, events=[(RESUME, 6)])(8).state == "EXECUTING", "no pause open: a resume releases"
    assert run(JOB, start=0, events=[(RELEASE, 6)])(8).state == "EXECUTING"


def test_retry_waits_can_differ_per_attempt_and_the_last_repeats():
    table = Lifecycle(steps=[Step("EXECUTING", 5)], done="PROCESSED", failed="FAILED",
                      retry=Retry(times=4, seconds=[10, 100], state="PENDING"))
    at = run(table, start=0, failures=[0, 0, 0])
    assert [(at(t).state, at(t).attempt) for t in (5, 15, 20, 119.9, 120, 125, 225, 230)] == [
        ("PENDING", 1), ("EXECUTING", 2), ("PENDING", 2), ("PENDING", 2), ("EXECUTING", 3), ("PENDING", 3),
        ("EXECUTING", 4), ("PROCESSED", 4)]
    with pytest.raises(ValueError):
        Lifecycle(steps=[Step("a", 1)], done="d", retry=Retry(times=2, seconds=[1, -1], state="w"))


def test_the_timeline_lists_every_state_entered_with_its_attempt_and_time():
    table = Lifecycle(steps=[Step("QUEUED", 1), Step("EXECUTING", 3)], done="PROCESSED", failed="FAILED",
                      retry=Retry(times=2, seconds=60, state="PENDING"))
    status, moves = table.timeline(History(start=10, failures=[1]), 1000)
    assert status.state == "PROCESSED"
    assert [(m.state, m.phase, m.step, m.attempt, m.at) for m in moves] == [
        ("QUEUED", "run", 0, 1, 10), ("EXECUTING", "run", 1, 1, 11), ("PENDING", "retry", 0, 1, 14),
        ("QUEUED", "run", 0, 2, 74), ("EXECUTING", "run", 1, 2, 75), ("PROCESSED", "end", None, 2, 78)]
    assert table.timeline(History(start=10), 5)[1] == [], "nothing entered before the start"


def test_entered_gives_when_each_reached_state_was_first_entered():
    history = History(start=100, created=50, failures=[1])
    assert WITH_PATHS.entered(history, 99) == {}, "nothing before the start of a table without a before state"
    assert THREE.entered(History(start=100, created=50), 99) == {"pending": 50}
    assert WITH_PATHS.entered(history, 105) == {"PENDING": 100, "RUNNING": 102}
    assert WITH_PATHS.entered(history, 1000) == {"PENDING": 100, "RUNNING": 102, "RUN_COMPLETED": 112,
                                                 "DEPROVISIONING": 113, "STOPPED": 115}
    assert list(WITH_PATHS.entered(history, 1000)) == ["PENDING", "RUNNING", "RUN_COMPLETED", "DEPROVISIONING",
                                                       "STOPPED"], "in the order they were entered"


def test_entered_follows_a_cancel_and_pauses():
    cancelled = History(start=100, created=100, events=[(CANCEL, 105)])
    assert WITH_PATHS.entered(cancelled, 1000) == {"PENDING": 100, "RUNNING": 102, "RUN_COMPLETED": 105,
                                                   "DEPROVISIONING": 106, "STOPPED": 109}
    paused = THREE.entered(History(start=100, created=100, events=[(PAUSE, 105), (RESUME, 115)]), 1000)
    assert paused == {"a": 100, "paused": 105, "b": 120, "c": 140, "done": 170}


def test_last_tick_is_the_latest_periodic_report_not_after_now():
    assert [last_tick(100, 20, t) for t in (100, 119.9, 120, 150, 1000)] == [100, 100, 120, 140, 1000]
    assert last_tick(100, 20, 50) == 100, "nothing before the start"
    with pytest.raises(ValueError):
        last_tick(0, 0, 10)
