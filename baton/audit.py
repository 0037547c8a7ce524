"""`baton audit`: every decision taken on tasks' checkpoints, read back from Temporal (`baton.render` draws the table).

The source is each task's event history, and in it the input of every `run_agent` activity that resumes the agent
(`RunAgentInputV1.resume`). The workflow schedules one in the same workflow task that takes a decision, and it holds
all an audit asks for at once: the decision as applied (the last approver's, or the policy's default on expiry,
carrying the approved arguments), the checkpoint as decided (the agent's own proposal, every approval and withdrawal
of the quorum, whether it expired) and the request (requester, approval policy). The `status` query and the
final-status memo say who decided what but not the arguments, and a query needs a live worker; the history is the
same for running and closed tasks, needs no worker, and is the record Temporal itself keeps. Payloads are decoded by
the client's data converter, which decrypts them when BATON_PAYLOAD_KEYS is set.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from baton.errors import TaskNotFound
from baton.gateway import TaskGateway
from baton.translate import translate_rpc_error
from contracts import (
    ApprovalPolicyV1,
    CheckpointV1,
    DecisionV1,
    RequesterV1,
    RunAgentInputV1,
    TaskRequestV1,
    TaskStatusV1,
    current_args,
    names,
)
from contracts.approval import APPROVING_DECISIONS, EXPIRY_DECIDER

__all__ = [
    "DEFAULT_SINCE",
    "Approval",
    "DecisionRow",
    "NotATask",
    "args_diff",
    "format_json_lines",
    "parse_since",
    "read_audit",
    "rows_from_history",
    "rows_from_status",
    "task_decisions",
]

DEFAULT_SINCE = timedelta(days=7)
"""The window of `baton audit` without a task or `--since`."""
_SINCE = re.compile(r"(\d{1,6})\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MAX_SINCE = timedelta(days=3660)
_READS_AT_ONCE = 8
"""Histories read concurrently for a `--since` audit: enough to hide latency, few enough not to load the server."""


class NotATask(ValueError):
    """The id names no Baton task (no workflow, or one that is not an AgentWorkflow): bad input, exit 2."""


@dataclass(frozen=True)
class Approval:
    """One person's approval toward a checkpoint's quorum."""

    by: str
    decision: str
    at: datetime | None
    """None for runs recorded before approvals were logged with their time."""
    withdrawn_by: str | None = None


@dataclass(frozen=True)
class DecisionRow:
    """One decision on one checkpoint: what `baton audit` prints as a table row or a JSON line."""

    task_id: str
    agent: str
    checkpoint_id: str
    checkpoint_title: str
    action: str | None
    decision: str
    by: str
    at: datetime
    text: str | None
    expired: bool
    """The policy's default, applied because nobody decided before the checkpoint expired."""
    requester: RequesterV1
    policy: ApprovalPolicyV1
    quorum: int
    approvals: tuple[Approval, ...]
    """Approvals standing when the checkpoint was decided (for a go-ahead: the ones that made the quorum)."""
    withdrawn: tuple[Approval, ...]
    """Approvals an edit of the arguments withdrew."""
    args_diff: dict[str, dict[str, Any]] | None
    """For an edit: what it changed in the agent's proposal (`args_diff`); None for every other decision."""

    def to_json(self) -> dict[str, Any]:
        """The JSON line's object; its keys are documented in the README and stay stable."""
        return {
            "task_id": self.task_id,
            "agent": self.agent,
            "checkpoint_id": self.checkpoint_id,
            "checkpoint_title": self.checkpoint_title,
            "action": self.action,
            "decision": self.decision,
            "by": self.by,
            "at": _iso(self.at),
            "expired": self.expired,
            "text": self.text,
            "requester": self.requester.model_dump(
                mode="json", include={"platform", "team_id", "channel_id", "thread_ts", "user_id"}
            ),
            "policy": self.policy.model_dump(
                mode="json",
                include={"approvers", "approver_groups", "quorum", "requester_may_approve", "expires_after_s",
                         "on_expiry", "escalate_to"},
            ),
            "quorum": {
                "required": self.quorum,
                "approvals": len(self.approvals),
                "approved_by": [_approval_json(a) for a in self.approvals],
                "withdrawn": [_approval_json(a) for a in self.withdrawn],
            },
            "args_diff": self.args_diff,
        }


# --- parsing and diffing (pure) -------------------------------------------------------------------------------


def parse_since(text: str) -> timedelta:
    """`30m`, `12h`, `7d` (also `s` and `w`) as a duration; ValueError with a one-line message for anything else."""
    match = _SINCE.fullmatch(text.strip().lower())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"--since {text!r} is not a duration like 30m, 12h or 7d")
    since = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    if since > _MAX_SINCE:
        raise ValueError(f"--since {text!r} reaches back more than ten years")
    return since


def args_diff(before: Any, after: Any) -> dict[str, dict[str, Any]]:
    """What an edit changed, by path: `{"replicas": {"from": 3, "to": 1}, "steps[2]": {"from": {...}}}`.

    A path with only `from` was removed, with only `to` added. Values compare as JSON, as the quorum's argument
    digest does (`1`, `1.0` and `true` differ; key order does not matter). List items are matched by content first,
    so dropping one step of three reads as that step removed, not as every later step changed; a removed item's
    index is its place in the proposal, an added one's its place in the edit."""
    changes: dict[str, dict[str, Any]] = {}
    _diff(before, after, "", changes)
    return changes


def _diff(before: Any, after: Any, path: str, out: dict[str, dict[str, Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            where = f"{path}.{key}" if path else str(key)
            if key in after:
                _diff(before[key], after[key], where, out)
            else:
                out.setdefault(where, {})["from"] = before[key]
        for key in after:
            if key not in before:
                out.setdefault(f"{path}.{key}" if path else str(key), {})["to"] = after[key]
    elif isinstance(before, list) and isinstance(after, list):
        matcher = SequenceMatcher(a=[_canonical(x) for x in before], b=[_canonical(x) for x in after], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(paired):
                _diff(before[i1 + k], after[j1 + k], f"{path}[{i1 + k}]", out)
            for i in range(i1 + paired, i2):
                out.setdefault(f"{path}[{i}]", {})["from"] = before[i]
            for j in range(j1 + paired, j2):
                out.setdefault(f"{path}[{j}]", {})["to"] = after[j]
    elif _canonical(before) != _canonical(after):
        out[path or "$"] = {"from": before, "to": after}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


# --- rows -----------------------------------------------------------------------------------------------------


def row_from_resume(request: TaskRequestV1, checkpoint: CheckpointV1, decision: DecisionV1) -> DecisionRow:
    """The row of one decision as the workflow handed it to the agent."""
    standing, withdrawn = _approvals_of(checkpoint, decision)
    diff = None
    if decision.decision == "edit":
        proposal = checkpoint.original_action or checkpoint.proposed_action
        approved = decision.edited_args if decision.edited_args is not None else current_args(checkpoint)
        diff = args_diff(dict(proposal.args) if proposal else {}, approved)
    action = checkpoint.original_action or checkpoint.proposed_action
    return DecisionRow(
        task_id=request.task_id,
        agent=request.agent,
        checkpoint_id=checkpoint.id,
        checkpoint_title=checkpoint.title,
        action=action.name if action else None,
        decision=decision.decision,
        by=decision.by,
        at=_aware(decision.at),
        text=decision.text,
        expired=checkpoint.state == "expired",
        requester=request.requester,
        policy=request.approval,
        quorum=checkpoint.quorum,
        approvals=standing,
        withdrawn=withdrawn,
        args_diff=diff,
    )


def _approvals_of(checkpoint: CheckpointV1, decision: DecisionV1) -> tuple[tuple[Approval, ...], tuple[Approval, ...]]:
    log = checkpoint.approval_log
    if log:
        standing = [Approval(a.by, a.decision, a.at) for a in log if a.withdrawn_by is None and a.by in
                    checkpoint.approvals]
        withdrawn = [Approval(a.by, a.decision, a.at, a.withdrawn_by) for a in log if a.withdrawn_by]
        return tuple(standing), tuple(withdrawn)
    # Quorum 1 keeps no log, nor did runs recorded before it existed (they counted accepts only).
    at = _aware(decision.at)
    standing = [Approval(u, "accept", at if u == decision.by else None) for u in checkpoint.approvals]
    if decision.decision in APPROVING_DECISIONS and decision.by != EXPIRY_DECIDER and decision.by not in (
        checkpoint.approvals
    ):
        standing.append(Approval(decision.by, decision.decision, at))
    return tuple(standing), ()


async def rows_from_history(history: WorkflowHistory, converter: DataConverter) -> list[DecisionRow]:
    """Every decision in one task's history, oldest first (see the module docstring for why this source).

    Raises NotATask when the history is not an AgentWorkflow's."""
    rows: list[DecisionRow] = []
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            kind = event.workflow_execution_started_event_attributes.workflow_type.name
            if kind != names.AGENT_WORKFLOW:
                raise NotATask(f"{history.workflow_id} is not a Baton task (it is a {kind}).")
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name != names.RUN_AGENT_ACTIVITY:
            continue
        [agent_input] = await converter.decode(scheduled.input.payloads, [RunAgentInputV1])
        if agent_input.resume is not None:
            resume = agent_input.resume
            rows.append(row_from_resume(agent_input.request, resume.checkpoint, resume.decision))
    return rows


def rows_from_status(status: TaskStatusV1) -> list[DecisionRow]:
    """The rows a task's status knows (its `decisions`): everything but the edited arguments, which it does not
    keep. For displays that have the status but could not read the history."""
    rows = []
    for record in status.decisions:
        approvals = tuple(Approval(a.by, a.decision, a.at) for a in record.approvals)
        if not approvals and record.decision in APPROVING_DECISIONS and record.by != EXPIRY_DECIDER:
            approvals = (Approval(record.by, record.decision, _aware(record.at)),)
        rows.append(DecisionRow(
            task_id=status.task_id, agent=status.agent, checkpoint_id=record.checkpoint_id,
            checkpoint_title=record.checkpoint_title, action=None, decision=record.decision, by=record.by,
            at=_aware(record.at), text=record.text, expired=record.by == EXPIRY_DECIDER, requester=status.requester,
            policy=status.approval, quorum=status.approval.quorum, approvals=approvals, withdrawn=(), args_diff=None,
        ))
    return rows


# --- reading from Temporal ------------------------------------------------------------------------------------


async def task_decisions(client: Client, task_id: str) -> list[DecisionRow]:
    """One task's decisions from its history. Raises NotATask for an id that names no Baton task."""
    rows: list[DecisionRow] = []
    try:
        async for history in _runs(client, task_id):
            rows += await rows_from_history(history, client.data_converter)
    except RPCError as exc:
        error = translate_rpc_error(exc, task_id)
        if isinstance(error, TaskNotFound):
            raise NotATask(str(error)) from None
        raise error from exc
    return rows


async def _runs(client: Client, task_id: str) -> AsyncIterator[WorkflowHistory]:
    """Every run of a task, first to last: a long task continues as new, and each run holds the decisions made in
    it (the decision that ended a run is the next run's first resume)."""
    described = await client.get_workflow_handle(task_id).describe()
    run_id: str | None = described.raw_description.workflow_execution_info.first_run_id or None
    while True:
        history = await client.get_workflow_handle(task_id, run_id=run_id).fetch_history()
        yield history
        last = history.events[-1] if history.events else None
        if last is None or not last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id


async def read_audit(gateway: TaskGateway, task_id: str | None, since: datetime | None) -> list[DecisionRow]:
    """The decisions of one task, or of every task on the gateway's queue that may hold one taken after `since`;
    only decisions taken after `since` are kept. Oldest first."""
    if task_id is not None:
        rows = await task_decisions(gateway.client, task_id)
    else:
        reads = asyncio.Semaphore(_READS_AT_ONCE)

        async def read(listed: str) -> list[DecisionRow]:
            async with reads:
                try:
                    return await task_decisions(gateway.client, listed)
                except NotATask:  # deleted by retention between the listing and the read
                    return []

        since = since or datetime.now(UTC) - DEFAULT_SINCE
        listed = [task async for task in _tasks_active_since(gateway, since)]
        rows = [row for rows in await asyncio.gather(*(read(task) for task in listed)) for row in rows]
    if since is not None:
        rows = [row for row in rows if row.at >= since]
    return sorted(rows, key=lambda row: (row.at, row.task_id))


async def _tasks_active_since(gateway: TaskGateway, since: datetime) -> AsyncIterator[str]:
    """Every task that ran at some point after `since`, the only ones that can hold a decision taken since: started
    since, closed since, or still running (a task started earlier may have been decided yesterday)."""
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    window = f"(StartTime >= '{stamp}' OR CloseTime >= '{stamp}' OR ExecutionStatus = 'Running')"
    query = f"{gateway.own_tasks()} AND {window}"
    try:
        async for execution in gateway.client.list_workflows(query):
            yield execution.id
    except RPCError as exc:
        raise translate_rpc_error(exc) from exc


# --- output ---------------------------------------------------------------------------------------------------


def format_json_lines(rows: Iterable[DecisionRow]) -> str:
    """One JSON object a line (`DecisionRow.to_json`); no rows, no lines."""
    return "\n".join(json.dumps(row.to_json(), ensure_ascii=False, default=repr) for row in rows)


def _approval_json(approval: Approval) -> dict[str, Any]:
    return {"by": approval.by, "decision": approval.decision, "at": _iso(approval.at) if approval.at else None,
            "withdrawn_by": approval.withdrawn_by}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _iso(at: datetime) -> str:
    return _aware(at).astimezone(UTC).isoformat().replace("+00:00", "Z")
