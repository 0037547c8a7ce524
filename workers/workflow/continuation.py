"""When a long-lived workflow hands over to a fresh run (continue-as-new), and the quiet moment it waits for first.

For every workflow that may outlive a few thousand history events (a task with hundreds of checkpoints, a long
conversation). The workflow decides where a hand-over is safe (for AgentWorkflow: a checkpoint just decided, no
activity running) and what it carries; this module says when one is due and waits until nothing is in flight.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workers.workflow.thread_notifier import ThreadNotifier

MAX_EVENTS_PER_RUN = 2_000
"""History events after which a run hands over at its next safe point, unless told otherwise. Temporal warns at
10,240 events a run and stops a run at 51,200; a short history also replays fast on a worker that lost its cache. It
also keeps a run under the 2,000 updates Temporal allows one run: every update costs at least two events."""


def hand_over_due(max_events: int | None = None) -> bool:
    """Whether this run's history is long enough to continue as new: past `max_events` (MAX_EVENTS_PER_RUN when
    None), or Temporal suggests it (its own event-count or history-size thresholds). Deterministic: during replay
    both read the values recorded in the history."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= (
        max_events or MAX_EVENTS_PER_RUN
    )


async def quiet(notifier: ThreadNotifier | None = None) -> None:
    """Wait until no signal or update handler is still running and the thread, if any, has nothing left to deliver.

    A notification in flight would be abandoned by the hand-over, and with it the ts of a message it just posted
    (the next run would post another); an update handler cut short would leave its caller without an answer. Both
    conditions are checked together, so a signal that arrives while the thread drains is waited for too. Call
    `workflow.continue_as_new` right after, with no await in between."""
    await workflow.wait_condition(lambda: (notifier is None or notifier.idle()) and workflow.all_handlers_finished())
