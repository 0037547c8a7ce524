"""ops_audit and sales_report end to end on the real dev server: submit, wait for the checkpoint, decide, result.

The real worker runs in-process with the real ChatOpenAI pointed at the fake model server, so every model call
and every token is counted by the server the client talked to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from baton.gateway import TaskGateway
from contracts import DecisionKind, DecisionV1, TaskResultV1, TaskStatusV1, utc_now
from sandbox.openai_server import FakeOpenAI
from tests.conftest import WorkerFactory
from tests.hitl.conftest import OPS_REPORT, SALES_NARRATIVE
from tests.support import make_request, status_when


@dataclass(frozen=True)
class Run:
    waiting: TaskStatusV1
    result: TaskResultV1
    final: TaskStatusV1
    calls_at_checkpoint: int
    """Model calls the fake server had seen when the task was waiting for the decision."""


async def run_through_checkpoint(
    gateway: TaskGateway,
    agent: str,
    request_text: str,
    kind: DecisionKind,
    fake: FakeOpenAI | None = None,
    **decision: Any,
) -> Run:
    """Submit, wait for the checkpoint, decide it, wait for the result."""
    request = make_request(agent, request_text)
    await gateway.submit(request)
    waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
    assert waiting.pending_checkpoint is not None
    calls = fake.call_count if fake else -1
    outcome = await gateway.decide(
        request.task_id,
        DecisionV1(
            checkpoint_id=waiting.pending_checkpoint.id, decision=kind, by="U_APPROVER", at=utc_now(), **decision
        ),
    )
    assert outcome.outcome == "decided"
    result = await gateway.result(request.task_id)
    return Run(waiting, result, await gateway.status(request.task_id), calls)


def assert_usage_adds_up(result: TaskResultV1, fake: FakeOpenAI, calls: int) -> None:
    assert fake.call_count == calls
    assert result.usage.llm_calls == calls
    assert result.usage.input_tokens == sum(c.usage["prompt_tokens"] for c in fake.ok_calls if c.usage)
    assert result.usage.output_tokens == sum(c.usage["completion_tokens"] for c in fake.ok_calls if c.usage)
    if calls:
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


async def test_ops_audit_approved_applies_the_proposal_and_counts_both_model_calls(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: FakeOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    async with agent_worker(chat_model=chat_model):
        run = await run_through_checkpoint(gateway, "ops_audit", "Audit prod", "accept", fake_openai)
    waiting, result, final = run.waiting, run.result, run.final
    assert run.calls_at_checkpoint == 1, "one model call proposes the remediation before the checkpoint"
    checkpoint = waiting.pending_checkpoint
    assert checkpoint is not None and checkpoint.convention == "hitl_middleware"
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "reject"]
    assert checkpoint.proposed_action is not None and checkpoint.proposed_action.name == "apply_remediation"
    assert result.outcome == "success"
    assert "Applied 2 remediation step(s)." in result.summary
    assert result.artifacts[0].content.startswith(OPS_REPORT)
    assert_usage_adds_up(result, fake_openai, calls=2)
    assert final.phase == "completed"
    assert [(d.decision, d.by) for d in final.decisions] == [("accept", "U_APPROVER")]


async def test_ops_audit_edited_applies_only_the_edited_steps(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: FakeOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    edited = {"summary": "Only the disk.", "steps": [{"host": "api-1", "action": "free_disk_space"}]}
    async with agent_worker(chat_model=chat_model):
        result = (await run_through_checkpoint(gateway, "ops_audit", "Audit prod", "edit", edited_args=edited)).result
    assert result.outcome == "success"
    assert "Applied 1 remediation step(s) as edited." in result.summary
    changes = next(a for a in result.artifacts if a.name == "changes.json").content
    assert "api-1" in changes and "ci-runner-1" not in changes
    assert_usage_adds_up(result, fake_openai, calls=2)


async def test_ops_audit_rejected_changes_nothing_and_reports_the_reason(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: FakeOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    async with agent_worker(chat_model=chat_model):
        run = await run_through_checkpoint(gateway, "ops_audit", "Audit prod", "reject", text="change freeze this week")
    result, final = run.result, run.final
    assert result.outcome == "rejected"
    assert "nothing was changed" in result.summary and "change freeze this week" in result.summary
    assert not any(a.name == "changes.json" for a in result.artifacts)
    assert '"decision": "reject"' in fake_openai.calls[-1].last_user_text
    assert_usage_adds_up(result, fake_openai, calls=2)
    assert final.decisions[0].text == "change freeze this week"


async def test_ops_audit_answered_changes_nothing_and_passes_the_answer_to_the_report(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: FakeOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    async with agent_worker(chat_model=chat_model):
        run = await run_through_checkpoint(gateway, "ops_audit", "Audit prod", "respond", text="Do web-3 on Monday.")
    result = run.result
    assert result.outcome == "success"
    assert "the reviewer answered: Do web-3 on Monday." in result.summary
    assert "Do web-3 on Monday." in fake_openai.calls[-1].last_user_text
    assert_usage_adds_up(result, fake_openai, calls=2)


@pytest.mark.parametrize(
    ("kind", "decision", "outcome", "summary", "calls"),
    [
        ("accept", {}, "success", "Sales report for regions", 1),
        ("edit", {"edited_args": {"regions": ["EMEA"]}}, "success", "(scope edited by a reviewer)", 1),
        ("respond", {"text": "Stress the trend."}, "success", "Sales report for regions", 1),
        ("ignore", {}, "rejected", "cancelled at the scope check", 0),
    ],
)
async def test_sales_report_scope_check_accept_edit_respond_and_ignore(
    gateway: TaskGateway,
    agent_worker: WorkerFactory,
    fake_openai: FakeOpenAI,
    chat_model: Callable[[], BaseChatModel],
    kind: DecisionKind,
    decision: dict[str, Any],
    outcome: str,
    summary: str,
    calls: int,
) -> None:
    async with agent_worker(chat_model=chat_model):
        run = await run_through_checkpoint(
            gateway, "sales_report", "Sales report for Q1", kind, fake_openai, **decision
        )
    waiting, result, final = run.waiting, run.result, run.final
    checkpoint = waiting.pending_checkpoint
    assert checkpoint is not None and checkpoint.convention == "agent_inbox"
    assert set(checkpoint.allowed_decisions) == {"accept", "edit", "respond", "ignore"}
    assert run.calls_at_checkpoint == 0, "the scope check comes before any model call"
    assert result.outcome == outcome
    assert summary in result.summary
    assert_usage_adds_up(result, fake_openai, calls=calls)
    if kind == "edit":
        assert "regions EMEA;" in result.summary
    if kind == "respond":
        assert "Stress the trend." in fake_openai.calls[0].last_user_text
    if calls:
        assert result.artifacts[0].content.startswith(SALES_NARRATIVE)
    assert final.phase == "completed"
