"""Conversations are workflows: every mention and DM goes to its Slack thread's ConversationWorkflow (update-with-start,
the event id as the update id), whose `answer_in_thread` activity runs the front agent in the bot and answers in the
thread. Real parts throughout: the Temporal dev server and worker, the real bot (one or two replicas) with its notify
worker, signed deliveries, the fake Slack and the fake OpenAI server behind the real ChatOpenAI."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import DevServer
from bot.runtime import BotRuntime
from bot.services import BotServices
from bot.settings import BotSettings
from contracts import ConversationStateV1, conversation_id, names
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI
from sandbox.payloads import message_event
from tests.conftest import WorkerFactory
from tests.support import eventually

CHANNEL = "C02OPS"
DM = "D01BOB"
BOB = "U02BOB"
Bots = Callable[..., AbstractAsyncContextManager[list[SlackDelivery]]]


@pytest.fixture
def bots(slack: FakeSlackApi, model_settings: BotSettings, temporal_server: DevServer, task_queue: str,
         agent_worker: WorkerFactory) -> Bots:
    """`async with bots(n, **settings) as senders:` the agent worker and `n` bot replicas on one notify queue, each
    with its own Temporal connection and request URL, as separate processes would be: Slack's deliveries can land
    on any of them."""

    @asynccontextmanager
    async def running(count: int = 1, **overrides: Any) -> AsyncIterator[list[SlackDelivery]]:
        settings = model_settings.model_copy(update=overrides)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(agent_worker())
            senders = []
            for _ in range(count):
                client = await Client.connect(temporal_server.address, data_converter=pydantic_data_converter)
                bot = await stack.enter_async_context(BotRuntime(settings, client, agents_task_queue=task_queue))
                senders.append(await stack.enter_async_context(
                    SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack)))
            yield senders

    return running


async def state_of(client: Client, slack: FakeSlackApi, channel: str, thread_ts: str) -> ConversationStateV1:
    handle = client.get_workflow_handle(conversation_id(slack.team_id, channel, thread_ts))
    return await handle.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)


async def settled(client: Client, slack: FakeSlackApi, channel: str, thread_ts: str,
                  predicate: Callable[[ConversationStateV1], bool]) -> ConversationStateV1:
    """The conversation's state once `predicate` holds: the condition to wait on, never a sleep."""

    async def probe() -> ConversationStateV1 | None:
        state = await state_of(client, slack, channel, thread_ts)
        return state if predicate(state) else None

    return await eventually(probe)


def answers(slack: FakeSlackApi, channel: str, thread_ts: str) -> list[str]:
    """Baton's answers in the thread, each once it is whole (a streamed answer counts once its stream is over)."""
    return [m.text for m in slack.messages_in(channel, thread_ts)
            if m.user == slack.bot_user_id and not slack.methods.streams.streaming(channel, m.ts)]


async def test_a_mention_is_answered_once_in_its_thread_by_the_threads_conversation_workflow(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client) -> None:
    fake_model.script("Hello Bob, what should I look at?")
    async with bots() as [sender]:
        delivered, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> hi there")
        assert delivered.status == 200
        assert await slack.wait_for(lambda: answers(slack, CHANNEL, event["ts"])) == [
            "Hello Bob, what should I look at?"]
        state = await settled(temporal_client, slack, CHANNEL, event["ts"], lambda s: len(s.memory) == 2)
    assert [(t.role, t.text) for t in state.memory] == [("person", "hi there"),
                                                        ("baton", "Hello Bob, what should I look at?")]
    assert state.memory[0].user_id == BOB and state.messages_seen == 1 and state.pending == 0
    assert fake_model.call_count == 1


async def test_a_second_mention_in_the_thread_reaches_the_model_with_the_first_exchange(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots) -> None:
    fake_model.script("The EU region sold 120 units.", "And the US region sold 80.")
    async with bots() as [sender]:
        _, first = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how did the EU region do?")
        await slack.wait_for(lambda: answers(slack, CHANNEL, first["ts"]))
        await sender.say(BOB, CHANNEL, "<@U0BATONBOT> and the US?", thread_ts=first["ts"])
        await slack.wait_for(lambda: len(answers(slack, CHANNEL, first["ts"])) == 2)
    second = fake_model.calls[1]
    assert [(m["role"], m["content"]) for m in second.messages if m["role"] != "system"] == [
        ("user", "how did the EU region do?"), ("assistant", "The EU region sold 120 units."),
        ("user", "and the US?")]
    assert answers(slack, CHANNEL, first["ts"]) == ["The EU region sold 120 units.", "And the US region sold 80."]


@pytest.mark.parametrize("channel, text", [(CHANNEL, "<@U0BATONBOT> check our web servers"),
                                           (DM, "check our web servers")], ids=["mention", "dm"])
async def test_one_event_delivered_three_times_to_two_bot_replicas_gets_one_answer_and_one_model_call(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client, channel: str,
        text: str) -> None:
    fake_model.script("On it.", "A second answer would be this.")
    async with bots(2) as [first_bot, second_bot]:
        first, event = await first_bot.say(BOB, channel, text, event_id="Ev0TWICE1")
        # Slack saw no ack in time (say) and retries, once to each replica: each retry is acked only once Temporal
        # has judged it, so when these return the redeliveries are settled.
        again = await second_bot.send_event(event, event_id="Ev0TWICE1", retry_num=1, retry_reason="http_timeout")
        third = await first_bot.send_event(event, event_id="Ev0TWICE1", retry_num=2, retry_reason="http_timeout")
        assert (first.status, again.status, third.status) == (200, 200, 200)
        await slack.wait_for(lambda: answers(slack, channel, event["ts"]))
        state = await settled(temporal_client, slack, channel, event["ts"], lambda s: len(s.memory) == 2)
    assert state.messages_seen == 1 and state.pending == 0
    assert answers(slack, channel, event["ts"]) == ["On it."]
    assert fake_model.call_count == 1


async def test_bot_messages_edits_deletions_and_unaddressed_channel_messages_get_no_model_call_and_no_answer(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client, task_queue: str) -> None:
    fake_model.script("Only this one.")

    def dm(text: str, **extra: Any) -> dict[str, Any]:
        return {**message_event(BOB, DM, text, team=slack.team_id), **extra}

    ignored = [
        dm("from another bot", subtype="bot_message", bot_id="B0OTHER"),
        dm("from a bot without subtype", bot_id="B0OTHER"),
        {**message_event(slack.bot_user_id, DM, "Baton's own words", team=slack.team_id)},
        dm("", subtype="message_changed", message={"text": "edited", "user": BOB}),
        dm("", subtype="message_deleted", previous_message={"text": "gone", "user": BOB}),
        message_event(BOB, CHANNEL, "talking to people, not Baton", team=slack.team_id),
    ]
    async with bots() as [sender]:
        for event in ignored:
            assert (await sender.send_event(event)).status == 200
        _, asked = await sender.say(BOB, DM, "now I ask Baton")
        await slack.wait_for(lambda: answers(slack, DM, asked["ts"]))
    assert fake_model.call_count == 1
    assert [m.text for m in slack.messages_in(DM) if m.user == slack.bot_user_id] == ["Only this one."]
    query = f"WorkflowType = '{names.CONVERSATION_WORKFLOW}' AND TaskQueue = '{task_queue}'"
    started = await eventually(lambda: _ids(temporal_client, query))
    assert started == [conversation_id(slack.team_id, DM, asked["ts"])]


async def _ids(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def test_a_stale_mention_from_a_channel_the_bot_left_gets_no_model_call_and_no_answer(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client) -> None:
    fake_model.script("I should not be asked.")
    slack.set_members(CHANNEL, [BOB, "U03CAROL"])  # Baton was removed; a redelivery from before arrives
    async with bots() as [sender]:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> are you there?")
        state = await settled(temporal_client, slack, CHANNEL, event["ts"], lambda s: len(s.memory) == 1)
    assert state.memory[0].role == "person" and state.pending == 0
    assert fake_model.call_count == 0 and answers(slack, CHANNEL, event["ts"]) == []


async def test_a_conversation_over_its_bound_answers_once_with_the_limit_and_then_stays_quiet(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client) -> None:
    fake_model.script("First and last answer.", "Never said.")
    async with bots(baton_conversation_max_messages=1) as [sender]:
        _, first = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> one")
        await slack.wait_for(lambda: answers(slack, CHANNEL, first["ts"]))
        await sender.say(BOB, CHANNEL, "<@U0BATONBOT> two", thread_ts=first["ts"])
        await slack.wait_for(lambda: len(answers(slack, CHANNEL, first["ts"])) == 2)
        await sender.say(BOB, CHANNEL, "<@U0BATONBOT> three", thread_ts=first["ts"])
        state = await state_of(temporal_client, slack, CHANNEL, first["ts"])
    assert answers(slack, CHANNEL, first["ts"]) == [
        "First and last answer.", "This conversation has reached its limit; start a new thread to go on."]
    assert state.limit_told and state.messages_seen == 2 and state.pending == 0
    assert fake_model.call_count == 1


async def test_a_model_that_fails_then_recovers_is_retried_by_temporal_and_a_rejected_key_is_told_once(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots) -> None:
    fake_model.fail_next(1, status=500).script("Back again.")
    async with bots() as [sender]:
        _, flaky = await sender.say(BOB, DM, "are you there?")
        assert await slack.wait_for(lambda: answers(slack, DM, flaky["ts"]), timeout=30) == ["Back again."]
        assert fake_model.call_count == 2
        fake_model.fail_next(1, status=401, message="Incorrect API key provided")
        _, refused = await sender.say(BOB, DM, "still there?")
        [told] = await slack.wait_for(lambda: answers(slack, DM, refused["ts"]), timeout=30)
    assert told.startswith("I could not reach the model: The model provider rejected Baton's API key (401)")
    assert fake_model.call_count == 3, "a rejected key is not retried"


async def test_after_a_continue_as_new_the_memory_goes_on_and_a_redelivery_is_still_recognised(
        slack: FakeSlackApi, fake_model: FakeOpenAI, bots: Bots, temporal_client: Client) -> None:
    fake_model.script("Noted: web-1.", "web-1 again, yes.", "Never said.")
    async with bots(baton_conversation_messages_per_run=1) as [sender]:
        _, first = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> remember web-1", event_id="Ev0CAN1")
        await slack.wait_for(lambda: answers(slack, CHANNEL, first["ts"]))
        await sender.say(BOB, CHANNEL, "<@U0BATONBOT> which host?", thread_ts=first["ts"])
        await slack.wait_for(lambda: len(answers(slack, CHANNEL, first["ts"])) == 2)
        await sender.send_event(first, event_id="Ev0CAN1", retry_num=3)  # late, after the continue-as-new
        state = await settled(temporal_client, slack, CHANNEL, first["ts"], lambda s: len(s.memory) == 4)
    assert "remember web-1" in fake_model.calls[1].text_of("user")
    assert "Noted: web-1." in fake_model.calls[1].text_of("assistant")
    assert state.messages_seen == 2 and fake_model.call_count == 2
    workflow_id = conversation_id(slack.team_id, CHANNEL, first["ts"])
    runs = [e async for e in temporal_client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert WorkflowExecutionStatus.CONTINUED_AS_NEW in {run.status for run in runs}


def test_the_bot_keeps_no_dedupe_cache() -> None:
    """Temporal deduplicates events by update id: the bot holds no memory of the events it has seen."""
    assert importlib.util.find_spec("bot.dedupe") is None
    fields = {f.name: str(f.type) for f in dataclasses.fields(BotServices)}
    assert not [name for name, kind in fields.items() if "dedupe" in name.lower() or "Dedupe" in kind
                or "seen" in name.lower()]


async def test_with_no_worker_running_a_mention_is_acked_at_once_kept_and_answered_once_when_a_worker_starts(
        slack: FakeSlackApi, fake_model: FakeOpenAI, model_settings: BotSettings, temporal_client: Client,
        task_queue: str, agent_worker: WorkerFactory) -> None:
    """No worker takes the update: the message is recorded by signal before the ack (durable, worker or not), and a
    redelivery meanwhile is recognised by its event id once the conversation runs."""
    fake_model.script("Sorry for the wait.", "Never said.")
    async with BotRuntime(model_settings, temporal_client, agents_task_queue=task_queue) as bot, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:
        loop = asyncio.get_running_loop()
        began = loop.time()
        first, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> anyone home?", event_id="Ev0NOWORKER")
        again = await sender.send_event(event, event_id="Ev0NOWORKER", retry_num=1)
        assert (first.status, again.status) == (200, 200)
        assert loop.time() - began < 3.0, "both acked well within Slack's 3 s each"
        history = temporal_client.get_workflow_handle(conversation_id(slack.team_id, CHANNEL, event["ts"]))
        assert (await history.describe()).status == WorkflowExecutionStatus.RUNNING, "durable before the ack"
        assert fake_model.call_count == 0
        async with agent_worker():
            await slack.wait_for(lambda: answers(slack, CHANNEL, event["ts"]), timeout=30)
            state = await settled(temporal_client, slack, CHANNEL, event["ts"], lambda s: len(s.memory) == 2)
    assert answers(slack, CHANNEL, event["ts"]) == ["Sorry for the wait."]
    assert state.messages_seen == 1 and fake_model.call_count == 1
