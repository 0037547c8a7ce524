"""The checkpoint card: what the agent wants to do, and one button per decision a person may make.

While pending it carries the buttons; once decided or expired it shows who decided what and when, without buttons.
A checkpoint with several actions (`CheckpointV1.actions`) lists them, each with its own buttons (those its own
review config allows, pointing at that action) until it is decided, then who decided it.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from bot.blocks.common import Rendered, context, fallback_text, fit_blocks, section
from bot.blocks.ids import ButtonRef, decide_action_id
from bot.blocks.text import MAX_HEADER_TEXT, Mrkdwn, code_block, escape, mention, mrkdwn, plain, slack_date, truncate
from contracts import ApprovalV1, CheckpointV1, DecisionKind, DecisionRecordV1

__all__ = ["DECISION_LABELS", "checkpoint_card", "decided_card", "format_args"]

DECISION_LABELS: dict[str, str] = {
    "accept": "Approve",
    "edit": "Edit",
    "reject": "Reject",
    "respond": "Respond",
    "ignore": "Ignore",
}
_DONE_LABELS: dict[str, str] = {
    "accept": ":white_check_mark: Approved",
    "edit": ":pencil2: Edited and approved",
    "reject": ":no_entry: Rejected",
    "respond": ":speech_balloon: Answered",
    "ignore": ":zzz: Ignored",
}
_STYLES: dict[str, str] = {"accept": "primary", "reject": "danger"}
_DESCRIPTION_LIMIT = 2000
_ARGS_LIMIT = 2500
_DIFF_LIMIT = 1500


def format_args(args: dict[str, Any]) -> str:
    """Arguments as indented JSON (what the Edit modal pre-fills too), non-JSON values shown by their repr."""
    return json.dumps(args, indent=2, ensure_ascii=False, default=repr, sort_keys=False)


def checkpoint_card(task_id: str, checkpoint: CheckpointV1, *, approvers: list[str] | None = None) -> Rendered:
    """A pending (or reminded / escalated) checkpoint with its buttons; `approvers` are named on the card. One
    question of several asked at once has a card of its own, which shows its answer once it has one."""
    if checkpoint.decision is not None:
        return decided_card(checkpoint, None)
    blocks = _body(checkpoint)
    notes: list[str] = []
    if checkpoint.quorum > 1 and not checkpoint.actions:  # each action counts its own
        notes.append(f"*{len(checkpoint.approvals)} of {checkpoint.quorum} approvals*")
        if checkpoint.approvals:
            notes.append(mrkdwn("approved by {}", Mrkdwn(", ").join(mention(u) for u in checkpoint.approvals)))
    if approvers:
        notes.append(mrkdwn("Approvers: {}", Mrkdwn(" ").join(mention(u) for u in approvers[:20])))
    if checkpoint.expires_at is not None:
        notes.append(mrkdwn("expires {}", slack_date(checkpoint.expires_at)))
    if checkpoint.state == "reminded":
        notes.append(":bell: reminder sent")
    if checkpoint.state == "escalated":
        notes.append(":rotating_light: *escalated*")
    if notes:
        blocks.append(context(Mrkdwn(" · ").join(notes)))
    if checkpoint.actions:
        blocks[1:1] = [block for i, action in enumerate(checkpoint.actions)
                       for block in _action_blocks(task_id, i, len(checkpoint.actions), action)]
    else:
        value = ButtonRef(task_id, checkpoint.id).encode()
        blocks.append({
            "type": "actions",
            "block_id": "baton_checkpoint_actions",
            "elements": [_button(kind, value) for kind in checkpoint.allowed_decisions],
        })
    text = fallback_text(f"Decision needed: {checkpoint.title}")
    return Rendered(text=text, blocks=fit_blocks(blocks))


def decided_card(checkpoint: CheckpointV1 | None, record: DecisionRecordV1 | None, *, title: str = "") -> Rendered:
    """The card after the fact: the checkpoint (when the renderer still has it), then who decided what and when.

    With neither a record nor a checkpoint state, it says the checkpoint is closed, which is true of any card
    whose checkpoint is no longer pending.
    """
    heading = title or (checkpoint.title if checkpoint else "") or (record.checkpoint_title if record else "")
    if checkpoint is not None and checkpoint.decision is not None:  # one question of a group: its own answer
        done = checkpoint.decision
        record = DecisionRecordV1(checkpoint_id=checkpoint.id, checkpoint_title=checkpoint.title,
                                  decision=done.decision, by=done.by, text=done.text, at=done.at)
    blocks = _body(checkpoint) if checkpoint is not None else [_header(heading or "Checkpoint")]
    if checkpoint is not None and checkpoint.actions:
        blocks += [block for i, action in enumerate(checkpoint.actions)
                   for block in _action_blocks(None, i, len(checkpoint.actions), action)]
    if record is None:
        outcome = Mrkdwn(":lock: Closed")
    elif record.by == "expiry":
        outcome = mrkdwn(":hourglass: Expired {}: policy applied, *{}*", slack_date(record.at),
                         _DONE_LABELS[record.decision])
    else:
        outcome = mrkdwn("{} by {} {}", _DONE_LABELS[record.decision], mention(record.by), slack_date(record.at))
    lines = [outcome]
    if record is not None and record.text:
        label = "Decisions" if checkpoint is not None and checkpoint.actions else (
            "Reason" if record.decision == "reject" else "Answer")
        lines.append(mrkdwn("*{}:* {}", label, truncate(record.text, 1500)))
    blocks.append(section(Mrkdwn("\n").join(lines)))
    if record is not None and record.approvals:
        blocks.append(context(_approvals_note(record.approvals)))
    text = fallback_text(mrkdwn("{}: {}", heading, outcome))
    return Rendered(text=text, blocks=fit_blocks(blocks))


def _header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(title, MAX_HEADER_TEXT) or "Checkpoint"}}


def _body(checkpoint: CheckpointV1) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [_header(checkpoint.title)]
    if checkpoint.actions:  # each action shows its own arguments (checkpoint_card, _decided_actions)
        return blocks
    if checkpoint.description:
        blocks.append(section(escape(truncate(checkpoint.description, _DESCRIPTION_LIMIT))))
    action = checkpoint.proposed_action
    if action is not None:
        text = mrkdwn("*Proposed action:* `{}`", action.name)
        if action.args:
            text += "\n" + code_block(format_args(action.args), _ARGS_LIMIT)
        blocks.append(section(text))
    if action is not None and checkpoint.original_action is not None:
        blocks.append(section(_edit_note(checkpoint.edited_by, checkpoint.original_action.args, action.args)))
    return blocks


def args_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The lines of the arguments' JSON that an edit removed (`-`) and added (`+`)."""
    lines = difflib.unified_diff(format_args(before).splitlines(), format_args(after).splitlines(), lineterm="", n=0)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++", "@@")))


def _edit_note(editor: str | None, before: dict[str, Any], after: dict[str, Any]) -> Mrkdwn:
    """Under a quorum the card shows the arguments of the edit in force: say whose they are and what changed."""
    who = mrkdwn("*Edited by* {}", mention(editor)) if editor else Mrkdwn("*Edited*")
    return who + ", changes to the agent's proposal:\n" + code_block(args_diff(before, after), _DIFF_LIMIT)


def _approvals_note(approvals: list[ApprovalV1]) -> Mrkdwn:
    """Who made up the quorum (the record's `by` is only the last of them), edits marked."""
    people = Mrkdwn(", ").join(mention(a.by) + (" (edit)" if a.decision == "edit" else "") for a in approvals)
    return mrkdwn("Approvals: {}", people)


def _action_blocks(task_id: str | None, index: int, count: int, action: CheckpointV1) -> list[dict[str, Any]]:
    """One action of several: what it is, then its own buttons while it waits (with a `task_id`), or who decided
    it. Its arguments, description and name are the agent's: escaped like the rest of the card."""
    proposed = action.proposed_action
    text = mrkdwn("*Action {} of {}:* `{}`", index + 1, count, proposed.name if proposed else action.title)
    if action.description:
        text += "\n" + escape(truncate(action.description, _DESCRIPTION_LIMIT // count))
    if proposed is not None and proposed.args:
        text += "\n" + code_block(format_args(proposed.args), max(300, _ARGS_LIMIT // count))
    blocks: list[dict[str, Any]] = [section(text)]
    if proposed is not None and action.original_action is not None:
        blocks.append(section(_edit_note(action.edited_by, action.original_action.args, proposed.args)))
    done = action.decision
    if done is not None:
        outcome = mrkdwn("{} by {} {}", _DONE_LABELS[done.decision], mention(done.by), slack_date(done.at))
        if done.text:
            outcome += mrkdwn(": {}", truncate(done.text, 300))
        blocks.append(context(outcome))
        return blocks
    if action.quorum > 1:
        blocks.append(context(mrkdwn("*{} of {} approvals*", len(action.approvals), action.quorum)))
    if task_id is not None:
        value = ButtonRef(task_id, action.id).encode()
        blocks.append({
            "type": "actions",
            "block_id": f"baton_checkpoint_actions_{index}",
            "elements": [_button(kind, value) for kind in action.allowed_decisions],
        })
    return blocks


def _button(kind: DecisionKind, value: str) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": decide_action_id(kind),
        "text": {"type": "plain_text", "text": DECISION_LABELS[kind]},
        "value": value,
    }
    if kind in _STYLES:
        button["style"] = _STYLES[kind]
    return button
