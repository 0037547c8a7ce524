"""The operator commands behind `baton submit | status | cancel | decide | list | agents | audit`, one async function
each."""

from __future__ import annotations

import getpass
import json
import uuid
from argparse import Namespace
from typing import Any, get_args

from baton.audit import format_json_lines, read_audit, task_decisions
from baton.edits import edit_problem
from baton.errors import BatonError
from baton.gateway import TaskGateway
from baton.render import format_table, render_status
from baton.temporal import load_temporal_settings
from contracts import (
    ApprovalPolicyV1,
    CancellationV1,
    CheckpointV1,
    DecisionV1,
    RequesterV1,
    TaskRequestV1,
    utc_now,
)
from contracts.approval import action_under_review, current_args, list_actions
from contracts.feedback import FeedbackRating, TaskFeedbackV1


def operator() -> str:
    try:
        return getpass.getuser()[:64] or "operator"
    except (KeyError, OSError):
        return "operator"


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that parses as JSON (numbers, booleans, lists) is taken as such."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter '{pair}' is not key=value")
        try:
            parameters[key] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[key] = raw
    return parameters


def build_request(args: Namespace) -> TaskRequestV1:
    key = args.key or f"cli:{operator()}:{uuid.uuid4()}"
    return TaskRequestV1.new(args.agent, args.text, RequesterV1(platform="cli", user_id=operator()), key,
                             parameters=parse_parameters(args.param or []),
                             approval=ApprovalPolicyV1(approvers=args.approver or [], quorum=args.quorum))


async def submit(gateway: TaskGateway, args: Namespace) -> str:
    request = args.request if getattr(args, "request", None) else build_request(args)
    outcome = await gateway.submit(request)
    note = "" if outcome.started else "  (already submitted with this key: nothing new started)"
    if not args.wait:
        return outcome.task_id + note
    await gateway.result(outcome.task_id)
    return await status(gateway, Namespace(task=outcome.task_id, json=False))


async def status(gateway: TaskGateway, args: Namespace) -> str:
    current = await gateway.status(args.task)
    if args.json:
        return current.model_dump_json(indent=2)
    ui_url = load_temporal_settings().temporal_ui_url
    try:  # the history adds what edits changed, and the decisions of a task no worker answers for
        trail = await task_decisions(gateway.client, args.task)
    except (BatonError, ValueError):
        trail = None  # the status's own record of them is shown instead
    shown = render_status(current, utc_now(), ui_url, namespace=gateway.client.namespace, trail=trail)
    feedback = await gateway.feedback.read(args.task)
    return shown if feedback is None else f"{shown}\n{feedback_lines(feedback)}"


def feedback_lines(feedback: TaskFeedbackV1) -> str:
    """`Feedback: 2 positive, 1 negative` and who gave each, for `baton status`."""
    lines = [f"Feedback: {feedback.count('positive')} positive, {feedback.count('negative')} negative"]
    for rating in get_args(FeedbackRating):
        if people := feedback.people(rating):
            shown = ("".join(c if c.isprintable() else "?" for c in person) for person in people)  # no escapes
            lines.append(f"  {rating}: {', '.join(shown)}")
    return "\n".join(lines)


async def cancel(gateway: TaskGateway, args: Namespace) -> str:
    await gateway.cancel(args.task, CancellationV1(by=operator(), reason=args.reason or ""))
    return f"Cancellation requested for {args.task}."


async def decide(gateway: TaskGateway, args: Namespace) -> str:
    # The workflow's own status: a stand-in built while no worker answers has no checkpoint to decide (TaskBusy).
    current = await gateway.live_status(args.task)
    checkpoint = current.pending_checkpoint
    if checkpoint is None:
        return f"Task {args.task} is not waiting for a decision (phase: {current.phase})."
    action = which_action(checkpoint, getattr(args, "action", None))
    target = action_under_review(checkpoint, action)  # a checkpoint with several actions: refused without --action
    if isinstance(target, str):
        raise ValueError(target)
    kind = {"approve": "accept", "respond": "respond"}.get(args.decision, args.decision)
    edited = edited_args(args.args, target) if args.args else None
    marked_json = bool(getattr(args, "text_is_json", False))
    if marked_json:
        json_text(args.text)
    decision = DecisionV1(
        checkpoint_id=checkpoint.id,
        action=action,
        decision=kind,
        edited_args=edited,
        text=args.text,
        text_is_json=marked_json or None,
        by=args.as_user or operator(),
        at=utc_now(),
    )
    outcome = await gateway.decide(args.task, decision, approving=current_args(target))
    return f"{target.title}: {outcome.message or outcome.outcome}"


def json_text(text: str | None) -> None:
    """`--text` marked `--json` must be JSON: refused here, in one line, rather than by the workflow's update."""
    try:
        json.loads(text or "")
    except ValueError as exc:
        raise ValueError(f"--json: --text is not JSON ({exc})") from None


def which_action(checkpoint: CheckpointV1, named: str | None) -> int | None:
    """`--action` as an index into the checkpoint's actions: its number as listed (from 1) or its tool name, which
    must name exactly one; None when not given. A ValueError names the actions to choose from."""
    if named is None:
        return None
    if named.isdigit():
        if int(named) < 1:
            raise ValueError(f"--action: actions are numbered from 1; the actions: {list_actions(checkpoint)}")
        return int(named) - 1
    found = [i for i, a in enumerate(checkpoint.actions) if a.proposed_action and a.proposed_action.name == named]
    if len(found) != 1:
        problem = "several actions are" if found else "no action is"
        raise ValueError(f"--action: {problem} named {named!r}; the actions: {list_actions(checkpoint) or 'none'}")
    return found[0]


def edited_args(text: str, checkpoint: CheckpointV1) -> dict[str, Any]:
    """`--args` as the edit to send, or a ValueError (one line, exit 2) naming what is wrong: not a JSON object, too
    large, or a field the tool's argument schema refuses, found before anything reaches the workflow."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--args is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError("--args must be a JSON object ({...}), not a list or a single value")
    problem = edit_problem(value, checkpoint)
    if problem:
        raise ValueError(f"--args: {problem}")
    return value


async def list_tasks(gateway: TaskGateway, args: Namespace) -> str:
    tasks = await gateway.list_tasks(user_id=args.user, open_only=not args.all)
    if not tasks:
        return "No tasks."
    return "\n".join(f"{t.task_id:32} {t.agent:14} {t.phase:18} {t.progress.message[:60]}" for t in tasks)


async def audit(gateway: TaskGateway, args: Namespace) -> str:
    """`baton audit [TASK] [--since 7d] [--json]`; `args.window` is the parsed `--since` (None: all of TASK's, or
    the last 7 days of every task)."""
    since = utc_now() - args.window if args.window is not None else None
    rows = await read_audit(gateway, args.task, since)
    return format_json_lines(rows) if args.json else format_table(rows)


async def agents(gateway: TaskGateway, args: Namespace) -> str:
    catalog = await gateway.agents()
    return "\n".join(f"{agent.name:16} {agent.description}" + (f" (version {agent.version})" if agent.version else "")
                     for agent in catalog.agents) or "No agents."
