"""`TaskStatusV1.with_progress`: a heartbeat's progress event added to a status the way the workflow's ledger would
have recorded it had it been signalled (workers.progress), and only when it is news."""

from __future__ import annotations

from datetime import timedelta

from contracts import ProgressEventV1
from tests.bot.factories import T0, make_status


def event(step: int, seconds: float, attempt: int = 1) -> ProgressEventV1:
    return ProgressEventV1(step=step, total=4, node="work", message=f"Step {step}", attempt=attempt,
                           at=T0 + timedelta(seconds=seconds))


def test_a_newer_heartbeat_event_becomes_the_running_tasks_progress_and_its_newest_event() -> None:
    status = make_status(events=[event(1, 1)], attempt=1, updated_at=T0 + timedelta(seconds=1))
    shown = status.with_progress(event(3, 5, attempt=2))
    assert (shown.progress.step, shown.progress.percent, shown.progress.message) == (3, 75.0, "Step 3")
    assert [e.step for e in shown.events] == [1, 3] and shown.attempt == 2
    assert shown.updated_at == T0 + timedelta(seconds=5)


def test_an_event_the_workflow_already_has_or_an_older_one_changes_nothing() -> None:
    status = make_status(events=[event(2, 2)])
    assert status.with_progress(event(2, 2)) is status
    assert status.with_progress(event(1, 1)) is status


def test_a_task_that_is_not_running_keeps_its_own_status() -> None:
    waiting = make_status(phase="waiting_for_human", events=[event(1, 1)])
    assert waiting.with_progress(event(2, 2)) is waiting


def test_a_task_with_no_event_yet_takes_the_first_one() -> None:
    shown = make_status(events=[]).with_progress(event(1, 1))
    assert shown.progress.step == 1 and len(shown.events) == 1
