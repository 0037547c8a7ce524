"""The live plan while a task waits for a person: one card in progress, the decision, and the step whose node asked
reads complete (Slack's task cards have no "waiting"); once decided, that step is in progress again. Pure builders
on contract values, checked against the limits Slack documents (the fake's own check)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.blocks.common import TaskLinks
from bot.blocks.plan import ASKED, plan_status_message, plan_steps
from contracts import PlanStepV1, ProgressEventV1, ProgressV1, TaskStatusV1
from sandbox.block_limits import block_errors
from tests.bot.factories import T0, make_checkpoint, make_status

PLAN = [PlanStepV1(node=node, label=node.title()) for node in ("scan", "review", "apply")]


def asking(**overrides: Any) -> TaskStatusV1:
    """ops_audit inside `review`, the node that raised the interrupt (its latest event names it, unfinished)."""
    events = [ProgressEventV1(step=1, node="scan", at=T0, node_finished=True, plan=PLAN),
              ProgressEventV1(step=2, node="review", message="Asking", at=T0 + timedelta(seconds=1), plan=PLAN)]
    values: dict[str, Any] = {"phase": "waiting_for_human", "pending_checkpoint": make_checkpoint(), "events": events}
    return make_status(**{**values, **overrides})


def test_while_a_person_decides_only_the_decision_is_in_progress_and_the_step_that_asked_reads_complete() -> None:
    steps = plan_steps(asking())
    assert steps is not None
    assert [(s.title, s.state) for s in steps] == [
        ("Scan", "complete"), ("Review", "complete"), ("Decision: Restart web-1?", "in_progress"), ("Apply", "pending")]
    assert steps[1].detail == [{"type": "text", "text": "inspecting web-1"}], "what the agent last said stays shown"
    quiet = plan_steps(asking(progress=ProgressV1(step=2, total=5, percent=40.0, message="")))
    assert quiet is not None and quiet[1].detail == [{"type": "text", "text": ASKED}]
    rendered = plan_status_message(asking(), now=T0 + timedelta(minutes=5), links=TaskLinks(None))
    assert rendered is not None and block_errors(rendered.blocks) == []


def test_once_decided_the_step_that_asked_is_in_progress_again_and_the_decision_card_is_gone() -> None:
    steps = plan_steps(asking(phase="running", pending_checkpoint=None))
    assert steps is not None
    assert [(s.title, s.state) for s in steps] == [("Scan", "complete"), ("Review", "in_progress"),
                                                   ("Apply", "pending")]
