"""App Home: the tasks I started that are still running, and the approvals waiting for me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks.common import PHASE_LABELS, TaskLinks, context, format_duration, section
from bot.blocks.text import Mrkdwn, link, mrkdwn, truncate

__all__ = ["home_view", "task_line"]

_MAX_ROWS = 20  # each list; a home view allows 100 blocks


def task_line(status: Any, *, now: datetime, links: TaskLinks) -> Mrkdwn:
    """One line per task: agent, phase, request preview, elapsed, and the Temporal UI link when configured."""
    url = links.task_url(status.task_id)
    task = link(url, status.task_id) if url else mrkdwn("`{}`", status.task_id)
    phase = PHASE_LABELS.get(status.phase, status.phase)
    request = truncate(status.request_text, 120)
    elapsed = format_duration(status.started_at or status.created_at, status.finished_at or now)
    return mrkdwn("*{}* · {} · {}\n{}\n{}", status.agent, phase, elapsed, request, task)


def home_view(my_tasks: list[Any], waiting_for_me: list[Any], *, now: datetime, links: TaskLinks,
              error: str | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Baton"}},
        context("Run long agent jobs from Slack: `/baton run <agent> <request>` or mention me."),
    ]
    if error:
        blocks.append(section(mrkdwn(":warning: {}", error)))
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Approvals waiting for me"}})
    if waiting_for_me:
        for status in waiting_for_me[:_MAX_ROWS]:
            title = status.pending_checkpoint.title if status.pending_checkpoint else "a decision"
            blocks.append(section(mrkdwn(":raised_hand: *{}*\n{}", title, task_line(status, now=now, links=links))))
    else:
        blocks.append(context("Nothing is waiting for you."))
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "My running tasks"}})
    if my_tasks:
        blocks.extend(section(task_line(s, now=now, links=links)) for s in my_tasks[:_MAX_ROWS])
    else:
        blocks.append(context("No running tasks."))
    return {"type": "home", "blocks": blocks}
