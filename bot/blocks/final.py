"""The task's final message: summary, artifacts, the decisions people took, usage; on failure a readable error and a
Retry button; under an answer (a task with a result), Slack's feedback buttons (bot.blocks.feedback).

Anything too large for a message (a long summary, a big artifact) is cut with a marker and handed back as an
upload, so the notifier can attach the full text to the thread as a file.
"""

from __future__ import annotations

from typing import Any

from bot.blocks.common import PHASE_LABELS, FileUpload, Rendered, context, fallback_text, fit_blocks, section
from bot.blocks.feedback import feedback_block
from bot.blocks.ids import ACTION_RETRY, ButtonRef
from bot.blocks.text import (
    MAX_BLOCKS,
    MAX_CONTEXT_TEXT,
    Mrkdwn,
    code_block,
    escape,
    inert_label,
    mention,
    mrkdwn,
    slack_date,
    truncate,
)
from contracts import ArtifactV1, DecisionRecordV1, TaskStatusV1, UsageV1
from contracts.approval import EXPIRY_DECIDER

__all__ = ["INLINE_ARTIFACT_CHARS", "MAX_DECISIONS_SHOWN", "decision_trail", "final_message", "format_usage"]

INLINE_ARTIFACT_CHARS = 1500
"""Artifacts up to this size are shown in the message; larger ones become files."""
_SUMMARY_LIMIT = 2800
_MAX_INLINE_ARTIFACTS = 5
MAX_DECISIONS_SHOWN = 10
"""Decisions listed in the final message; the rest are counted ("and N more") and `baton audit` has them all."""
_DECIDED: dict[str, str] = {
    "accept": "approved",
    "edit": "edited and approved",
    "reject": "rejected",
    "respond": "answered",
    "ignore": "ignored",
}


def final_message(status: TaskStatusV1) -> Rendered:
    result = status.result
    label = PHASE_LABELS.get(status.phase, status.phase)
    if result is not None and result.outcome == "rejected":
        label = ":no_entry: Rejected"
    blocks: list[dict[str, Any]] = [section(mrkdwn("*{}* · {}", status.agent, label))]
    uploads: list[FileUpload] = []
    summary = result.summary if result is not None else ""
    if summary:
        escaped = escape(summary)
        blocks.append(section(truncate(escaped, _SUMMARY_LIMIT)))
        if len(escaped) > _SUMMARY_LIMIT:
            uploads.append(FileUpload(f"{status.task_id}-summary.md", summary, "Full summary"))
    error = result.error if result is not None else None
    if error is not None:
        blocks.append(section(mrkdwn("*{}*\n{}", error.type, code_block(error.message, 2000))))
    elif status.phase in ("failed", "timed_out") and not summary:
        blocks.append(section("The task ended without a result. The Temporal UI has the details."))
    if status.cancellation is not None and status.phase == "cancelled":
        reason = mrkdwn(": {}", status.cancellation.reason) if status.cancellation.reason else ""
        blocks.append(context(mrkdwn("Cancelled by {}{}", status.cancellation.by, reason)))
    for index, artifact in enumerate(result.artifacts if result is not None else []):
        block, upload = _artifact(artifact, inline=index < _MAX_INLINE_ARTIFACTS)
        if block is not None:
            blocks.append(block)
        if upload is not None:
            uploads.append(upload)
    trail = decision_trail(status.decisions, status.approval.quorum)
    if trail is not None:
        blocks.append(context(trail))
    if result is not None:
        blocks.append(context(format_usage(result.usage), mrkdwn("Task `{}`", status.task_id)))
    if status.phase in ("failed", "timed_out"):
        blocks.append({
            "type": "actions",
            "block_id": "baton_final_actions",
            "elements": [{
                "type": "button",
                "action_id": ACTION_RETRY,
                "text": {"type": "plain_text", "text": "Retry"},
                "style": "primary",
                "value": ButtonRef(status.task_id).encode(),
            }],
        })
    text = fallback_text(f"{status.agent}: {label.split(' ', 1)[-1]}" + (f". {summary[:200]}" if summary else ""))
    if result is None:
        return Rendered(text=text, blocks=fit_blocks(blocks), uploads=uploads)
    # The answer's feedback buttons come last and are never cut (fit_blocks keeps room for them).
    return Rendered(text=text, blocks=[*fit_blocks(blocks, MAX_BLOCKS - 1), feedback_block(status.task_id)],
                    uploads=uploads)


def decision_trail(records: list[DecisionRecordV1], quorum: int = 1) -> Mrkdwn | None:
    """The task's decisions, one line each: who decided what and when, and the approvals a quorum counted. At most
    MAX_DECISIONS_SHOWN lines, and never past a context element's length: the rest become "and N more"."""
    if not records:
        return None
    lines = [Mrkdwn("*Decisions*")]
    room = MAX_CONTEXT_TEXT - 40  # kept for the "and N more" line
    for record in records[:MAX_DECISIONS_SHOWN]:
        line = _decision_line(record, quorum)
        if sum(len(part) + 1 for part in lines) + len(line) > room:
            break
        lines.append(line)
    hidden = len(records) - (len(lines) - 1)
    if hidden:
        lines.append(mrkdwn("_and {} more_", hidden))
    return Mrkdwn("\n").join(lines)


def _decision_line(record: DecisionRecordV1, quorum: int) -> Mrkdwn:
    title = truncate(record.checkpoint_title or record.checkpoint_id, 80)
    decided = _DECIDED.get(record.decision, record.decision)
    if record.by == EXPIRY_DECIDER:
        return mrkdwn("{}: {} by the policy's default on expiry · {}", title, decided, slack_date(record.at))
    line = mrkdwn("{}: {} by {} · {}", title, decided, mention(record.by), slack_date(record.at))
    if record.approvals:
        people = Mrkdwn(", ").join(mention(a.by) + (" (edit)" if a.decision == "edit" else "")
                                   for a in record.approvals)
        line += mrkdwn(" · {} of {} approvals: {}", len(record.approvals), max(quorum, len(record.approvals)), people)
    return line


def format_usage(usage: UsageV1) -> str:
    calls = "1 LLM call" if usage.llm_calls == 1 else f"{usage.llm_calls:,} LLM calls"
    return f"{calls} · {usage.input_tokens:,} tokens in · {usage.output_tokens:,} out"


def _artifact(artifact: ArtifactV1, *, inline: bool) -> tuple[dict[str, Any] | None, FileUpload | None]:
    if inline and len(artifact.content) <= INLINE_ARTIFACT_CHARS:
        return section(mrkdwn("*{}*\n{}", artifact.name, code_block(artifact.content, 2000))), None
    upload = FileUpload(_filename(artifact), artifact.content, inert_label(artifact.name))
    note = mrkdwn(":paperclip: *{}* ({:,} characters) is attached as a file", artifact.name, len(artifact.content))
    return context(note), upload


def _filename(artifact: ArtifactV1) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in artifact.name)[:80] or "artifact"
    if "." in stem:
        return stem
    ext = {"text/markdown": ".md", "application/json": ".json", "text/csv": ".csv"}.get(artifact.content_type, ".txt")
    return stem + ext
