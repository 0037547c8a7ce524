"""Plain-text rendering of a task's status for the terminal (`baton status`), and the pieces the Slack messages
draw the same way (the progress bar, the task's Temporal UI link). Pure functions."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from contracts import TaskStatusV1

__all__ = ["elapsed", "progress_bar", "render_status", "task_url"]

BAR_WIDTH = 24


def progress_bar(percent: float | None, width: int = 10) -> str:
    """`▓▓▓▓░░░░░░ 40%`; unknown totals show an indeterminate bar rather than a made-up number."""
    if percent is None:
        return "░" * width
    clamped = min(100.0, max(0.0, percent))
    filled = round(clamped / 100 * width)
    return "▓" * filled + "░" * (width - filled) + f" {clamped:.0f}%"


def task_url(ui_url: str, namespace: str, task_id: str) -> str:
    """The task's workflow page in the Temporal UI (the workflow id is the task id)."""
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(task_id, safe='')}"


def elapsed(status: TaskStatusV1, now: datetime) -> str:
    start = status.started_at or status.created_at
    end = status.finished_at or now
    seconds = max(0, int((end - start).total_seconds()))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def render_status(status: TaskStatusV1, now: datetime, ui_url: str | None = None, namespace: str = "default") -> str:
    lines = [
        f"task      {status.task_id}",
        f"agent     {status.agent}",
        f"phase     {status.phase}" + (f" (attempt {status.attempt})" if status.attempt > 1 else ""),
        f"progress  {progress_bar(status.progress.percent, BAR_WIDTH)}  {status.progress.message}".rstrip(),
        f"elapsed   {elapsed(status, now)}",
    ]
    checkpoint = status.pending_checkpoint
    if checkpoint is not None:
        lines.append(f"waiting   {checkpoint.title} [{checkpoint.state}] id={checkpoint.id}")
        lines.append(f"          decide with: baton decide {status.task_id} {' | '.join(checkpoint.allowed_decisions)}")
        if checkpoint.proposed_action is not None:
            lines.append(f"          proposes {checkpoint.proposed_action.name}({checkpoint.proposed_action.args})")
        if checkpoint.quorum > 1:
            lines.append(f"          approvals {len(checkpoint.approvals)} of {checkpoint.quorum}")
    for record in status.decisions[-5:]:
        lines.append(f"decided   {record.checkpoint_title or record.checkpoint_id}: {record.decision} by {record.by}")
    if status.cancellation is not None:
        lines.append(f"cancelled by {status.cancellation.by}: {status.cancellation.reason}".rstrip(": "))
    result = status.result
    if result is not None:
        lines.append(f"outcome   {result.outcome}")
        if result.error is not None:
            lines.append(f"error     {result.error.type}: {result.error.message}")
        elif result.summary:
            lines.append("summary   " + result.summary.replace("\n", "\n          "))
        for artifact in result.artifacts:
            lines.append(f"artifact  {artifact.name} ({artifact.content_type}, {len(artifact.content)} chars)")
        usage = result.usage
        lines.append(
            f"usage     {usage.llm_calls} LLM calls, {usage.input_tokens} in / {usage.output_tokens} out tokens"
        )
    if ui_url:
        lines.append(f"temporal  {task_url(ui_url, namespace, status.task_id)}")
    return "\n".join(lines)
