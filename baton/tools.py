"""Delegation tools for an interactive agent: `temporal_submit`, `temporal_status`, `temporal_cancel`.

The article's TemporalTools: LangChain tools over a `TaskGateway`, so an agent delegates long work without
importing Temporal. The tools are bound to one requester (who the tasks belong to, who may cancel them), and
every answer is a short sentence a model can relay; errors come back as text, never as exceptions.
(The Slack bot has its own variant, `bot.delegation`, bound to a Slack message so ids derive from it.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from baton.errors import BatonError
from baton.gateway import TaskGateway
from contracts import (
    ApprovalPolicyV1,
    CancellationV1,
    RequesterV1,
    TaskRequestV1,
    may_cancel,
    task_id_for,
    utc_now,
)

__all__ = ["delegation_tools"]


def delegation_tools(
    gateway: TaskGateway,
    requester: RequesterV1,
    approval: ApprovalPolicyV1 | None = None,
    idempotency_key: Callable[[str, str], str] | None = None,
) -> list[BaseTool]:
    """Tools acting for `requester`. `idempotency_key(agent, request)` names a submission (default: a fresh
    uuid per call); derive it from the conversation turn so a model calling the tool twice starts one task."""
    policy = approval or ApprovalPolicyV1()
    key_for = idempotency_key or (lambda agent, text: f"tool:{requester.user_id}:{uuid.uuid4()}")

    async def temporal_submit(agent: str, request: str, parameters: dict[str, Any] | None = None) -> str:
        """Start a long-running agent task. `agent` is an agent name from the catalog; `request` says what it should
        do, in the person's words; `parameters` are the agent's options, if any. Returns the task id to use with
        temporal_status and temporal_cancel."""
        try:
            key = key_for(agent, request)
            task = TaskRequestV1(
                task_id=task_id_for(agent, key),
                agent=agent,
                text=request,
                parameters=parameters or {},
                requester=requester,
                approval=policy,
                idempotency_key=key,
                created_at=utc_now(),
            )
            outcome = await gateway.submit(task)
        except (BatonError, ValueError) as exc:
            return f"Could not start the task: {exc}"
        return f"Started task {outcome.task_id}." if outcome.started else f"Task {outcome.task_id} already exists."

    async def temporal_status(task_id: str) -> str:
        """The status of a task: its phase, progress, the decision it waits for, or its result."""
        try:
            status = await gateway.status(task_id.strip())
        except BatonError as exc:
            return str(exc)
        line = f"Task {status.task_id} ({status.agent}) is {status.phase.replace('_', ' ')}"
        if status.progress.percent is not None:
            line += f", {status.progress.percent:.0f}% done"
        if status.pending_checkpoint:
            line += f"; it waits for a decision: {status.pending_checkpoint.title}"
        if status.result:
            line += f"; {status.result.outcome}: {status.result.summary[:500]}"
        return line + "."

    async def temporal_cancel(task_id: str, reason: str = "") -> str:
        """Cancel a task this person started."""
        try:
            status = await gateway.status(task_id.strip())
            if not may_cancel(status.approval, status.requester.user_id, requester.user_id):
                return f"Only the person who started {status.task_id}, or an admin, may cancel it."
            await gateway.cancel(status.task_id, CancellationV1(by=requester.user_id, reason=reason[:500]))
        except BatonError as exc:
            return str(exc)
        return f"Cancellation requested for {status.task_id}."

    return [StructuredTool.from_function(coroutine=f) for f in (temporal_submit, temporal_status, temporal_cancel)]
