"""An expiry never approves: a checkpoint whose policy allows only approve and edit ends its task timed out when
nobody decides, on the time-skipping server (the agent and the bot are stand-ins under the real activity names);
and the pure rules behind it, for whole checkpoints and for each undecided action of a batched one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from contracts import (
    ApprovalPolicyV1,
    CheckpointV1,
    DecisionV1,
    NotifyInputV1,
    NotifyResultV1,
    ProposedActionV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    SlackMessagesV1,
    TaskResultV1,
    utc_now,
)
from tests.hitl.test_expiry import register_search_attributes, slack_request
from workers.actions import NoSafeDefault, per_action_checkpoint, per_action_resume
from workers.workflow.agent_workflow import AgentWorkflow
from workers.workflow.expiry import expiry_decision, no_safe_default

APPROVE_OR_EDIT = CheckpointV1(
    id="cp-transfer", title="Approve transfer?", convention="hitl_middleware", allowed_decisions=["accept", "edit"],
    proposed_action=ProposedActionV1(name="transfer", args={"amount": 100}),
)
POLICY = ApprovalPolicyV1(expires_after_s=3600, on_expiry="reject")


@dataclass
class StandIns:
    resumed: list[RunAgentInputV1] = field(default_factory=list)

    @activity.defn(name="run_agent")
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        if agent_input.resume is None:
            return RunAgentOutputV1(kind="interrupted", checkpoint=APPROVE_OR_EDIT)
        self.resumed.append(agent_input)
        return RunAgentOutputV1(kind="completed", result=TaskResultV1(outcome="success", summary="ran"))

    @activity.defn(name="notify")
    async def notify(self, note: NotifyInputV1) -> NotifyResultV1:
        return NotifyResultV1(messages=SlackMessagesV1(status_ts="1700000000.000100"))


@pytest.fixture
async def stand_ins(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[tuple[StandIns, TaskGateway]]:
    await register_search_attributes(time_skipping_env)
    fakes = StandIns()
    queue = f"expiry-closed-{uuid.uuid4().hex[:8]}"
    client = time_skipping_env.client
    agents = Worker(client, task_queue=queue, workflows=[AgentWorkflow], activities=[fakes.run_agent])
    bot = Worker(client, task_queue="baton-slack", activities=[fakes.notify])
    async with agents, bot:
        yield fakes, TaskGateway(client, task_queue=queue)


async def test_an_unanswered_approve_or_edit_checkpoint_ends_the_task_timed_out_and_never_runs_the_action(
    stand_ins: tuple[StandIns, TaskGateway], time_skipping_env: WorkflowEnvironment
) -> None:
    fakes, gateway = stand_ins
    request = slack_request(POLICY)
    await gateway.submit(request, validate_agent=False)
    async with time_skipping_env.time_skipping_unlocked():  # type: ignore[attr-defined]
        with pytest.raises(WorkflowFailureError):
            await gateway.result(request.task_id)

    assert fakes.resumed == [], "the agent was never resumed, so the transfer never ran"
    final = await gateway.status(request.task_id)
    assert final.phase == "timed_out" and final.decisions == []
    assert final.result is not None and final.result.error is not None
    assert final.result.error.type == "Timeout"
    assert final.result.error.message.startswith("Nobody decided in time, and this action allows no safe default")
    assert "transfer" in final.result.error.message


def test_the_policy_default_or_the_nearest_safe_decision_applies_and_approve_never_does() -> None:
    now = utc_now()
    rejectable = APPROVE_OR_EDIT.model_copy(update={"allowed_decisions": ["accept", "respond"]})
    assert expiry_decision(POLICY, rejectable, now).decision == "respond"
    assert no_safe_default(POLICY, rejectable) == []
    assert no_safe_default(POLICY, APPROVE_OR_EDIT) == ["transfer"]


def test_an_undecided_action_that_allows_only_approve_has_no_safe_default_unless_a_person_decided_it() -> None:
    checkpoint = per_action_checkpoint("cp", {
        "action_requests": [{"name": "write_file", "args": {"path": "/a"}}, {"name": "delete_rows", "args": {}}],
        "review_configs": [{"action_name": "write_file", "allowed_decisions": ["approve", "edit"]},
                           {"action_name": "delete_rows", "allowed_decisions": ["approve", "reject"]}],
    })
    assert no_safe_default(POLICY, checkpoint) == ["1. write_file"]
    expiry = expiry_decision(POLICY, checkpoint, utc_now())
    assert expiry.decision == "reject"
    with pytest.raises(NoSafeDefault, match="write_file"):
        per_action_resume(checkpoint, expiry, lambda d, name, args: {"type": d.decision})

    approved = DecisionV1(checkpoint_id="cp", action=0, decision="accept", by="U_LEAD", at=utc_now())
    first = checkpoint.actions[0].model_copy(update={"decision": approved})
    decided = checkpoint.model_copy(update={"actions": [first, checkpoint.actions[1]]})
    assert no_safe_default(POLICY, decided) == []
    resume = per_action_resume(decided, expiry_decision(POLICY, decided, utc_now()),
                               lambda d, name, args: {"type": d.decision})
    assert resume == {"decisions": [{"type": "accept"}, {"type": "reject"}]}, "the person's approval is kept"
