"""Records the replay histories of the current release (tests/histories/<version>/, see releases.toml) from real runs
with checkpoints. Skipped unless BATON_RECORD_HISTORIES=1 (`make histories`): a recorded history is a fixture of the
replay test, and a released set is never rewritten."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from baton.conversations import Conversations
from baton.gateway import TaskGateway
from baton.releases import current_release, history_dir
from contracts import (
    AnswerInputV1,
    AnswerOutputV1,
    ApprovalPolicyV1,
    CancellationV1,
    ConversationKeyV1,
    ConversationLimitsV1,
    ConversationMessageV1,
    ConversationStartV1,
    ConversationStateV1,
    DecisionKind,
    DecisionV1,
    NotifyInputV1,
    NotifyResultV1,
    SlackMessagesV1,
    conversation_id,
    names,
    utc_now,
)
from tests.conftest import WorkerFactory
from tests.hitl import two_gates
from tests.hitl.conftest import OPS_PROPOSAL
from tests.hitl.test_continue_as_new import CONTINUED_HISTORY, long_task
from tests.hitl.test_expiry import StandIns, result_skipping_time, slack_request, stand_ins
from tests.support import eventually, make_request, status_when
from workers.agents import diagnostic, ops_audit, sales_report
from workers.registry import AgentRegistry

pytestmark = pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1", reason="set BATON_RECORD_HISTORIES=1 to re-record histories"
)
HISTORIES = history_dir(current_release())
REGISTRY = AgentRegistry([diagnostic.SPEC, ops_audit.SPEC, sales_report.SPEC, two_gates.SPEC])
__all__ = ["result_skipping_time", "stand_ins"]


async def save(client: Client, task_id: str, name: str) -> None:
    history = await client.get_workflow_handle(task_id).fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def decide_next(gateway: TaskGateway, task_id: str, kind: DecisionKind, by: str = "U_A", **extra: Any) -> None:
    seen = {d.checkpoint_id for d in (await gateway.status(task_id)).decisions}
    status = await status_when(
        gateway, task_id, lambda s: s.pending_checkpoint is not None and s.pending_checkpoint.id not in seen
    )
    assert status.pending_checkpoint is not None
    await gateway.decide(
        task_id, DecisionV1(checkpoint_id=status.pending_checkpoint.id, decision=kind, by=by, at=utc_now(), **extra)
    )


async def test_record_dev_server_histories(
    gateway: TaskGateway, agent_worker: WorkerFactory, chat_model: Callable[[], BaseChatModel]
) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        ops = make_request("ops_audit", "Audit prod", platform="cli")
        await gateway.submit(ops)
        await decide_next(gateway, ops.task_id, "accept")
        await gateway.result(ops.task_id)
        await save(gateway.client, ops.task_id, "ops_audit_approved")

        sales = make_request("sales_report", "Sales for Q1")
        await gateway.submit(sales)
        await decide_next(gateway, sales.task_id, "edit", edited_args={"regions": ["EMEA"]})
        await gateway.result(sales.task_id)
        await save(gateway.client, sales.task_id, "sales_report_edited")

        gates = make_request("two_gates", "paint")
        await gateway.submit(gates)
        await decide_next(gateway, gates.task_id, "respond", text="blue")
        await decide_next(gateway, gates.task_id, "accept", by="U_B")
        await gateway.result(gates.task_id)
        await save(gateway.client, gates.task_id, "two_checkpoints")

        quorum = make_request(
            parameters={"steps": 2, "ask": "Ship?"}, approval=ApprovalPolicyV1(approvers=["U_A", "U_B"], quorum=2)
        )
        await gateway.submit(quorum)
        await decide_next(gateway, quorum.task_id, "accept", by="U_A")
        status = await status_when(
            gateway, quorum.task_id, lambda s: s.pending_checkpoint is not None and bool(s.pending_checkpoint.approvals)
        )
        assert status.pending_checkpoint is not None
        await gateway.decide(
            quorum.task_id,
            DecisionV1(checkpoint_id=status.pending_checkpoint.id, decision="accept", by="U_B", at=utc_now()),
        )
        await gateway.result(quorum.task_id)
        await save(gateway.client, quorum.task_id, "quorum_two_of_two")

        cancelled = make_request(parameters={"steps": 1, "ask": "Ship?"})
        await gateway.submit(cancelled)
        await status_when(gateway, cancelled.task_id, lambda s: s.phase == "waiting_for_human")
        await gateway.cancel(cancelled.task_id, CancellationV1(by="U_REQUESTER", reason="not today"))
        await status_when(gateway, cancelled.task_id, lambda s: s.phase == "cancelled")
        await save(gateway.client, cancelled.task_id, "cancelled_while_waiting")


@activity.defn(name="notify")
async def notify(note: NotifyInputV1) -> NotifyResultV1:
    """The bot's side of a Slack task's thread, answered without Slack: the workflow's notify calls are recorded."""
    return NotifyResultV1(messages=SlackMessagesV1(status_ts="1700000000.000100"))


async def test_record_quorum_edit_history(
    gateway: TaskGateway, agent_worker: WorkerFactory, chat_model: Callable[[], BaseChatModel], task_queue: str
) -> None:
    """Quorum 2 under the rule that counts edits (patch `quorum-counts-edits`): U_A approves, U_B's edit changes the
    steps and withdraws U_A's approval, U_C's accept completes the quorum and ops_audit applies U_B's steps. From
    Slack, so the thread notifier's calls after each approval are in the history too."""
    notify_queue = f"{task_queue}-slack"
    request = make_request(
        "ops_audit",
        "Audit prod",
        platform="slack",
        channel_id="C_OPS",
        approval=ApprovalPolicyV1(approvers=["U_A", "U_B", "U_C"], quorum=2),
    )
    request = request.model_copy(
        update={"requester": request.requester.model_copy(update={"notify_task_queue": notify_queue})}
    )
    edited = {**OPS_PROPOSAL, "steps": OPS_PROPOSAL["steps"][:1]}
    async with (
        agent_worker(registry=REGISTRY, chat_model=chat_model),
        Worker(gateway.client, task_queue=notify_queue, activities=[notify]),
    ):
        await gateway.submit(request)
        await decide_next(gateway, request.task_id, "accept", by="U_A")
        status = await gateway.status(request.task_id)
        assert status.pending_checkpoint is not None
        checkpoint_id = status.pending_checkpoint.id
        for by, kind, extra in (("U_B", "edit", {"edited_args": edited}), ("U_C", "accept", {})):
            await gateway.decide(
                request.task_id,
                DecisionV1(checkpoint_id=checkpoint_id, decision=kind, by=by, at=utc_now(), **extra),  # type: ignore[arg-type]
            )
        result = await gateway.result(request.task_id)
    assert "Applied 1 remediation step(s) as edited." in result.summary
    await save(gateway.client, request.task_id, "quorum_edit_withdraws_then_accept")


async def test_record_expiry_history(stand_ins: tuple[StandIns, TaskGateway], result_skipping_time: Any) -> None:
    _, gateway = stand_ins
    request = slack_request(
        ApprovalPolicyV1(approvers=["U_A"], expires_after_s=3600, escalate_to=["U_BOSS"], escalation_window_s=600)
    )
    await gateway.submit(request, validate_agent=False)
    await result_skipping_time(gateway, request.task_id)
    await save(gateway.client, request.task_id, "expired_after_escalation")


async def test_record_continued_as_new_history(temporal_client: Client) -> None:
    """A task from Slack whose runs hand over every 100 events (patch `continue-as-new`): its second run starts from
    a TaskContinuationV1 and hands over again, so replaying it covers both ends of a hand-over."""
    async with long_task(temporal_client, checkpoints=12, max_events=100) as task:
        for step in range(1, 13):
            await task.decide(step)
        await task.gateway.result(task.task_id)
        runs = await task.runs()
    assert len(runs) >= 3, "the second run must be a middle one"
    (HISTORIES / CONTINUED_HISTORY.name).write_text(runs[1].to_json(), encoding="utf-8")


ANSWERED: list[AnswerInputV1] = []


@activity.defn(name=names.ANSWER_IN_THREAD_ACTIVITY)
async def answer_in_thread(request: AnswerInputV1) -> AnswerOutputV1:
    """The bot's side of a conversation without Slack or a model: "fail" is a rejected API key, the rest an echo."""
    ANSWERED.append(request)
    if request.kind == "answer" and request.message.text == "fail":
        raise ApplicationError("The model provider rejected Baton's API key (401).", type=names.LLM_AUTH_ERROR,
                               non_retryable=True)
    return AnswerOutputV1(text=request.notice or f"echo: {request.message.text}", remember=request.kind == "answer")


async def test_record_conversation_history(gateway: TaskGateway, agent_worker: WorkerFactory, task_queue: str) -> None:
    """One ConversationWorkflow run over its bound of 3 messages: a message by update (answered with the memory), a
    redelivery of it by signal (recognised), one whose model call is refused (one notice), one by signal while the
    update path is skipped, the message past the bound (the limit notice), and one after it (ignored)."""
    notify_queue = f"{task_queue}-slack"
    key = ConversationKeyV1(team_id="T_REC", channel_id="C_REC", thread_ts="1700000000.000100")
    start = ConversationStartV1(key=key, notify_task_queue=notify_queue,
                                limits=ConversationLimitsV1(max_messages=3))
    conversations = Conversations(gateway.client, task_queue, update_wait_s=30)

    def message(n: int, text: str) -> ConversationMessageV1:
        return ConversationMessageV1(event_id=f"Ev0REC{n}", user_id="U_A", text=text, ts=f"1700000000.00020{n}")

    async def state() -> ConversationStateV1:
        handle = gateway.client.get_workflow_handle(conversation_id(key.team_id, key.channel_id, key.thread_ts))
        return await handle.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)

    async with agent_worker(), Worker(gateway.client, task_queue=notify_queue, activities=[answer_in_thread]):
        assert (await conversations.say(start, message(1, "hello"))) is not None
        await conversations._signal_with_start(start, message(1, "hello"))
        await conversations.say(start, message(2, "fail"))
        await conversations._signal_with_start(start, message(3, "and then?"))
        await conversations.say(start, message(4, "one more"))
        await conversations.say(start, message(5, "and another"))
        final = await eventually(lambda: _settled(state, len(ANSWERED) >= 5))
    assert [(a.kind, a.message.event_id) for a in ANSWERED] == [
        ("answer", "Ev0REC1"), ("answer", "Ev0REC2"), ("notice", "Ev0REC2"), ("answer", "Ev0REC3"),
        ("notice", "Ev0REC4")]
    assert final.limit_told and final.messages_seen == 4
    await save(gateway.client, conversation_id(key.team_id, key.channel_id, key.thread_ts),
               "conversation_answered_refused_and_limited")


async def _settled(state: Callable[[], Any], answered: bool) -> Any:
    current = await state()
    return current if answered and current.pending == 0 else None
