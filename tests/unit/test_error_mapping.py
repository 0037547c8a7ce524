"""Temporal's errors are mapped once, at the gateway, and completely: every RPC status a call can fail with and every
type the workflow rejects a decision with becomes one of Baton's errors, whose message is fit to show a person; and
the tree in baton/errors.py names every class."""

from __future__ import annotations

import ast
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

import baton.errors
import baton.temporal
from baton.conversations import SAY_ERRORS
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
from baton.gateway import TaskGateway
from baton.translate import DECIDE_ERRORS, RPC_ERRORS, translate_rpc_error
from bot.thread_replies import REPLY_REFUSALS
from contracts import CancellationV1, DecisionV1, names, utc_now
from tests.support import make_request

ROOT = Path(__file__).resolve().parents[2]
FAILURE_STATUSES = [status for status in RPCStatusCode if status != RPCStatusCode.OK]


def rpc_error(status: RPCStatusCode, message: str = "the server says no") -> RPCError:
    return RPCError(message, status, b"")


def test_every_rpc_status_but_ok_has_a_baton_error() -> None:
    assert set(RPC_ERRORS) == set(FAILURE_STATUSES)


@pytest.mark.parametrize("status", FAILURE_STATUSES, ids=lambda s: s.name)
def test_each_rpc_status_becomes_a_baton_error_with_a_readable_message(status: RPCStatusCode) -> None:
    for task_id in ("diagnostic-0123456789ab", None):
        error = translate_rpc_error(rpc_error(status), task_id)
        assert isinstance(error, BatonError)
        assert str(error) and "\n" not in str(error)
        if task_id is None:  # nothing about a task to say: the namespace or the server is the problem
            assert isinstance(error, (TemporalUnavailable, TemporalRefused))


def test_a_missing_task_a_finished_one_and_an_outage_read_as_such() -> None:
    task = "diagnostic-0123456789ab"
    assert isinstance(translate_rpc_error(rpc_error(RPCStatusCode.NOT_FOUND), task), TaskNotFound)
    finished = rpc_error(RPCStatusCode.NOT_FOUND, "workflow execution already completed")
    assert isinstance(translate_rpc_error(finished, task), TaskAlreadyFinished)
    assert isinstance(translate_rpc_error(rpc_error(RPCStatusCode.FAILED_PRECONDITION), task), TaskAlreadyFinished)
    assert isinstance(translate_rpc_error(rpc_error(RPCStatusCode.UNAVAILABLE), task), TemporalUnavailable)
    stuck = rpc_error(RPCStatusCode.FAILED_PRECONDITION, "Workflow Task in failed state.")
    assert isinstance(translate_rpc_error(stuck, task), TaskBusy), "a worker that cannot process it: not finished"
    refused = translate_rpc_error(rpc_error(RPCStatusCode.NOT_FOUND, "namespace nope is not found"))
    assert isinstance(refused, TemporalRefused) and "namespace nope is not found" in str(refused)


def test_the_decide_table_covers_every_type_the_workflow_rejects_a_decision_with() -> None:
    assert set(DECIDE_ERRORS) == set(names.DECIDE_ERROR_TYPES)


def test_the_workflow_raises_no_error_type_the_gateway_does_not_know() -> None:
    """Every `ApplicationError(type=...)` in the workflow code is either an update's rejection (`decide`'s, mapped
    above; `say`'s, mapped by baton.conversations; `reply`'s, read by bot.thread_replies) or the failed task's own
    type (`_fail`: the agent's error), which ends the workflow: `result()` reports it as Temporal's
    WorkflowFailureError on purpose, and the task's status carries it for people."""
    raised: dict[str, set[str]] = {}
    for path in sorted((ROOT / "workers" / "workflow").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "ApplicationError":
                    for keyword in node.keywords:
                        if keyword.arg == "type":
                            raised.setdefault(ast.unparse(keyword.value), set()).add(function.name)
    assert raised.pop("error.type") == {"_fail"}
    assert {getattr(names, constant) for constant in raised} == set(DECIDE_ERRORS) | set(SAY_ERRORS) | REPLY_REFUSALS


def test_the_error_tree_in_baton_errors_names_every_class() -> None:
    classes = {
        cls.__name__
        for module in (baton.errors, baton.temporal)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BatonError)
    }
    assert "TemporalSettingsError" in classes and "TaskBusy" in classes
    tree = baton.errors.__doc__ or ""
    assert {name for name in classes if name not in tree} == set()


class _Handle:
    def __init__(self, error: BaseException) -> None:
        self._error = error

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error

    async def signal(self, *args: Any, **kwargs: Any) -> None:
        raise self._error


class _Client:
    """Only what the gateway calls, each failing with `error` as Temporal's client would."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def get_workflow_handle(self, *args: Any, **kwargs: Any) -> _Handle:
        return _Handle(self._error)

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        raise self._error

    async def list_workflows(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise self._error
        yield  # an async generator, as the client's is


def gateway_failing_with(error: BaseException) -> TaskGateway:
    return TaskGateway(_Client(error))  # type: ignore[arg-type]


async def test_submit_and_list_translate_an_outage() -> None:
    gateway = gateway_failing_with(rpc_error(RPCStatusCode.UNAVAILABLE, "tcp connect error"))
    with pytest.raises(TemporalUnavailable, match="cannot reach Temporal"):
        await gateway.submit(make_request(), validate_agent=False)
    with pytest.raises(TemporalUnavailable):
        await gateway.list_tasks(user_id="U1")
    with pytest.raises(TemporalUnavailable):
        await gateway.waiting_for("U1")
    with pytest.raises(TemporalUnavailable):
        await gateway.cancel("diagnostic-0123456789ab", CancellationV1(by="U1"))


async def test_a_namespace_without_baton_search_attributes_is_refused_with_temporals_reason() -> None:
    reason = "search attribute BatonAgent is not defined"
    gateway = gateway_failing_with(rpc_error(RPCStatusCode.INVALID_ARGUMENT, reason))
    with pytest.raises(TemporalRefused, match=reason):
        await gateway.submit(make_request(), validate_agent=False)


@pytest.mark.parametrize("error_type", names.DECIDE_ERROR_TYPES)
async def test_a_rejected_decision_keeps_the_workflows_message(error_type: str) -> None:
    cause = ApplicationError("This is no longer pending: <@U1> already chose accept.", type=error_type)
    gateway = gateway_failing_with(WorkflowUpdateFailedError(cause))
    decision = DecisionV1(checkpoint_id="cp-1", decision="accept", by="U2", at=utc_now())
    with pytest.raises(DecisionRejected, match="already chose accept"):
        await gateway.decide("diagnostic-0123456789ab", decision)


async def test_a_checkpoint_decided_first_by_someone_else_names_the_decision_and_the_decider() -> None:
    cause = ApplicationError("This is no longer pending: <@U1> already chose accept.", "accept", "U1",
                             type=names.CHECKPOINT_NOT_PENDING)
    gateway = gateway_failing_with(WorkflowUpdateFailedError(cause))
    decision = DecisionV1(checkpoint_id="cp-1", decision="accept", by="U2", at=utc_now())
    with pytest.raises(AlreadyDecided) as late:
        await gateway.decide("diagnostic-0123456789ab", decision)
    assert (late.value.decision, late.value.by) == ("accept", "U1")


async def test_a_decision_no_worker_took_in_time_reads_as_busy() -> None:
    gateway = gateway_failing_with(WorkflowUpdateRPCTimeoutOrCancelledError())
    decision = DecisionV1(checkpoint_id="cp-1", decision="accept", by="U2", at=utc_now())
    with pytest.raises(TaskBusy):
        await gateway.decide("diagnostic-0123456789ab", decision)


async def test_an_update_the_server_refused_rather_than_the_workflow_reads_as_busy() -> None:
    """Just after a Temporal restart the server can refuse an update no worker processed yet: the person's click
    changed nothing and may be sent again, so it is "busy", not "your decision was not applied: <server text>"."""
    refused = WorkflowUpdateFailedError(RuntimeError("Workflow Update is rejected: not processed by a worker"))
    gateway = gateway_failing_with(refused)
    decision = DecisionV1(checkpoint_id="cp-1", decision="accept", by="U2", at=utc_now())
    with pytest.raises(TaskBusy):
        await gateway.decide("diagnostic-0123456789ab", decision)
