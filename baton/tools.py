"""Delegation tools for an interactive agent: `temporal_submit`, `temporal_status`, `temporal_cancel`.

The article's TemporalTools: LangChain tools over a `TaskGateway`, so an agent delegates long work without
importing Temporal. The tools act for one requester (who the tasks belong to, who may cancel them), and every
answer is a short sentence a model can relay; Baton's errors come back as text, never as exceptions.

There is one set of tools. `delegation_tools` runs them on a gateway; `tools_for` runs them on any `Delegate`, which
is how the Slack bot's front agent runs them through its `/baton` operations (the task id from the Slack message,
answers in Slack's words).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.tools import BaseTool, StructuredTool

from baton.errors import BatonError
from baton.gateway import TaskGateway
from contracts import ApprovalPolicyV1, CancellationV1, RequesterV1, TaskRequestV1, TaskStatusV1, may_cancel

__all__ = ["Delegate", "GatewayDelegate", "delegation_tools", "tools_for"]


class Delegate(Protocol):
    """What the tools do for one requester. Each returns the sentence the model relays; a `BatonError` it raises
    is relayed as its message."""

    async def submit(self, agent: str, request: str, parameters: dict[str, Any]) -> str: ...

    async def status(self, task_id: str) -> str:
        """`task_id` is '' when the model names none: then the requester's open tasks."""
        ...

    async def cancel(self, task_id: str, reason: str) -> str: ...


def tools_for(delegate: Delegate) -> list[BaseTool]:
    """The three tools, with the names, arguments and descriptions a model sees, doing what `delegate` does."""

    async def temporal_submit(agent: str, request: str, parameters: dict[str, Any] | None = None) -> str:
        """Start a long-running agent task. `agent` is an agent name from the catalog; `request` says what it should
        do, in the person's words; `parameters` are the agent's options, if any. Returns the task id to use with
        temporal_status and temporal_cancel."""
        return await _relayed(delegate.submit(agent, request, parameters or {}))

    async def temporal_status(task_id: str = "") -> str:
        """The status of a task: its phase, progress, the decision it waits for, or its result. Without a task id:
        the person's open tasks."""
        return await _relayed(delegate.status(task_id.strip()))

    async def temporal_cancel(task_id: str, reason: str = "") -> str:
        """Cancel a task the person started (admins may cancel any task)."""
        return await _relayed(delegate.cancel(task_id.strip(), reason))

    return [StructuredTool.from_function(coroutine=f) for f in (temporal_submit, temporal_status, temporal_cancel)]


async def _relayed(answer: Awaitable[str]) -> str:
    try:
        return await answer
    except BatonError as exc:  # written for people: the model relays it
        return str(exc)


@dataclass(frozen=True)
class GatewayDelegate:
    """The tools on a `TaskGateway`, for `requester`. `idempotency_key(agent, request)` names a submission."""

    gateway: TaskGateway
    requester: RequesterV1
    approval: ApprovalPolicyV1
    idempotency_key: Callable[[str, str], str]

    async def submit(self, agent: str, request: str, parameters: dict[str, Any]) -> str:
        try:
            task = TaskRequestV1.new(agent, request, self.requester, self.idempotency_key(agent, request),
                                     parameters=parameters, approval=self.approval)
            outcome = await self.gateway.submit(task)
        except (BatonError, ValueError) as exc:
            return f"Could not start the task: {exc}"
        return f"Started task {outcome.task_id}." if outcome.started else f"Task {outcome.task_id} already exists."

    async def status(self, task_id: str) -> str:
        if not task_id:
            tasks = await self.gateway.list_tasks(user_id=self.requester.user_id)
            return " ".join(_status_line(status) for status in tasks[:20]) or "No open tasks."
        return _status_line(await self.gateway.status(task_id))

    async def cancel(self, task_id: str, reason: str) -> str:
        status = await self.gateway.status(task_id)
        if not may_cancel(status.approval, status.requester.user_id, self.requester.user_id):
            return f"Only the person who started {status.task_id}, or an admin, may cancel it."
        await self.gateway.cancel(status.task_id, CancellationV1(by=self.requester.user_id, reason=reason[:500]))
        return f"Cancellation requested for {status.task_id}."


def _status_line(status: TaskStatusV1) -> str:
    line = f"Task {status.task_id} ({status.agent}) is {status.phase.replace('_', ' ')}"
    if status.progress.percent is not None:
        line += f", {status.progress.percent:.0f}% done"
    if status.pending_checkpoint:
        line += f"; it waits for a decision: {status.pending_checkpoint.title}"
    if status.result:
        line += f"; {status.result.outcome}: {status.result.summary[:500]}"
    return line + "."


def delegation_tools(
    gateway: TaskGateway,
    requester: RequesterV1,
    approval: ApprovalPolicyV1 | None = None,
    idempotency_key: Callable[[str, str], str] | None = None,
) -> list[BaseTool]:
    """Tools acting for `requester`. `idempotency_key(agent, request)` names a submission (default: a fresh
    uuid per call); derive it from the conversation turn so a model calling the tool twice starts one task."""
    key_for = idempotency_key or (lambda agent, text: f"tool:{requester.user_id}:{uuid.uuid4()}")
    return tools_for(GatewayDelegate(gateway, requester, approval or ApprovalPolicyV1(), key_for))
