"""Checkpoint expiry on the time-skipping test server: the halfway reminder, the escalation that extends the
expiry, then the policy's default applied and recorded, for hours of workflow time in seconds of real time.

The agent and the bot are stand-ins registered under the real activity names ("run_agent" on the task's queue,
"notify" on "baton-slack"), so only AgentWorkflow's own timers and rules are under test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from contracts import (
    ApprovalPolicyV1,
    CheckpointV1,
    DecisionV1,
    NotifyInputV1,
    NotifyResultV1,
    ResumeV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    SlackMessagesV1,
    TaskResultV1,
    utc_now,
)
from contracts.names import SEARCH_ATTRIBUTES
from tests.support import make_request
from workers.workflow.agent_workflow import AgentWorkflow

CHECKPOINT = CheckpointV1(id="cp-ship", title="Ship it?", allowed_decisions=["accept", "respond", "reject"])


def about(actual: timedelta, expected: timedelta) -> bool:
    """Equal up to the milliseconds a workflow task takes after its timer fired."""
    return abs(actual - expected) < timedelta(seconds=1)


@dataclass
class StandIns:
    resumes: list[ResumeV1] = field(default_factory=list)
    notes: list[NotifyInputV1] = field(default_factory=list)

    @activity.defn(name="run_agent")
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        """Interrupted first; completed, echoing the decision, once resumed."""
        if agent_input.resume is None:
            return RunAgentOutputV1(kind="interrupted", checkpoint=CHECKPOINT)
        self.resumes.append(agent_input.resume)
        decision = agent_input.resume.decision
        return RunAgentOutputV1(
            kind="completed", result=TaskResultV1(outcome="success", summary=f"{decision.decision} by {decision.by}")
        )

    @activity.defn(name="notify")
    async def notify(self, note: NotifyInputV1) -> NotifyResultV1:
        self.notes.append(note)
        return NotifyResultV1(messages=SlackMessagesV1(status_ts="1700000000.000100"))

    def mentions(self, task_id: str) -> list[tuple[str, list[str]]]:
        return [(n.kind, n.mention) for n in self.notes if n.task_id == task_id and n.kind != "status"]


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """The time-skipping server starts without Baton's search attributes (the dev server gets them at start)."""
    request = AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTES},
    )
    try:
        await env.client.operator_service.add_search_attributes(request)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise


@pytest.fixture
async def stand_ins(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[tuple[StandIns, TaskGateway]]:
    await register_search_attributes(time_skipping_env)
    fakes = StandIns()
    queue = f"expiry-{uuid.uuid4().hex[:8]}"
    client = time_skipping_env.client
    agents = Worker(client, task_queue=queue, workflows=[AgentWorkflow], activities=[fakes.run_agent])
    bot = Worker(client, task_queue="baton-slack", activities=[fakes.notify])
    async with agents, bot:
        yield fakes, TaskGateway(client, task_queue=queue)


@pytest.fixture
def result_skipping_time(time_skipping_env: WorkflowEnvironment):  # type: ignore[no-untyped-def]
    """The task's result, with the test server skipping time while we wait (handles that `start_workflow` did not
    return, like the gateway's, do not unlock time skipping by themselves)."""

    async def wait(gateway: TaskGateway, task_id: str) -> TaskResultV1:
        async with time_skipping_env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await gateway.result(task_id)

    return wait


def slack_request(policy: ApprovalPolicyV1):  # type: ignore[no-untyped-def]
    return make_request(
        "diagnostic", "ship", platform="slack", channel_id="C_OPS", thread_ts="1700000000.000001", approval=policy
    )


async def test_an_unanswered_checkpoint_is_reminded_escalated_extended_then_expired_with_the_default(
    stand_ins: tuple[StandIns, TaskGateway], result_skipping_time: Any
) -> None:
    fakes, gateway = stand_ins
    policy = ApprovalPolicyV1(
        approvers=["U_A", "U_B"],
        expires_after_s=24 * 3600,
        escalate_to=["U_BOSS"],
        escalation_window_s=4 * 3600,
        on_expiry="reject",
    )
    request = slack_request(policy)
    began = time.monotonic()
    await gateway.submit(request, validate_agent=False)
    result = await result_skipping_time(gateway, request.task_id)
    real_seconds = time.monotonic() - began

    assert result.summary == "reject by expiry"
    assert fakes.mentions(request.task_id) == [("reminder", ["U_A", "U_B"]), ("escalation", ["U_BOSS"])]
    assert {n.checkpoint_id for n in fakes.notes if n.kind in ("reminder", "escalation")} == {"cp-ship"}
    assert fakes.notes[-1].messages.status_ts == "1700000000.000100", "the recorded messages are passed back"

    [resume] = fakes.resumes
    assert resume.decision.by == "expiry" and resume.decision.decision == "reject"
    assert "expired" in (resume.decision.text or "")
    checkpoint = resume.checkpoint
    assert checkpoint.state == "expired"
    assert checkpoint.created_at is not None and checkpoint.expires_at is not None
    assert about(checkpoint.expires_at - checkpoint.created_at, timedelta(hours=24 + 4)), "escalation extended it"

    final = await gateway.status(request.task_id)
    assert final.phase == "completed"
    [record] = final.decisions
    assert (record.checkpoint_id, record.decision, record.by) == ("cp-ship", "reject", "expiry")
    assert record.at - checkpoint.created_at >= timedelta(hours=28)

    history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]
    assert timers == [timedelta(hours=12), timedelta(hours=12), timedelta(hours=4)]
    assert real_seconds < 30, f"28 hours of workflow time took {real_seconds:.1f} s of real time"


async def test_without_an_escalation_target_the_default_applies_at_the_ttl(
    stand_ins: tuple[StandIns, TaskGateway], result_skipping_time: Any
) -> None:
    fakes, gateway = stand_ins
    request = slack_request(ApprovalPolicyV1(expires_after_s=3600, on_expiry="reject"))
    await gateway.submit(request, validate_agent=False)
    result = await result_skipping_time(gateway, request.task_id)

    assert result.summary == "reject by expiry"
    assert fakes.mentions(request.task_id) == [("reminder", [request.requester.user_id])], "no approvers: requester"
    [resume] = fakes.resumes
    assert resume.checkpoint.state == "expired"
    assert about(resume.decision.at - resume.checkpoint.created_at, timedelta(hours=1))  # type: ignore[operator]


async def test_a_decision_before_the_reminder_cancels_the_reminder_and_the_escalation(
    stand_ins: tuple[StandIns, TaskGateway], result_skipping_time: Any
) -> None:
    fakes, gateway = stand_ins
    request = slack_request(ApprovalPolicyV1(expires_after_s=3600, escalate_to=["U_BOSS"]))
    await gateway.submit(request, validate_agent=False)
    # Queries do not advance time; poll the status until the checkpoint is pending, then decide.
    for _ in range(200):
        status = await gateway.status(request.task_id)
        if status.pending_checkpoint is not None:
            break
    else:
        raise AssertionError("the checkpoint never became pending")
    outcome = await gateway.decide(
        request.task_id, DecisionV1(checkpoint_id="cp-ship", decision="accept", by="U_A", at=utc_now())
    )
    assert outcome.outcome == "decided"
    assert (await result_skipping_time(gateway, request.task_id)).summary == "accept by U_A"
    assert fakes.mentions(request.task_id) == []
