"""Errors a caller of Baton's gateway can meet, each with a message fit to show a person.

BatonError
├── TemporalSettingsError  a Temporal setting is invalid or names a file that cannot be read (baton.temporal)
├── TemporalUnavailable    the Temporal server cannot be reached, refuses the connection, or is overloaded; retry
├── TemporalRefused        Temporal refused a call for a reason retrying cannot fix (a missing namespace or search
│                          attribute, missing permissions); its message says which
├── NoWorkers              no worker answers on the task queue (the agent catalog cannot be read)
├── UnknownAgent           no running worker offers that agent
├── TaskNotFound           no task with that id
├── TaskAlreadyFinished    the task ended; it can no longer be cancelled or decided
├── TaskBusy               no worker answered for a running task in time; retry (nothing about the task changed)
├── DecisionRejected       the workflow refused a decision (stale checkpoint, not allowed, not an approver)
│   └── AlreadyDecided     someone decided it first (who and what are attributes)
└── ConversationBusy       a Slack thread's conversation holds its bound of unanswered messages (baton.conversations)

Temporal's own errors become these in one place, `baton.gateway` (its tables `RPC_ERRORS` and `DECIDE_ERRORS`), so
a caller catches `BatonError` and shows `str(err)`. Two Temporal errors pass through on purpose: `result()` of a
failed or cancelled task raises Temporal's `WorkflowFailureError` (the failure is the task's outcome, not a call
that went wrong), and `connect()` raises TemporalSettingsError / TemporalUnavailable itself.
"""

from __future__ import annotations


class BatonError(Exception):
    """Base of every error the gateway raises; `str(err)` is safe to show to a person."""


class TemporalUnavailable(BatonError):
    pass


class TemporalRefused(BatonError):
    pass


class NoWorkers(BatonError):
    pass


class UnknownAgent(BatonError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"Unknown agent '{name}'. Available agents: {', '.join(known) or 'none'}.")
        self.name = name
        self.known = known


class TaskNotFound(BatonError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"No task with id {task_id}.")
        self.task_id = task_id


class TaskAlreadyFinished(BatonError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id} has already finished; this is no longer pending.")
        self.task_id = task_id


class TaskBusy(BatonError):
    """The task is running but no worker answered its `status` query in time (one restarting, or none running).

    Only the workflow knows whether a checkpoint is pending, so nothing may be rendered or decided until it
    answers: callers retry (the notify activity through Temporal, a person by clicking again)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Baton is busy: no worker answered for task {task_id} in time; try again in a minute.")
        self.task_id = task_id


class DecisionRejected(BatonError):
    pass


class AlreadyDecided(DecisionRejected):
    """The checkpoint was decided by someone else first: who and what come from the workflow itself, so a late
    clicker is told them even when no status query can be answered (a busy worker, twenty clicks at once)."""

    def __init__(self, message: str, decision: str, by: str) -> None:
        super().__init__(message)
        self.decision = decision
        self.by = by


class ConversationBusy(BatonError):
    """The conversation refused the message: it already holds its bound of unanswered ones."""
