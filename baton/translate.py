"""Temporal's errors as Baton's, in one table each, like httpx's map of transport errors: the gateway raises
nothing else, so a caller catches `BatonError` and shows its message (see `baton.errors` for the tree).

`RPC_ERRORS` covers every RPC status a Temporal call can fail with, and `DECIDE_ERRORS` every type the `decide`
update rejects with; `tests/unit/test_error_mapping.py` fails when either misses one.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from baton.errors import (
    AlreadyDecided,
    BatonError,
    DecisionRejected,
    TaskAlreadyFinished,
    TaskBusy,
    TaskNotFound,
    TemporalRefused,
    TemporalUnavailable,
)
from contracts import names

__all__ = ["DECIDE_ERRORS", "RPC_ERRORS", "decide_error", "translate_rpc_error"]

RPC_ERRORS: dict[RPCStatusCode, type[BatonError]] = {
    RPCStatusCode.CANCELLED: TemporalUnavailable,
    RPCStatusCode.UNKNOWN: TemporalUnavailable,
    RPCStatusCode.INVALID_ARGUMENT: TemporalRefused,  # e.g. a search attribute the namespace does not have
    RPCStatusCode.DEADLINE_EXCEEDED: TemporalUnavailable,
    RPCStatusCode.NOT_FOUND: TaskNotFound,  # TemporalRefused for a call on no task: the namespace is missing
    RPCStatusCode.ALREADY_EXISTS: TemporalRefused,  # a start that collides is WorkflowAlreadyStartedError, handled
    RPCStatusCode.PERMISSION_DENIED: TemporalRefused,
    RPCStatusCode.RESOURCE_EXHAUSTED: TemporalUnavailable,  # rate limited, or too many updates in flight
    RPCStatusCode.FAILED_PRECONDITION: TaskAlreadyFinished,  # TemporalRefused for a call on no task
    RPCStatusCode.ABORTED: TemporalUnavailable,
    RPCStatusCode.OUT_OF_RANGE: TemporalRefused,
    RPCStatusCode.UNIMPLEMENTED: TemporalRefused,  # a server too old for the call
    RPCStatusCode.INTERNAL: TemporalUnavailable,
    RPCStatusCode.UNAVAILABLE: TemporalUnavailable,  # the server is down or restarting
    RPCStatusCode.DATA_LOSS: TemporalUnavailable,
    RPCStatusCode.UNAUTHENTICATED: TemporalRefused,
}
"""Temporal's RPC status -> Baton's error, for every status but OK. Whether retrying can help decides between
TemporalUnavailable and TemporalRefused; a status about a task becomes the task's error."""

DECIDE_ERRORS: dict[str, type[BatonError]] = {
    names.CHECKPOINT_NOT_PENDING: DecisionRejected,
    names.DECISION_NOT_ALLOWED: DecisionRejected,
}
"""The `decide` update's rejection type -> Baton's error; the workflow's message (written for people) is kept."""


def decide_error(rejection: ApplicationError) -> BatonError:
    """The `decide` update's rejection as Baton's error, by DECIDE_ERRORS; the workflow's message is kept. A checkpoint
    someone already decided becomes AlreadyDecided, with the decision and decider the workflow sent as details."""
    details = rejection.details
    named = len(details) == 2 and all(isinstance(d, str) for d in details)
    if rejection.type == names.CHECKPOINT_NOT_PENDING and named:
        decision, by = details
        return AlreadyDecided(rejection.message, decision, by)
    return DECIDE_ERRORS.get(rejection.type or "", DecisionRejected)(rejection.message)


def translate_rpc_error(exc: RPCError, task_id: str | None = None) -> BatonError:
    """`exc` as Baton's error, by RPC_ERRORS. `task_id` is the task the call was about, if any: without one (a start,
    a listing), NOT_FOUND and FAILED_PRECONDITION are about the namespace, which no retry fixes."""
    status = RPCStatusCode(exc.status)
    error = RPC_ERRORS.get(status, TemporalUnavailable)
    if error is TaskNotFound and "workflow execution already completed" in exc.message.lower():
        error = TaskAlreadyFinished  # a signal or update that reached a task just as it ended
    if status == RPCStatusCode.FAILED_PRECONDITION and "workflow task in failed state" in exc.message.lower():
        # A running task whose worker cannot process it right now (a payload key missing, a bad deploy): busy, and
        # certainly not finished; "no longer pending" would turn real approvers away.
        return TaskBusy(task_id) if task_id is not None else _refused(status, exc)
    if error is TaskNotFound or error is TaskAlreadyFinished:
        return error(task_id) if task_id is not None else _refused(status, exc)
    if error is TemporalRefused:
        return _refused(status, exc)
    return error(f"Baton cannot reach Temporal right now ({status.name.lower()}); try again in a minute.")


def _refused(status: RPCStatusCode, exc: RPCError) -> TemporalRefused:
    return TemporalRefused(f"Temporal refused the request ({status.name.lower()}): {exc.message[:300]}")
