"""Quorum that cannot be bypassed: every approving decision (accept, and edit) counts once per person, an edit that
changes the arguments withdraws the approvals of the old ones, reject and respond decide at once, and the agent
resumes with the arguments the quorum approved.

Most paths run on the time-skipping server with a stand-in `run_agent` that interrupts with a HumanInTheLoopMiddleware
request and records the exact value `interrupt()` would return in the agent (`workers.interrupts.resume_value`). One
path runs end to end on the dev server: the real bot, signed Slack requests, the real worker and ops_audit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from bot.blocks.checkpoint import checkpoint_card, decided_card
from bot.blocks.text import safe_blocks
from bot.runtime import BotRuntime
from contracts import (
    ApprovalPolicyV1,
    ApprovalV1,
    DecisionKind,
    DecisionOutcomeV1,
    DecisionRecordV1,
    DecisionV1,
    NotifyInputV1,
    NotifyResultV1,
    ProposedActionV1,
    RequesterV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    SlackMessagesV1,
    TaskResultV1,
    TaskStatusV1,
    args_digest,
    refusal_reason,
    utc_now,
)
from contracts.approval import current_args
from contracts.names import DECIDE_UPDATE
from sandbox import FakeSlackApi, Message, SlackDelivery
from tests.bot.conftest import bot, bot_settings, sender  # noqa: F401 - the bot's fixtures, for the end-to-end path
from tests.conftest import WorkerFactory
from tests.hitl.conftest import OPS_PROPOSAL
from tests.hitl.test_expiry import register_search_attributes
from tests.support import make_request
from workers.interrupts import checkpoint_from_interrupt, resume_value
from workers.workflow.agent_workflow import QUORUM_COUNTS_EDITS, AgentWorkflow

PROPOSED = {"env": "prod", "replicas": 3}
EDITED = {"env": "prod", "replicas": 1}
HITL_REQUEST = {
    "action_requests": [{"name": "deploy", "args": PROPOSED, "description": "Deploy 3 replicas to prod"}],
    "review_configs": [{"action_name": "deploy", "allowed_decisions": ["approve", "edit", "reject", "respond"]}],
}
CHECKPOINT = checkpoint_from_interrupt("cp-deploy", HITL_REQUEST)
POLICY = ApprovalPolicyV1(approvers=["U_A", "U_B", "U_C"], quorum=2, expires_after_s=3600)


def approved(args: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the agent's `interrupt()` returns for an approval: a plain approve, or an edit carrying `args`."""
    if args is None:
        return {"decisions": [{"type": "approve"}]}
    return {"decisions": [{"type": "edit", "edited_action": {"name": "deploy", "args": args}}]}


@dataclass
class Agent:
    """The stand-in agent: interrupts once, then records what it resumed with and completes."""

    resumed_with: list[Any] = field(default_factory=list)

    @activity.defn(name="run_agent")
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        if agent_input.resume is None:
            return RunAgentOutputV1(kind="interrupted", checkpoint=CHECKPOINT)
        self.resumed_with.append(resume_value(agent_input.resume.checkpoint, agent_input.resume.decision))
        return RunAgentOutputV1(kind="completed", result=TaskResultV1(outcome="success", summary="resumed"))

    @activity.defn(name="notify")
    async def notify(self, note: NotifyInputV1) -> NotifyResultV1:
        return NotifyResultV1(messages=SlackMessagesV1())


@dataclass
class Task:
    gateway: TaskGateway
    agent: Agent
    task_id: str

    async def decide(self, kind: DecisionKind, by: str, **extra: Any) -> DecisionOutcomeV1:
        """As the bot sends it: naming the version of the arguments the person was shown."""
        pending = (await self.gateway.live_status(self.task_id)).pending_checkpoint
        shown = current_args(pending) if pending is not None else None
        return await self.gateway.decide(self.task_id, decision(kind, by, **extra), approving=shown)

    async def decide_under_another_id(self, kind: DecisionKind, by: str, **extra: Any) -> None:
        """Straight to the workflow under a fresh update id, past the gateway's per-person id (which Temporal would
        deduplicate before the validator ever ran): the validator's own refusal is under test."""
        handle = self.gateway.client.get_workflow_handle(self.task_id)
        await handle.execute_update(DECIDE_UPDATE, decision(kind, by, **extra), id=f"other-client-{uuid.uuid4().hex}")

    async def status(self) -> TaskStatusV1:
        return await self.gateway.status(self.task_id)

    async def history_length(self) -> int:
        return len((await self.gateway.client.get_workflow_handle(self.task_id).fetch_history()).events)


def decision(kind: DecisionKind, by: str, **extra: Any) -> DecisionV1:
    return DecisionV1(checkpoint_id=CHECKPOINT.id, decision=kind, by=by, at=utc_now(), **extra)


@asynccontextmanager
async def waiting_task(client: Client, platform: str = "slack") -> AsyncIterator[Task]:
    """A task waiting at CHECKPOINT under POLICY (quorum 2 of U_A, U_B, U_C); from Slack, its thread notifier runs."""
    agent = Agent()
    queue = f"quorum-{uuid.uuid4().hex[:8]}"
    notify_queue = f"{queue}-slack"
    request = make_request("diagnostic", "deploy", platform=platform, channel_id="C_OPS", approval=POLICY)
    request = request.model_copy(
        update={"requester": request.requester.model_copy(update={"notify_task_queue": notify_queue})}
    )
    async with (
        Worker(client, task_queue=queue, workflows=[AgentWorkflow], activities=[agent.run_agent]),
        Worker(client, task_queue=notify_queue, activities=[agent.notify]),
    ):
        gateway = TaskGateway(client, task_queue=queue)
        await gateway.submit(request, validate_agent=False)
        for _ in range(200):  # queries do not advance time: poll until the checkpoint is pending
            if (await gateway.status(request.task_id)).pending_checkpoint is not None:
                break
        else:
            raise AssertionError("the checkpoint never became pending")
        yield Task(gateway, agent, request.task_id)


@pytest.fixture
async def task(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Task]:
    """On the time-skipping server: an hour's expiry costs nothing."""
    await register_search_attributes(time_skipping_env)
    async with waiting_task(time_skipping_env.client) as waiting:
        yield waiting


@pytest.fixture
async def dev_task(temporal_client: Client) -> AsyncIterator[Task]:
    """On the dev server, which (unlike the time-skipping server) drops a rejected update's workflow task from the
    history as the real server does: where "the validator writes nothing to history" can be checked. From the CLI, so
    no notification to Slack lands in the history while a test counts its events."""
    async with waiting_task(temporal_client, platform="cli") as waiting:
        yield waiting
        await waiting.gateway.client.get_workflow_handle(waiting.task_id).terminate("test over")


async def finished(task: Task, env: WorkflowEnvironment) -> TaskStatusV1:
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        await task.gateway.result(task.task_id)
    return await task.status()


async def test_an_edit_with_the_prefilled_arguments_unchanged_is_one_approval_not_the_go_ahead(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    """The bypass of issue #10: with quorum 2, Edit submitted unchanged used to decide alone."""
    outcome = await task.decide("edit", "U_A", edited_args=dict(PROPOSED))
    assert (outcome.outcome, outcome.approvals, outcome.quorum, outcome.message) == (
        "approval_recorded",
        1,
        2,
        "1 of 2 approvals",
    )
    assert outcome.withdrawn == []
    waiting = await task.status()
    assert waiting.phase == "waiting_for_human" and waiting.decisions == []
    pending = waiting.pending_checkpoint
    assert pending is not None and pending.approvals == ["U_A"]
    assert pending.original_action is None and pending.edited_by is None, "nothing changed: no edit in force"
    assert task.agent.resumed_with == []

    second = await task.decide("accept", "U_B")
    assert (second.outcome, second.approvals, second.quorum) == ("decided", 2, 2)
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved()]
    [record] = final.decisions
    assert (record.decision, record.by) == ("accept", "U_B")
    assert [(a.by, a.decision) for a in record.approvals] == [("U_A", "edit"), ("U_B", "accept")]


async def test_an_edit_without_arguments_approves_the_ones_shown_and_still_needs_a_second_person(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    """`baton decide TASK edit` with no --args: the arguments on the card, unchanged."""
    outcome = await task.decide("edit", "U_A")
    assert (outcome.outcome, outcome.approvals) == ("approval_recorded", 1)
    assert (await task.status()).phase == "waiting_for_human"
    await task.decide("accept", "U_C")
    await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved()]


async def test_two_accepts_by_two_people_go_ahead_with_the_proposal(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    first = await task.decide("accept", "U_A")
    assert (first.outcome, first.message) == ("approval_recorded", "1 of 2 approvals")
    second = await task.decide("accept", "U_B")
    assert (second.outcome, second.message) == ("decided", "accept by U_B: 2 of 2 approvals")
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved()]
    [record] = final.decisions
    assert [a.by for a in record.approvals] == ["U_A", "U_B"]
    assert len({a.args_digest for a in record.approvals}) == 1, "both approved the same arguments"

    history = await task.gateway.client.get_workflow_handle(task.task_id).fetch_history()
    markers = [
        e.marker_recorded_event_attributes for e in history.events if e.HasField("marker_recorded_event_attributes")
    ]
    patches = [json.loads(m.details["patch-data"].payloads[0].data)["id"] for m in markers]
    assert QUORUM_COUNTS_EDITS in patches, "the new rule is marked, so replays of older runs keep the old one"


async def test_an_edit_then_an_accept_by_someone_else_resumes_the_agent_with_the_edited_arguments(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    edit = await task.decide("edit", "U_A", edited_args=EDITED)
    assert (edit.outcome, edit.approvals, edit.withdrawn) == ("approval_recorded", 1, [])
    pending = (await task.status()).pending_checkpoint
    assert pending is not None and pending.proposed_action is not None and pending.original_action is not None
    assert (pending.proposed_action.name, pending.proposed_action.args) == ("deploy", EDITED)
    assert pending.original_action.args == PROPOSED and pending.edited_by == "U_A"
    assert pending.approvals == ["U_A"]

    accept = await task.decide("accept", "U_B")
    assert accept.outcome == "decided"
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved(EDITED)], "the accept approved the edited arguments, not the proposal"
    [record] = final.decisions
    assert (record.decision, record.by) == ("edit", "U_B")
    assert [(a.by, a.decision) for a in record.approvals] == [("U_A", "edit"), ("U_B", "accept")]


async def test_an_edit_that_changes_the_arguments_withdraws_earlier_approvals_and_a_third_person_completes_it(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    assert (await task.decide("accept", "U_A")).approvals == 1
    edit = await task.decide("edit", "U_B", edited_args=EDITED)
    assert (edit.outcome, edit.approvals, edit.quorum, edit.withdrawn) == ("approval_recorded", 1, 2, ["U_A"])
    assert edit.message == "1 of 2 approvals; 1 approval of the old arguments withdrawn"
    pending = (await task.status()).pending_checkpoint
    assert pending is not None and pending.approvals == ["U_B"] and pending.edited_by == "U_B"
    assert [(a.by, a.withdrawn_by) for a in pending.approval_log] == [("U_A", "U_B"), ("U_B", None)]

    done = await task.decide("accept", "U_C")
    assert (done.outcome, done.approvals) == ("decided", 2)
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved(EDITED)]
    assert [a.by for a in final.decisions[0].approvals] == ["U_B", "U_C"]


async def test_an_edit_back_to_the_proposal_ends_the_edit_in_force(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("edit", "U_A", edited_args=EDITED)
    back = await task.decide("edit", "U_B", edited_args=dict(PROPOSED))
    assert (back.approvals, back.withdrawn) == (1, ["U_A"]), "a change all the same: U_A approved other arguments"
    pending = (await task.status()).pending_checkpoint
    assert pending is not None and pending.original_action is None and pending.edited_by is None
    await task.decide("accept", "U_C")
    await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved()]


async def test_a_person_whose_approval_an_edit_withdrew_can_approve_the_new_arguments(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    """The update id names the arguments approved: U_A's second Approve is for other arguments, not a repeated
    click that Temporal would answer with the first outcome."""
    await task.decide("accept", "U_A")
    await task.decide("edit", "U_B", edited_args=EDITED)
    again = await task.decide("accept", "U_A")
    assert (again.outcome, again.approvals) == ("decided", 2)
    await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [approved(EDITED)]


async def test_an_approver_who_then_edits_has_the_edit_applied_not_deduplicated(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("accept", "U_A")
    edit = await task.decide("edit", "U_A", edited_args=EDITED)
    assert (edit.outcome, edit.approvals) == ("approval_recorded", 1)
    pending = (await task.status()).pending_checkpoint
    assert pending is not None and pending.proposed_action is not None and pending.proposed_action.args == EDITED
    await task.decide("accept", "U_B")
    await finished(task, time_skipping_env)  # a task left waiting would fire its timers in later tests' skipped time
    assert task.agent.resumed_with == [approved(EDITED)]


async def test_an_approver_who_changes_their_mind_and_rejects_decides_the_checkpoint(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("accept", "U_A")
    reject = await task.decide("reject", "U_A", text="on second thought, no")
    assert reject.outcome == "decided"
    final = await finished(task, time_skipping_env)
    assert [(d.decision, d.by) for d in final.decisions] == [("reject", "U_A")]


async def test_a_second_approval_by_the_same_person_is_refused_and_writes_nothing(dev_task: Task) -> None:
    task = dev_task
    first = await task.decide("accept", "U_A")
    length = await task.history_length()

    again = await task.decide("accept", "U_A")  # the button again: the same update id, deduplicated by Temporal
    assert again == first
    for kind, extra in (("accept", {}), ("edit", {"edited_args": dict(PROPOSED)}), ("edit", {})):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await task.decide_under_another_id(kind, "U_A", **extra)  # type: ignore[arg-type]
        assert "already approved" in str(refused.value.cause), kind
    assert await task.history_length() == length, "the validator's refusals wrote nothing to history"
    waiting = await task.status()
    assert waiting.phase == "waiting_for_human" and waiting.pending_checkpoint is not None
    assert waiting.pending_checkpoint.approvals == ["U_A"]


async def test_an_editor_whose_edit_withdrew_the_others_still_counts_once(dev_task: Task) -> None:
    task = dev_task
    await task.decide("accept", "U_A")
    await task.decide("edit", "U_B", edited_args=EDITED)
    length = await task.history_length()
    for kind, extra in (("accept", {}), ("edit", {"edited_args": EDITED}), ("edit", {})):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await task.decide_under_another_id(kind, "U_B", **extra)  # type: ignore[arg-type]
        assert "already approved" in str(refused.value.cause)
    assert await task.history_length() == length
    pending = (await task.status()).pending_checkpoint
    assert pending is not None and pending.approvals == ["U_B"]


async def test_a_reject_decides_at_once_whatever_the_approvals(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("edit", "U_A", edited_args=EDITED)
    outcome = await task.decide("reject", "U_B", text="not on a Friday")
    assert (outcome.outcome, outcome.message) == ("decided", "reject by U_B")
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [{"decisions": [{"type": "reject", "message": "not on a Friday"}]}]
    [record] = final.decisions
    assert (record.decision, record.by, record.approvals) == ("reject", "U_B", [])


async def test_a_response_is_not_an_approval_and_decides_at_once(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("accept", "U_A")
    outcome = await task.decide("respond", "U_B", text="use the canary first")
    assert (outcome.outcome, outcome.approvals) == ("decided", 1), "the response did not count as the 2nd approval"
    final = await finished(task, time_skipping_env)
    assert task.agent.resumed_with == [{"decisions": [{"type": "respond", "message": "use the canary first"}]}]
    assert [(d.decision, d.by, d.approvals) for d in final.decisions] == [("respond", "U_B", [])]


async def test_one_edit_alone_never_goes_ahead_the_checkpoint_expires_with_the_default(
    task: Task, time_skipping_env: WorkflowEnvironment
) -> None:
    await task.decide("edit", "U_A", edited_args=EDITED)
    final = await finished(task, time_skipping_env)  # an hour of workflow time, skipped
    assert task.agent.resumed_with == [{"decisions": [{"type": "reject", "message": final.decisions[0].text}]}]
    [record] = final.decisions
    assert (record.decision, record.by, record.approvals) == ("reject", "expiry", [])


# -- the rule and the card, as pure functions -----------------------------------------------------------------


def test_one_person_is_one_approval_of_the_same_arguments() -> None:
    pending = CHECKPOINT.model_copy(update={"quorum": 2, "approvals": ["U_A"]})

    def reason(kind: DecisionKind, by: str = "U_A", edited: dict[str, Any] | None = None) -> str | None:
        return refusal_reason(POLICY, "U_REQUESTER", pending, kind, by, (), edited)

    assert "already approved" in (reason("accept") or "")
    assert "already approved" in (reason("edit", edited={"replicas": 3, "env": "prod"}) or ""), "key order is no change"
    assert reason("edit", edited=EDITED) is None, "a change of arguments is a new approval (and withdraws the old)"
    assert reason("edit") is None, "the bot checks an Edit click before the form is filled in: arguments unknown"
    assert reason("reject") is None and reason("respond") is None, "an approver may still reject or respond"
    assert reason("accept", by="U_B") is None


def test_the_card_shows_the_edited_arguments_the_diff_and_who_approved() -> None:
    edited = CHECKPOINT.model_copy(
        update={
            "quorum": 2,
            "approvals": ["U01ALICE"],
            "proposed_action": ProposedActionV1(name="deploy", args=EDITED),
            "original_action": CHECKPOINT.proposed_action,
            "edited_by": "U01ALICE",
        }
    )
    texts = [json.dumps(block) for block in safe_blocks(checkpoint_card("task-1", edited).blocks)]
    [shown] = [t for t in texts if "Proposed action" in t]
    assert '\\"replicas\\": 1' in shown and '\\"replicas\\": 3' not in shown
    [note] = [t for t in texts if "Edited by" in t]
    assert "<@U01ALICE>" in note and '-  \\"replicas\\": 3\\n+  \\"replicas\\": 1' in note
    assert any("*1 of 2 approvals*" in t and "approved by <@U01ALICE>" in t for t in texts)


def test_the_decided_card_names_every_approval_of_the_quorum() -> None:
    at = utc_now()
    record = DecisionRecordV1(
        checkpoint_id=CHECKPOINT.id,
        decision="edit",
        by="U03CAROL",
        at=at,
        approvals=[
            ApprovalV1(by="U01ALICE", decision="edit", args_digest=args_digest(EDITED), at=at),
            ApprovalV1(by="U03CAROL", decision="accept", args_digest=args_digest(EDITED), at=at),
        ],
    )
    texts = json.dumps(safe_blocks(decided_card(CHECKPOINT, record).blocks))
    assert "Approvals: <@U01ALICE> (edit), <@U03CAROL>" in texts


# -- end to end: the bot, signed Slack requests, the real worker and ops_audit on the dev server ------------------

CHANNEL = "C02OPS"
ALICE, BOB, CAROL = "U01ALICE", "U02BOB", "U03CAROL"


def card_text(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def section_texts(message: Message) -> list[str]:
    """The mrkdwn of a message's sections and context elements, as a person reads them."""
    texts = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    return texts + [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]


def posted_card(slack: FakeSlackApi) -> Message | None:
    """The checkpoint card: the message with an Approve button, in the channel or a task's thread."""
    messages = [m for root in slack.messages_in(CHANNEL) for m in (root, *slack.messages_in(CHANNEL, root.ts))]
    return next((m for m in messages if "baton.decide.accept" in card_text(m)), None)


async def test_through_slack_an_edit_is_one_of_two_approvals_and_a_second_person_sends_the_edited_steps(
    slack: FakeSlackApi,
    bot: BotRuntime,  # noqa: F811
    sender: SlackDelivery,  # noqa: F811
    agent_worker: WorkerFactory,
    gateway: TaskGateway,
    chat_model: Any,
    notify_task_queue: str,
) -> None:
    policy = ApprovalPolicyV1(approvers=[ALICE, CAROL], quorum=2)
    request = make_request("ops_audit", "audit the web tier", approval=policy).model_copy(
        update={
            "requester": RequesterV1(
                platform="slack",
                team_id=slack.team_id,
                user_id=BOB,
                channel_id=CHANNEL,
                notify_task_queue=notify_task_queue,
            )
        }
    )
    only_telnet = {**OPS_PROPOSAL, "steps": OPS_PROPOSAL["steps"][:1]}
    async with agent_worker(chat_model=chat_model):
        await gateway.submit(request)
        card = await slack.wait_for(lambda: posted_card(slack), timeout=60)

        await sender.send_block_actions(
            user_id=ALICE, action_id="baton.decide.edit", channel_id=CHANNEL, message_ts=card.ts
        )
        [modal] = await slack.wait_for(lambda: slack.views(user=ALICE, open_only=True))
        submitted = await sender.send_view_submission(
            user_id=ALICE, view_id=modal.id, values={"baton_input": {"value": json.dumps(only_telnet, indent=2)}}
        )
        assert submitted.status == 200
        [told] = await slack.wait_for(lambda: slack.ephemerals(user=ALICE), timeout=30)
        assert "Your edit is recorded as your approval: 1 of 2 approvals" in told.text

        def shows_the_edit() -> list[str] | None:
            texts = section_texts(slack.message(CHANNEL, card.ts))
            return (
                texts if any("1 of 2 approvals" in t for t in texts) and any("Edited by" in t for t in texts) else None
            )

        texts = await slack.wait_for(shows_the_edit, timeout=30)
        [note] = [t for t in texts if "Edited by" in t]
        assert "*Edited by* <@U01ALICE>" in note
        diff = note.split("```")[1].splitlines()
        assert diff and all(line.startswith("-") for line in diff), "the diff: web-3's step removed, nothing added"
        assert any('"upgrade_package"' in line for line in diff)
        [shown] = [t for t in texts if t.startswith("*Proposed action:*")]
        assert "close_port" in shown and "upgrade_package" not in shown, "the card shows the edited arguments"
        assert any("approved by <@U01ALICE>" in t for t in texts)
        waiting = await gateway.status(request.task_id)
        assert waiting.phase == "waiting_for_human", "one person's edit is not the go-ahead"

        await sender.send_block_actions(
            user_id=CAROL, action_id="baton.decide.accept", channel_id=CHANNEL, message_ts=card.ts
        )
        result = await gateway.result(request.task_id)

    assert "Applied 1 remediation step(s) as edited." in result.summary, result.summary
    report = result.artifacts[0].content
    assert "ci-runner-1 | close_port 23 | applied" in report and "openssl" not in report.split("### Changes")[1]
    final = await gateway.status(request.task_id)
    [record] = final.decisions
    assert (record.decision, record.by) == ("edit", CAROL)
    assert [(a.by, a.decision) for a in record.approvals] == [(ALICE, "edit"), (CAROL, "accept")]
