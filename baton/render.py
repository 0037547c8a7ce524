"""Plain-text rendering for the terminal: a task's status (`baton status`) with its decisions, the audit table
(`baton audit`), and the pieces the Slack messages draw the same way (the progress bar, the task's Temporal UI link).
Pure functions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from baton.audit import DecisionRow, rows_from_status
from contracts import ApprovalPolicyV1, CheckpointV1, TaskStatusV1
from contracts.approval import EXPIRY_DECIDER

__all__ = [
    "action_lines",
    "decision_lines",
    "diff_summary",
    "elapsed",
    "format_table",
    "policy_summary",
    "progress_bar",
    "quorum_summary",
    "render_status",
    "task_url",
]

BAR_WIDTH = 24
DECISIONS_SHOWN = 10
"""The latest decisions `baton status` lists; `baton audit TASK` has them all."""


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


def render_status(status: TaskStatusV1, now: datetime, ui_url: str | None = None, namespace: str = "default",
                  trail: Sequence[DecisionRow] | None = None) -> str:
    """The task as `baton status` prints it. `trail` is the task's decisions read from its history
    (`baton.audit`), which adds what edits changed; without it, the decisions the status itself records."""
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
        if checkpoint.actions:
            lines.extend(action_lines(checkpoint, status.task_id))
        else:
            lines.append(f"          decide with: baton decide {status.task_id} "
                         f"{' | '.join(checkpoint.allowed_decisions)}")
        if checkpoint.proposed_action is not None and not checkpoint.actions:
            lines.append(f"          proposes {checkpoint.proposed_action.name}({checkpoint.proposed_action.args})")
        if checkpoint.quorum > 1:
            lines.append(f"          approvals {len(checkpoint.approvals)} of {checkpoint.quorum}")
    lines.extend(decision_lines(rows_from_status(status) if trail is None else trail, status.task_id))
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


def action_lines(checkpoint: CheckpointV1, task_id: str) -> list[str]:
    """A checkpoint decided one action (or question, for a group) at a time: how to decide one, then each with what
    it allows while pending, or its decision so far.

              decide each with: baton decide TASK DECISION --action NUMBER|NAME
              1. write_file {"path":"/a"}: pending (accept | edit | respond | reject)
              2. delete_rows {"table":"orders"}: reject by U_LEAD: keep the orders
    """
    what = "question" if checkpoint.interrupt_ids else "action"
    lines = [f"          decide each {what} with: baton decide {task_id} DECISION --action NUMBER"
             + ("" if checkpoint.interrupt_ids else "|NAME")]
    for i, action in enumerate(checkpoint.actions):
        if checkpoint.interrupt_ids or action.proposed_action is None:
            label = _cell(action.title, 80)
        else:
            label = f"{_cell(action.proposed_action.name, 40)} {_cell(_short(action.proposed_action.args, 60), 0)}"
        lines.append(f"          {i + 1}. {label}: {_action_state(action)}")
    return lines


def _action_state(action: CheckpointV1) -> str:
    decision = action.decision
    if decision is None:
        approvals = f", approvals {len(action.approvals)} of {action.quorum}" if action.quorum > 1 else ""
        return f"pending ({' | '.join(action.allowed_decisions)}){approvals}"
    who = "expiry" if decision.by == EXPIRY_DECIDER else decision.by
    said = decision.text if decision.decision in ("reject", "respond") and decision.text else ""
    edited = _short(decision.edited_args, 60) if decision.decision == "edit" and decision.edited_args else ""
    detail = _cell(said, 60) or _cell(edited, 0)
    return f"{decision.decision} by {_cell(who, 40)}" + (f": {detail}" if detail else "")


def decision_lines(rows: Sequence[DecisionRow], task_id: str) -> list[str]:
    """The "Decisions:" section: who decided what and when, the quorum, what an edit changed, and the reason or
    answer given (its first line; `baton audit --json` has it whole)."""
    if not rows:
        return []
    lines = ["Decisions:"]
    if len(rows) > DECISIONS_SHOWN:
        lines.append(f"  ({len(rows) - DECISIONS_SHOWN} earlier: baton audit {task_id})")
    indent = " " * 27  # under the text that follows the timestamp
    for row in rows[-DECISIONS_SHOWN:]:
        at = row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        who = "the policy's default on expiry" if row.expired else _printable(row.by)
        line = f"  {at}  {_printable(row.checkpoint_title or row.checkpoint_id)}: {row.decision} by {who}"
        if row.quorum > 1:
            people = ", ".join(a.by + (" (edit)" if a.decision == "edit" else "") for a in row.approvals)
            line += f"; {len(row.approvals)} of {row.quorum} approvals" + (f" ({people})" if people else "")
            if row.withdrawn:
                line += f"; withdrawn: {', '.join(a.by for a in row.withdrawn)}"
        lines.append(line)
        if row.args_diff is not None:
            edits = diff_summary(row.args_diff, value_chars=48)
            lines.append(f"{indent}edited: {_printable(edits if len(edits) <= 160 else edits[:159] + '…')}")
        if row.text and row.text.strip():
            first, *rest = row.text.strip().splitlines()
            label = "reason" if row.decision == "reject" else "text"
            lines.append(f"{indent}{label}: {_printable(first[:120])}" + ("…" if rest or len(first) > 120 else ""))
    return lines


def diff_summary(diff: dict[str, dict[str, Any]] | None, value_chars: int = 32) -> str:
    """`replicas: 3 → 1; steps[2]: removed {"host":"web-3",…}`; `-` when the decision was no edit."""
    if diff is None:
        return "-"
    if not diff:
        return "arguments unchanged"
    parts = []
    for path, change in diff.items():
        if "from" in change and "to" in change:
            parts.append(f"{path}: {_short(change['from'], value_chars)} → {_short(change['to'], value_chars)}")
        elif "to" in change:
            parts.append(f"{path}: added {_short(change['to'], value_chars)}")
        else:
            parts.append(f"{path}: removed {_short(change['from'], value_chars)}")
    return "; ".join(parts)


def quorum_summary(row: DecisionRow) -> str:
    """`2/2 U_A(edit) U_B; withdrawn: U_C`: approvals standing of those required, who, and whom an edit withdrew."""
    people = " ".join(a.by + ("(edit)" if a.decision == "edit" else "") for a in row.approvals)
    text = f"{len(row.approvals)}/{row.quorum}" + (f" {people}" if people else "")
    if row.withdrawn:
        text += "; withdrawn: " + " ".join(a.by for a in row.withdrawn)
    return text


def policy_summary(policy: ApprovalPolicyV1) -> str:
    """The approval policy in force, in one line: who may approve, how many, and what expiry does."""
    parts = [f"approvers={','.join(policy.approvers) or 'anyone'}"]
    if policy.approver_groups:
        parts.append(f"groups={','.join(policy.approver_groups)}")
    parts.append(f"quorum={policy.quorum}")
    if not policy.requester_may_approve:
        parts.append("requester-may-not-approve")
    parts.append(f"expires={_duration(policy.expires_after_s)} on_expiry={policy.on_expiry}")
    return " ".join(parts)


_COLUMNS: tuple[tuple[str, int], ...] = (
    ("AT (UTC)", 19), ("TASK", 40), ("AGENT", 20), ("CHECKPOINT", 36), ("DECISION", 24), ("BY", 20),
    ("QUORUM", 60), ("FROM", 32), ("EDITS", 64), ("POLICY", 0),
)
"""Header and widest cell (0: the last column, never cut); JSON lines carry every value in full."""


def format_table(rows: Sequence[DecisionRow]) -> str:
    """An aligned table, one line a decision; long cells are cut with `…`."""
    if not rows:
        return "No decisions."
    cells = [[_cell(value, limit) for value, (_, limit) in zip(_row_cells(row), _COLUMNS, strict=True)]
             for row in rows]
    header = [name for name, _ in _COLUMNS]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    )


def _row_cells(row: DecisionRow) -> list[str]:
    requester = row.requester
    origin = "/".join(part for part in (requester.team_id, requester.channel_id) if part) or requester.platform
    return [
        row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        row.task_id,
        row.agent,
        row.checkpoint_title or row.checkpoint_id,
        row.decision + (" (expiry default)" if row.expired else ""),
        row.by,
        quorum_summary(row),
        origin,
        diff_summary(row.args_diff),
        policy_summary(row.policy),
    ]


def _cell(value: str, limit: int) -> str:
    flat = _printable(" ".join(value.split()))
    return flat if not limit or len(flat) <= limit else flat[: limit - 1] + "…"


def _printable(text: str) -> str:
    """Agent- and person-written text without control characters: an escape sequence in a checkpoint title must not
    restyle or rewrite the operator's terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
