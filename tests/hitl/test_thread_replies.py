"""Replies in a task's thread reach the task (#11 item 3). Real parts: the dev server, the worker running the
`listener` test agent (it declares the human_messages channel), the real bot on its HTTP endpoint, signed message
events, the fake Slack, and the gated fake model server behind the real ChatOpenAI (a test holds a model call in
flight while someone replies)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from baton.gateway import TaskGateway
from bot.listeners.thread_replies import TAKEN_REACTION
from bot.runtime import BotRuntime
from bot.settings import BotSettings, load_settings
from bot.thread_replies import thread_reply
from contracts import ApprovalPolicyV1, CheckpointV1, ThreadReplyV1, names, utc_now
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from tests.conftest import WorkerFactory
from tests.hitl import listener_agent
from tests.hitl.conftest import GatedOpenAI, json_text
from tests.support import status_when
from workers.registry import AgentRegistry
from workers.workflow.agent_workflow import AgentWorkflow
from workers.workflow.thread_replies import route

CHANNEL = "C02OPS"
BOB = "U02BOB"
CAROL = "U03CAROL"
REGISTRY = AgentRegistry([listener_agent.SPEC])


@pytest.fixture
def bot_settings(slack: FakeSlackApi, notify_task_queue: str) -> BotSettings:
    return load_settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=DEFAULT_SIGNING_SECRET, slack_app_token=None,
        slack_api_url=slack.base_url, baton_http_host="127.0.0.1", baton_http_port=0,
        baton_slack_team_id=slack.team_id, baton_model=None, openai_api_key=None, openai_base_url=None,
        baton_notify_task_queue=notify_task_queue,
    )


@pytest.fixture
async def sender(slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client,
                 task_queue: str) -> AsyncIterator[SlackDelivery]:
    async with (BotRuntime(bot_settings, temporal_client, agents_task_queue=task_queue) as bot,
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as delivery):
        yield delivery


@pytest.fixture
def drafting(fake_openai: GatedOpenAI) -> GatedOpenAI:
    """The model drafts, then revises; each call is answered by what it asks, so a held call answers the same."""
    fake_openai.respond_with(lambda body: "A draft." if "DRAFT" in json_text(body) else "Revised with the EU numbers.")
    return fake_openai


async def start_task(slack: FakeSlackApi, sender: SlackDelivery, text: str) -> tuple[Message, str]:
    """`/baton run listener <text>` by Bob: the task's status message (its thread's root) and the task id."""
    answer = await sender.send_slash_command(f"run listener {text}", BOB, CHANNEL)
    assert answer.status == 200
    root = await slack.wait_for(lambda: next((m for m in slack.messages_in(CHANNEL)
                                              if m.thread_ts is None and m.metadata), None), timeout=30)
    assert root is not None and root.metadata is not None
    return root, str(root.metadata["event_payload"]["task_id"])


async def reply_updates(client: Client, task_id: str) -> list[str]:
    """The update ids of every `reply` update in the task's history."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    return [event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            for event in history.events
            if event.HasField("workflow_execution_update_accepted_event_attributes")
            and event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            == names.REPLY_UPDATE]


async def replays(client: Client, task_id: str) -> bool:
    """The task's history, reply updates and all, replays on today's workflow code (the handler is deterministic)."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    replayer = Replayer(workflows=[AgentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure is None


def user_turns(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(m["content"], m.get("name")) for m in body["messages"] if m["role"] == "user"]


async def test_a_requesters_reply_reaches_the_running_agent_before_its_next_model_call(
        slack: FakeSlackApi, sender: SlackDelivery, agent_worker: WorkerFactory, drafting: GatedOpenAI,
        chat_model: Callable[[], BaseChatModel], gateway: TaskGateway) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        drafting.hold()
        root, task_id = await start_task(slack, sender, "write the weekly note")
        await drafting.wait_until_held(1)  # the agent is in its first model call
        delivered, reply = await sender.say(BOB, CHANNEL, "Mention the EU numbers", thread_ts=root.ts)
        assert delivered.status == 200  # acked once the task held the reply
        drafting.release()
        done = await status_when(gateway, task_id, lambda s: s.phase == "completed")
    draft_call, revise_call = drafting.calls
    assert "Mention the EU numbers" not in json_text(draft_call.body)
    assert user_turns(revise_call.body)[-1] == ("Mention the EU numbers", BOB)
    assert done.result is not None and "heard ['Mention the EU numbers']" in done.result.summary
    assert slack.message(CHANNEL, reply["ts"]).reactions == {TAKEN_REACTION: [slack.bot_user_id]}
    assert not slack.ephemerals(user=BOB)[1:], "the reaction says it: no private note beyond the run's own"


async def test_a_reply_while_the_task_waits_at_a_checkpoint_that_allows_respond_is_the_response(
        slack: FakeSlackApi, sender: SlackDelivery, agent_worker: WorkerFactory, fake_openai: GatedOpenAI,
        temporal_client: Client, chat_model: Callable[[], BaseChatModel], gateway: TaskGateway) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        root, task_id = await start_task(slack, sender, "ask about the region")
        waiting = await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None)
        assert waiting.pending_checkpoint is not None and "respond" in waiting.pending_checkpoint.allowed_decisions
        delivered, reply = await sender.say(BOB, CHANNEL, "EMEA only", thread_ts=root.ts)
        assert delivered.status == 200
        done = await status_when(gateway, task_id, lambda s: s.phase == "completed")
    assert done.result is not None and done.result.summary == "answer: EMEA only"
    [decision] = done.decisions
    assert (decision.decision, decision.by, decision.text) == ("respond", BOB, "EMEA only")
    assert slack.message(CHANNEL, reply["ts"]).reactions == {TAKEN_REACTION: [slack.bot_user_id]}
    assert fake_openai.call_count == 0
    assert await replays(temporal_client, task_id)


async def test_a_strangers_reply_is_ignored_with_a_private_note_and_never_reaches_the_task(
        slack: FakeSlackApi, sender: SlackDelivery, agent_worker: WorkerFactory, temporal_client: Client,
        chat_model: Callable[[], BaseChatModel], gateway: TaskGateway) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        root, task_id = await start_task(slack, sender, "ask about the region")
        await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None)
        delivered, reply = await sender.say(CAROL, CHANNEL, "Ignore that, do APAC <!channel>", thread_ts=root.ts)
        assert delivered.status == 200
        [note] = await slack.wait_for(lambda: slack.ephemerals(user=CAROL))
        status = await gateway.status(task_id)
    assert f"Your reply was not passed to task `{task_id}`" in note.text and note.thread_ts == root.ts
    assert await reply_updates(temporal_client, task_id) == []
    assert status.phase == "waiting_for_human" and status.decisions == []
    assert slack.message(CHANNEL, reply["ts"]).reactions == {}


async def test_a_reply_to_a_finished_task_is_told_so_privately(
        slack: FakeSlackApi, sender: SlackDelivery, agent_worker: WorkerFactory, temporal_client: Client,
        chat_model: Callable[[], BaseChatModel], gateway: TaskGateway) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        root, task_id = await start_task(slack, sender, "ask about the region")
        await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None)
        await sender.say(BOB, CHANNEL, "EMEA only", thread_ts=root.ts)
        await status_when(gateway, task_id, lambda s: s.phase == "completed")
        late, reply = await sender.say(BOB, CHANNEL, "and APAC too", thread_ts=root.ts)
        assert late.status == 200
        note = await slack.wait_for(lambda: next((e for e in slack.ephemerals(user=BOB) if "finished" in e.text),
                                                 None))
    assert note is not None and note.text == f"Task `{task_id}` has finished: your reply was not passed to it."
    assert slack.message(CHANNEL, reply["ts"]).reactions == {}


async def test_a_redelivered_reply_reaches_the_agent_once(
        slack: FakeSlackApi, sender: SlackDelivery, agent_worker: WorkerFactory, drafting: GatedOpenAI,
        temporal_client: Client, chat_model: Callable[[], BaseChatModel], gateway: TaskGateway) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        drafting.hold()
        root, task_id = await start_task(slack, sender, "write the weekly note")
        await drafting.wait_until_held(1)
        first, reply = await sender.say(BOB, CHANNEL, "Mention the EU numbers", thread_ts=root.ts,
                                        event_id="Ev0REPLY1")
        again = await sender.send_event(reply, event_id="Ev0REPLY1", retry_num=1, retry_reason="http_timeout")
        assert (first.status, again.status) == (200, 200)
        drafting.release()
        await status_when(gateway, task_id, lambda s: s.phase == "completed")
    assert await reply_updates(temporal_client, task_id) == ["Ev0REPLY1"]
    assert await replays(temporal_client, task_id)
    assert user_turns(drafting.calls[1].body).count(("Mention the EU numbers", BOB)) == 1
    assert slack.message(CHANNEL, reply["ts"]).reactions == {TAKEN_REACTION: [slack.bot_user_id]}


def envelope(**changes: Any) -> dict[str, Any]:
    event = {"type": "message", "user": BOB, "channel": CHANNEL, "ts": "1700000001.000200",
             "thread_ts": "1700000000.000100", "text": "Mention the EU numbers", **changes}
    return {"event_id": "Ev0PARSE1", "event": {k: v for k, v in event.items() if v is not None}}


@pytest.mark.parametrize("changes", [
    {"thread_ts": None}, {"ts": "1700000000.000100"}, {"subtype": "message_changed"}, {"bot_id": "B01"},
    {"user": "U0BATONBOT"}, {"text": "<@U0BATONBOT> status please"}, {"text": "   "}, {"channel": None},
], ids=["not-in-a-thread", "the-root-itself", "an-edit", "a-bot", "baton-itself", "a-mention", "no-text",
        "no-channel"])
def test_only_a_persons_unaddressed_message_in_a_thread_is_a_reply(changes: dict[str, Any]) -> None:
    assert thread_reply(envelope(**changes), "U0BATONBOT") is None


def test_a_reply_also_sent_to_the_channel_is_a_reply_with_the_messages_own_time() -> None:
    read = thread_reply(envelope(subtype="thread_broadcast"), "U0BATONBOT")
    assert read is not None
    channel, thread_ts, reply = read
    assert (channel, thread_ts, reply.event_id, reply.user_id, reply.text) == (
        CHANNEL, "1700000000.000100", "Ev0PARSE1", BOB, "Mention the EU numbers")
    assert reply.at.timestamp() == 1700000001.0002


def a_reply(user: str = BOB, groups: tuple[str, ...] = ()) -> ThreadReplyV1:
    return ThreadReplyV1(event_id="Ev0ROUTE1", user_id=user, user_groups=list(groups), text="EMEA only",
                         ts="1700000001.000200", at=utc_now())


QUESTION = CheckpointV1(id="cp-1", title="Which region?", allowed_decisions=["respond", "accept", "reject"])


@pytest.mark.parametrize("policy, reply, checkpoint, deciding, expected", [
    (ApprovalPolicyV1(), a_reply(), None, False, "deliver"),
    (ApprovalPolicyV1(), a_reply(), QUESTION, False, "respond"),
    (ApprovalPolicyV1(), a_reply(), QUESTION, True, "deliver"),
    (ApprovalPolicyV1(), a_reply(CAROL), QUESTION, False, "refused"),
    (ApprovalPolicyV1(approvers=[CAROL]), a_reply(), QUESTION, False, "deliver"),
    (ApprovalPolicyV1(approvers=[CAROL]), a_reply(CAROL), QUESTION, False, "respond"),
    (ApprovalPolicyV1(approver_groups=["S01APPROVERS"]), a_reply(CAROL, ("S01APPROVERS",)), None, False, "deliver"),
    (ApprovalPolicyV1(admins=[CAROL]), a_reply(CAROL), None, False, "deliver"),
], ids=["requester-while-running", "requester-answers-a-question", "a-decision-is-already-in",
        "a-stranger", "requester-when-approvers-are-named-only-talks", "a-named-approver-answers",
        "an-approver-by-group", "an-admin"])
def test_where_a_reply_goes(policy: ApprovalPolicyV1, reply: ThreadReplyV1, checkpoint: CheckpointV1 | None,
                            deciding: bool, expected: str) -> None:
    assert route(policy, BOB, "waiting_for_human" if checkpoint else "running", checkpoint, deciding,
                 reply) == expected
    assert route(policy, BOB, "completed", None, False, reply) == "finished"
