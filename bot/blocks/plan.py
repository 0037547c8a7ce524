"""The task's status message as a live plan: the agent's graph steps in Slack's `plan` block, one `task_card` each,
moving from pending to in progress to complete or error, with a checkpoint shown as a step waiting for people.

Why blocks in the status message and not `task_update` / `plan_update` stream chunks: a task's status message is
posted once and edited in place by the `notify` activity, which Temporal retries and which reads the workflow's
status at delivery time, so a late or repeated delivery draws the truth. A stream is a conversation between one
process and Slack (start, append, stop): it cannot be resumed by another bot replica after a crash, it is meant
for seconds rather than for a task that waits days for an approval, and a stopped stream can no longer be
edited. The plan block gives the same timeline look on the durable path.

The steps come from the worker (`ProgressEventV1.plan`, drawn from the agent's graph by workers/plan.py); where to
stand in them comes from the latest progress event (which node it names, and whether that node finished) and the
task's phase. While the task waits for a person, one card is in progress, the decision: Slack's task cards know
pending, in progress, complete and error, and no "waiting", so the step that asked reads complete, with what the
agent last said about it or else "Asked for a decision"; when the agent resumes it, its next event shows that step
in progress again. A status with no plan (a worker that predates it, or a task that has not reported yet) gets
None: the caller draws today's blocks (bot.blocks.status).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from bot.blocks.common import (
    PHASE_LABELS,
    Rendered,
    TaskLinks,
    context,
    fallback_text,
    format_duration,
    section,
)
from bot.blocks.ids import ACTION_CANCEL, ButtonRef
from bot.blocks.text import Mrkdwn, inert_label, link, mention, mrkdwn, truncate
from contracts import PlanStepV1, TaskStatusV1

__all__ = ["ASKED", "PLAN_BLOCK_TYPES", "StepView", "plan_status_message", "plan_steps"]

StepState = Literal["pending", "in_progress", "complete", "error"]
PLAN_BLOCK_TYPES = frozenset({"plan", "task_card"})
"""Block types a workspace or client may not know; Slack refuses them as invalid_blocks (bot/notifier.py falls
back to today's rendering)."""
_TITLE = 255
"""Our own cap for plan and task titles: Slack documents none, and a step title is one line."""
_DETAIL = 1000
_REQUEST_PREVIEW = 600
ASKED = "Asked for a decision"
"""The detail of the step whose node asked the pending checkpoint: done asking, the decision card is in progress."""


@dataclass(frozen=True)
class StepView:
    """One task card: a step of the plan (or the checkpoint) and where the task stands on it."""

    task_id: str
    title: str
    state: StepState
    detail: list[dict[str, Any]] | None = None
    """rich_text elements under the title (who is waited for, who stopped the task, what failed)."""


def plan_steps(status: TaskStatusV1) -> list[StepView] | None:
    """The plan's cards as the task stands, or None when no event named a plan."""
    latest_plan = next((e for e in reversed(status.events) if e.plan), None)
    if latest_plan is None:
        return None
    plan = latest_plan.plan
    current = _current_index(status, plan)
    views = [_view(status, i, step, current) for i, step in enumerate(plan)]
    checkpoint = status.pending_checkpoint if status.phase == "waiting_for_human" else None
    if checkpoint is not None:
        if current < len(views) and views[current].state == "in_progress":
            # What the agent said since it asked (a progress message while waiting) stays shown; else "asked".
            views[current] = replace(views[current], state="complete", detail=views[current].detail or [_text(ASKED)])
        approvers = list(dict.fromkeys([*status.approval.approvers, *checkpoint.allowed_users]))
        waiting = [_text("Waiting for "), *_people(approvers)] if approvers else [_text("Waiting for a decision")]
        views.insert(min(current + 1, len(views)), StepView(
            task_id=f"checkpoint-{checkpoint.id}"[:_TITLE], title=inert_label(f"Decision: {checkpoint.title}", _TITLE),
            state="in_progress", detail=waiting))
    return views


def _current_index(status: TaskStatusV1, plan: list[PlanStepV1]) -> int:
    """The step the task is in: the one the latest event names, or the next once it finished; 0 before any step
    reported. Steps before it are done (events are coalesced, so the ones in between may never have been named)."""
    nodes = [step.node for step in plan]
    for event in reversed(status.events):
        if event.node in nodes:
            index = nodes.index(event.node)
            return index + 1 if event.node_finished else index
    return 0


def _view(status: TaskStatusV1, i: int, step: PlanStepV1, current: int) -> StepView:
    title = inert_label(step.label or step.node, _TITLE)
    task_id = f"step-{i}"
    if status.phase == "completed" or i < current:
        return StepView(task_id, title, "complete")
    if i > current:
        return StepView(task_id, title, "pending")
    if status.phase == "cancelled":
        who = status.cancellation.by if status.cancellation else "someone"
        detail = [_text("Stopped by "), *_people([who])]
        if status.cancellation and status.cancellation.reason:
            detail.append(_text(f": {status.cancellation.reason}"))
        return StepView(task_id, title, "error", detail)
    if status.phase in ("failed", "timed_out"):
        error = status.result.error if status.result is not None else None
        why = error.message if error is not None and error.message else PHASE_LABELS[status.phase].split(" ", 1)[-1]
        return StepView(task_id, title, "error", [_text(why)])
    said = _latest_word(status)
    return StepView(task_id, title, "in_progress", [_text(said)] if said else None)


def _latest_word(status: TaskStatusV1) -> str:
    """What the agent last said about the step it is in: its latest progress message, unless that only closed the
    step before ("Finished scan") or restates the pending decision (its card says it once)."""
    message = status.progress.message
    latest = status.events[-1] if status.events else None
    if not message or (latest is not None and latest.node_finished and latest.message == message):
        return ""
    checkpoint = status.pending_checkpoint
    return "" if checkpoint is not None and checkpoint.title in message else message


def plan_status_message(status: TaskStatusV1, *, now: datetime, links: TaskLinks) -> Rendered | None:
    """The request, the plan, the task's id, elapsed time and requester, and a Stop button while the task runs (the
    Cancel path: who may press it is checked when it is pressed); None without a plan."""
    steps = plan_steps(status)
    if steps is None:
        return None
    phase = PHASE_LABELS.get(status.phase, status.phase)
    title = inert_label(f"{status.agent}: {phase.split(' ', 1)[-1]}", _TITLE)
    blocks: list[dict[str, Any]] = [
        section(mrkdwn(">{}", truncate(status.request_text, _REQUEST_PREVIEW))),
        {"type": "plan", "title": title, "tasks": [_card(step) for step in steps]},
    ]
    end = status.finished_at or now
    meta = [
        mrkdwn("Task `{}`", status.task_id),
        mrkdwn("elapsed {}", format_duration(status.started_at or status.created_at, end)),
        mrkdwn("requested by {}", mention(status.requester.user_id)),
    ]
    url = links.task_url(status.task_id)
    if url:
        meta.append(link(url, "Open in Temporal"))
    blocks.append(context(Mrkdwn(" · ").join(meta)))
    if not status.is_terminal:
        blocks.append(_stop_button(status.task_id))
    return Rendered(text=fallback_text(f"{status.agent}: {phase.split(' ', 1)[-1]} ({status.task_id})"), blocks=blocks)


def _card(step: StepView) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "task_card", "task_id": step.task_id, "title": step.title, "status": step.state}
    if step.detail:
        card["details"] = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": step.detail}]}
    return card


def _stop_button(task_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "baton_status_actions",
        "elements": [{
            "type": "button",
            "action_id": ACTION_CANCEL,
            "text": {"type": "plain_text", "text": "Stop"},
            "style": "danger",
            "value": ButtonRef(task_id).encode(),
            "confirm": {
                "title": {"type": "plain_text", "text": "Stop this task?"},
                "text": {"type": "plain_text", "text": "The agent stops and the task ends as cancelled."},
                "confirm": {"type": "plain_text", "text": "Stop"},
                "deny": {"type": "plain_text", "text": "Keep running"},
            },
        }],
    }


def _text(text: str) -> dict[str, Any]:
    """A rich_text run. Slack documents task titles and rich text as plain text, but not how it parses them: angle
    brackets become look-alikes (bot.blocks.text.inert_label), so no mention or link can form from an agent's or a
    person's words; Baton's own mentions are `user` elements."""
    return {"type": "text", "text": inert_label(text, _DETAIL)}


def _people(users: list[str]) -> list[dict[str, Any]]:
    """Mentions for Slack user ids, an operator's name (the CLI) as text; comma separated."""
    out: list[dict[str, Any]] = []
    for n, user in enumerate(users[:10]):
        if n:
            out.append(_text(", "))
        is_user = str(mention(user)).startswith("<@") and user[:1] in ("U", "W")
        out.append({"type": "user", "user_id": user} if is_user else _text(user))
    return out
