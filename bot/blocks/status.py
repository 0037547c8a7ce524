"""The task's status message: posted once in the thread and edited in place as the task moves."""

from __future__ import annotations

from datetime import datetime

from baton.render import progress_bar
from bot.blocks.common import PHASE_LABELS, Rendered, TaskLinks, context, fallback_text, format_duration, section
from bot.blocks.ids import ACTION_CANCEL, ButtonRef
from bot.blocks.text import Mrkdwn, escape, link, mention, mrkdwn, truncate
from contracts import TaskStatusV1

__all__ = ["status_message"]

_REQUEST_PREVIEW = 600


def status_message(status: TaskStatusV1, *, now: datetime, links: TaskLinks) -> Rendered:
    """Agent, phase, progress bar, current step, elapsed time, task id, Temporal UI link, and a cancel button
    while the task can still be cancelled (who may press it is checked when it is pressed)."""
    phase = PHASE_LABELS.get(status.phase, status.phase)
    checkpoint = status.pending_checkpoint if status.phase == "waiting_for_human" else None
    blocks = [
        section(mrkdwn("*{}* · {}\n>{}", status.agent, phase, truncate(status.request_text, _REQUEST_PREVIEW))),
    ]
    if not status.is_terminal:
        progress = status.progress
        steps = ""
        if progress.total:
            steps = f"  step {progress.step}/{progress.total}"
        elif progress.step:
            steps = f"  step {progress.step}"
        line = mrkdwn("`{}`{}", progress_bar(progress.percent), steps)
        # While a decision is pending, the worker's progress message restates it ("Waiting for a decision: <title>");
        # the phase already says "Waiting for a decision" and the line below names it: say it once.
        if progress.message and not (checkpoint is not None and checkpoint.title in progress.message):
            line += mrkdwn("\n{}", truncate(progress.message, 500))
        blocks.append(section(line))
    if checkpoint is not None:
        blocks.append(context(mrkdwn("Decision needed: *{}*", truncate(checkpoint.title, 500))))
    if status.cancellation is not None:
        reason = mrkdwn(": {}", status.cancellation.reason) if status.cancellation.reason else ""
        blocks.append(context(mrkdwn("Cancelled by {}{}", _who(status.cancellation.by), reason)))
    end = status.finished_at or now
    url = links.task_url(status.task_id)
    meta = [
        mrkdwn("Task `{}`", status.task_id),
        mrkdwn("elapsed {}", format_duration(status.started_at or status.created_at, end)),
        mrkdwn("requested by {}", mention(status.requester.user_id)),
    ]
    if url:
        meta.append(link(url, "Open in Temporal"))
    blocks.append(context(Mrkdwn(" · ").join(meta)))
    if not status.is_terminal:
        blocks.append({
            "type": "actions",
            "block_id": "baton_status_actions",
            "elements": [{
                "type": "button",
                "action_id": ACTION_CANCEL,
                "text": {"type": "plain_text", "text": "Cancel task"},
                "style": "danger",
                "value": ButtonRef(status.task_id).encode(),
                "confirm": {
                    "title": {"type": "plain_text", "text": "Cancel this task?"},
                    "text": {"type": "plain_text", "text": "The agent stops and the task ends as cancelled."},
                    "confirm": {"type": "plain_text", "text": "Cancel task"},
                    "deny": {"type": "plain_text", "text": "Keep running"},
                },
            }],
        })
    text = fallback_text(f"{status.agent}: {phase.split(' ', 1)[-1]} ({status.task_id})")
    return Rendered(text=text, blocks=blocks)


def _who(user: str) -> Mrkdwn:
    """A canceller is a Slack user id, or an operator name from the CLI: mention only the former."""
    return mention(user) if user[:1] in ("U", "W") and user.isalnum() else escape(user)
