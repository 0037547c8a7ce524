"""Baton in Slack's assistant pane: opening a thread suggests the live catalog's agents within Slack's limits, the
channel the person looks at is kept with the thread and reaches the front agent, and a message in the thread shows a
status, names the thread and is answered once in it by the thread's durable conversation; the channel beside the pane
is the model's context, never part of the person's words or a task's request. Real parts throughout: the Temporal
dev server and the agent worker, the real bot with its notify worker and demo front model (or the real ChatOpenAI on
the fake OpenAI server), signed deliveries, the fake Slack's assistant methods."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import StructuredTool
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.service import RPCError

from baton.gateway import TaskGateway
from bot.assistant import (
    CHECKING_STATUS,
    CONTEXT_EVENT,
    MAX_PROMPT_MESSAGE,
    MAX_PROMPT_TITLE,
    MAX_PROMPTS,
    MAX_THREAD_TITLE,
    suggested_prompts,
    thread_title,
)
from bot.assistant_status import in_assistant_thread, starting_status
from bot.demo_front_model import DemoFrontModel
from bot.front_agent import context_line
from bot.origin import SlackOrigin
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import AgentInfoV1, ConversationStateV1, conversation_id, names, slack_idempotency_key, task_id_for
from sandbox import DEFAULT_SIGNING_SECRET, DeliveryResult, FakeSlackApi, SlackDelivery
from sandbox.assistant_delivery import (
    AssistantThread,
    assistant_thread_event,
    change_assistant_context,
    open_assistant_thread,
)
from sandbox.fake_assistant import AssistantPane
from sandbox.openai_server import FakeOpenAI, Reply, text, tool_call
from sandbox.workspace import Message
from tests.conftest import WorkerFactory
from tests.support import eventually
from workers.config import WorkerSettings
from workers.registry import AgentRegistry

BOB, DM, OPS, GENERAL = "U02BOB", "D01BOB", "C02OPS", "C01GENERAL"
LONG = ("Watches every certificate and disk and open port of the whole production web fleet in every region and "
        "writes a remediation plan that a person approves before anything changes and then applies it ") * 3


@pytest.fixture
async def worker(agent_worker: WorkerFactory) -> AsyncIterator[None]:
    """The agent worker with the built-in agents and six more whose descriptions are long: the live catalog."""
    builtin = AgentRegistry.from_references(WorkerSettings.model_validate({}).agents).specs()
    extra = [dataclasses.replace(builtin[0], name=f"fleet_watch_{i}", description=LONG) for i in range(6)]
    async with agent_worker(registry=AgentRegistry([*builtin, *extra])):
        yield


@pytest.fixture
async def model_sender(slack: FakeSlackApi, model_settings: BotSettings, temporal_client: Client, task_queue: str,
                       worker: None) -> AsyncIterator[SlackDelivery]:
    """Signed deliveries to a bot whose front agent is the real ChatOpenAI on the fake model server (which records
    what the model was sent)."""
    async with BotRuntime(model_settings, temporal_client, agents_task_queue=task_queue) as runtime, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, runtime.events_url, slack=slack) as delivery:
        yield delivery


def copies_the_request(body: dict[str, Any]) -> Reply:
    """A model that starts diagnostic with the person's words as they reached it, then says it did."""
    last = body["messages"][-1]
    if last["role"] == "user":
        return tool_call("temporal_submit", {"agent": "diagnostic", "request": last["content"]})
    return text("Started diagnostic for you.")


def pane(slack: FakeSlackApi, thread: AssistantThread) -> AssistantPane:
    return slack.methods.assistant.pane(thread.channel, thread.thread_ts)


def greeting(slack: FakeSlackApi, thread: AssistantThread) -> Message | None:
    return next((m for m in slack.messages_in(thread.channel, thread.thread_ts)
                 if m.user == slack.bot_user_id and (m.metadata or {}).get("event_type") == CONTEXT_EVENT), None)


async def conversation(client: Client, slack: FakeSlackApi, thread: AssistantThread) -> ConversationStateV1:
    handle = client.get_workflow_handle(conversation_id(slack.team_id, thread.channel, thread.thread_ts))
    return await handle.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)


async def answered(client: Client, slack: FakeSlackApi, thread: AssistantThread, turns: int) -> ConversationStateV1:
    async def probe() -> ConversationStateV1 | None:
        state = await conversation(client, slack, thread)
        return state if len(state.memory) >= turns and not state.pending else None

    return await eventually(probe)


async def test_opening_the_pane_greets_and_suggests_at_most_four_short_prompts_from_the_live_catalog(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, worker: None) -> None:
    await eventually(lambda: _live(bot))
    thread = await open_assistant_thread(sender, BOB, DM, context_channel=OPS)
    assert thread.started.status == 200
    prompts = (await slack.wait_for(lambda: pane(slack, thread).prompts))
    assert len(prompts) == MAX_PROMPTS  # nine agents offered, Slack shows four
    assert all(len(p.title) <= MAX_PROMPT_TITLE and len(p.message) <= MAX_PROMPT_MESSAGE for p in prompts)
    by_agent = {p.message.split()[1]: p for p in prompts}
    assert by_agent["diagnostic"].title == "Smoke check"
    long_one = by_agent["fleet_watch_0"]  # the description, as the person's request, cut at a word
    assert long_one.title.startswith("Watch every certificate") and long_one.title.endswith("…")
    assert long_one.message.startswith("run fleet_watch_0 watch every certificate") and long_one.message.endswith("…")
    hello = await slack.wait_for(lambda: greeting(slack, thread))
    assert (hello.metadata or {})["event_payload"]["channel_id"] == OPS  # the thread's context, kept by Slack


def greeting_work(slack: FakeSlackApi, thread_ts: str) -> tuple[int, int, int]:
    """(thread reads, greetings posted, messages deleted) in one thread: each delivery of assistant_thread_started
    reads it once, and twice if it greeted; a greeting that came second is deleted."""
    reads = sum(1 for c in slack.calls_to("conversations.replies") if c.args.get("ts") == thread_ts)
    posts = sum(1 for c in slack.calls_to("chat.postMessage", ok=True) if c.args.get("thread_ts") == thread_ts
                and (c.args.get("metadata") or {}).get("event_type") == CONTEXT_EVENT)
    deletes = len(slack.calls_to("chat.delete", ok=True))
    return reads, posts, deletes


async def test_a_thread_start_slack_delivers_again_greets_and_suggests_once_even_when_both_run_at_once(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, worker: None) -> None:
    thread = await open_assistant_thread(sender, BOB, DM, context_channel=OPS, event_id="Ev0START01")
    await slack.wait_for(lambda: pane(slack, thread).prompts and greeting_work(slack, thread.thread_ts)[0] == 2)
    event = assistant_thread_event("assistant_thread_started", BOB, DM, thread.thread_ts, OPS, sender.app.team_id)
    again = await sender.send_event(event, event_id="Ev0START01", retry_num=1, retry_reason="http_timeout")
    assert again.status == 200
    await slack.wait_for(lambda: greeting_work(slack, thread.thread_ts)[0] == 3)  # read the thread, found it greeted
    assert greeting_work(slack, thread.thread_ts)[1] == 1
    assert [kind for kind, _ in pane(slack, thread).history] == ["prompts"]

    # The first delivery still at work when the second arrives: both may greet; the later greeting is withdrawn.
    root = slack.post_user_message(DM, BOB, "New chat")
    event = assistant_thread_event("assistant_thread_started", BOB, DM, root.ts, OPS, sender.app.team_id)
    both = await asyncio.gather(sender.send_event(event, event_id="Ev0START02"),
                                sender.send_event(event, event_id="Ev0START02", retry_num=1))
    assert [b.status for b in both] == [200, 200]

    def settled() -> bool:
        reads, posts, deletes = greeting_work(slack, root.ts)
        return posts >= 1 and reads == posts + 2 and deletes == posts - 1

    await slack.wait_for(settled)
    shown = AssistantThread(BOB, DM, root.ts, both[0])
    greetings = [m for m in slack.messages_in(DM, root.ts) if (m.metadata or {}).get("event_type") == CONTEXT_EVENT]
    assert len(greetings) == 1
    await slack.wait_for(lambda: pane(slack, shown).prompts)
    assert [kind for kind, _ in pane(slack, shown).history] == ["prompts"]


async def test_a_message_in_the_pane_shows_a_status_names_the_thread_and_is_answered_once_in_it(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, worker: None, temporal_client: Client) -> None:
    thread = await open_assistant_thread(sender, BOB, DM, context_channel=OPS)
    await slack.wait_for(lambda: greeting(slack, thread))
    first, event = await sender.say(BOB, DM, "hello there, what can you do?", thread_ts=thread.thread_ts,
                                    event_id="Ev0PANE01")
    again = await sender.send_event(event, event_id="Ev0PANE01", retry_num=1, retry_reason="http_timeout")
    assert (first.status, again.status) == (200, 200)
    state = await answered(temporal_client, slack, thread, turns=2)
    assert state.messages_seen == 1  # the DM listener did not take it too, and the redelivery was a duplicate
    person, baton = state.memory[0], state.memory[1]
    assert person.text == "hello there, what can you do?"  # the channel beside the pane is not in their words
    hello = greeting(slack, thread)
    replies = [m for m in slack.messages_in(DM, thread.thread_ts) if m.user == slack.bot_user_id and m is not hello]
    assert len(replies) == 1 and baton.role == "baton"
    shown = pane(slack, thread)
    assert shown.history.count(("status", CHECKING_STATUS)) == 1  # Slack's retry sets no status nothing would clear
    assert shown.title == "hello there, what can you do?"
    assert slack.methods.assistant.status_shown(DM, thread.thread_ts) == ""  # the answer cleared it

    await sender.say(BOB, DM, "and what else?", thread_ts=thread.thread_ts)
    await answered(temporal_client, slack, thread, turns=4)
    assert [kind for kind, _ in pane(slack, thread).history].count("title") == 1  # named after the first only


async def test_a_message_that_starts_a_task_says_which_agent_is_starting_until_baton_answers(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, worker: None, temporal_client: Client) -> None:
    thread = await open_assistant_thread(sender, BOB, DM)
    await slack.wait_for(lambda: greeting(slack, thread))
    await sender.say(BOB, DM, "run diagnostic smoke check", thread_ts=thread.thread_ts)
    await answered(temporal_client, slack, thread, turns=2)
    statuses = [value for kind, value in pane(slack, thread).history if kind == "status"]
    assert statuses == [CHECKING_STATUS, "is starting diagnostic…"]  # the agent the front agent chose, then no more
    assert slack.methods.assistant.status_shown(DM, thread.thread_ts) == ""  # Baton's messages cleared it


def test_only_a_reply_in_a_dm_thread_can_be_in_an_assistant_pane() -> None:
    def origin(channel: str, ts: str, thread_ts: str | None) -> SlackOrigin:
        return SlackOrigin(team_id="T1", channel_id=channel, user_id=BOB, identity_ts=ts, thread_ts=thread_ts)

    assert in_assistant_thread(origin(DM, "2.0", "1.0"))
    assert not in_assistant_thread(origin(DM, "1.0", "1.0"))  # a DM's top level: no pane
    assert not in_assistant_thread(origin(OPS, "2.0", "1.0"))  # a channel thread
    assert not in_assistant_thread(origin(DM, "trigger", None))  # a slash command
    assert "<" not in starting_status("<!channel>") and starting_status("diagnostic") == "is starting diagnostic…"


async def test_a_pane_message_starts_a_task_asked_exactly_what_the_person_typed_and_the_model_is_told_the_channel(
        slack: FakeSlackApi, model_sender: SlackDelivery, fake_model: FakeOpenAI, temporal_client: Client,
        gateway: TaskGateway) -> None:
    fake_model.respond_with(copies_the_request)
    thread = await open_assistant_thread(model_sender, BOB, DM, context_channel=OPS)
    await slack.wait_for(lambda: greeting(slack, thread))
    typed = "check the pipes for leaks, please"
    _, event = await model_sender.say(BOB, DM, typed, thread_ts=thread.thread_ts)
    state = await answered(temporal_client, slack, thread, turns=2)
    asked = fake_model.ok_calls[0]
    assert asked.last_user_text == typed
    assert context_line(OPS) in asked.text_of("system") and f"<#{OPS}>" not in asked.text_of("user")
    assert state.memory[0].text == typed
    task_id = task_id_for("diagnostic", slack_idempotency_key(slack.team_id, DM, event["ts"]))
    assert (await gateway.status(task_id)).request_text == typed
    assert not [m for m in slack.messages_in(DM) if "Sent from" in m.text + str(m.blocks)]


async def test_a_context_change_is_kept_with_the_thread_and_reaches_the_next_message(
        slack: FakeSlackApi, model_sender: SlackDelivery, fake_model: FakeOpenAI, temporal_client: Client) -> None:
    fake_model.respond_with(lambda body: text("Nothing runs there yet."))
    sender = model_sender
    thread = await open_assistant_thread(sender, BOB, DM, context_channel=OPS)
    await slack.wait_for(lambda: greeting(slack, thread))
    assert (await change_assistant_context(sender, thread, GENERAL)).status == 200

    def moved() -> bool:
        hello = greeting(slack, thread)
        return hello is not None and (hello.metadata or {})["event_payload"].get("channel_id") == GENERAL

    await slack.wait_for(moved)
    await sender.say(BOB, DM, "which tasks run here?", thread_ts=thread.thread_ts)
    await answered(temporal_client, slack, thread, turns=2)
    system = fake_model.ok_calls[-1].text_of("system")
    assert context_line(GENERAL) in system and f"<#{OPS}>" not in system


async def test_a_reply_under_a_tasks_status_message_in_a_dm_goes_to_the_task_not_to_the_pane(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, worker: None, temporal_client: Client) -> None:
    assert (await sender.send_slash_command("run diagnostic check the pipes", BOB, DM)).status == 200
    root = await slack.wait_for(lambda: next((m for m in slack.messages_in(DM) if m.thread_ts is None and m.metadata),
                                             None), timeout=30)
    _, reply = await sender.say(BOB, DM, "also the valves", thread_ts=root.ts)

    def handled_by_the_task() -> bool:  # taken (a reaction) or told the task has finished (a private note)
        return bool(slack.message(DM, reply["ts"]).reactions or slack.ephemerals(user=BOB, channel=DM))

    await slack.wait_for(handled_by_the_task)
    assert slack.methods.assistant.pane(DM, root.ts).history == []  # no status, no title: not the pane's message
    with pytest.raises(RPCError):
        await conversation(temporal_client, slack, AssistantThread(BOB, DM, root.ts, DeliveryResult(200, "")))


async def test_the_fake_refuses_what_slack_refuses_in_the_assistant_methods(
        slack: FakeSlackApi, slack_client: AsyncWebClient) -> None:
    root = slack.post_user_message(DM, BOB, "New chat")
    five = [{"title": f"t{i}", "message": f"m{i}"} for i in range(MAX_PROMPTS + 1)]
    refusals = {
        "invalid_arguments": slack_client.assistant_threads_setSuggestedPrompts(
            channel_id=DM, thread_ts=root.ts, prompts=five),
        "invalid_thread_ts": slack_client.assistant_threads_setTitle(channel_id=DM, thread_ts="1.000001", title="x"),
        "channel_not_found": slack_client.assistant_threads_setStatus(channel_id="D0NOPE", thread_ts=root.ts,
                                                                      status="is thinking…"),
    }
    for error, call in refusals.items():
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == error
    no_message = [{"title": "Audit"}]
    with pytest.raises(SlackApiError) as refused:
        await slack_client.assistant_threads_setSuggestedPrompts(channel_id=DM, thread_ts=root.ts, prompts=no_message)
    assert "message" in refused.value.response["response_metadata"]["messages"][0]
    assert (await slack_client.assistant_threads_setStatus(channel_id=DM, thread_ts=root.ts, status="is on it…",
                                                           loading_messages=["Reading…"]))["ok"]
    assert slack.methods.assistant.status_shown(DM, root.ts) == "is on it…"


async def _live(bot: BotRuntime) -> bool:
    return (await bot.services.offered.get()).live



def test_markup_in_a_description_or_a_first_message_reaches_the_pane_inert() -> None:
    hostile = AgentInfoV1(name="x", description="Pings <!channel> and links <https://evil.example|your bank>")
    [prompt] = suggested_prompts([hostile])
    assert "<" not in prompt.title + prompt.message and ">" not in prompt.title + prompt.message
    title = thread_title("<@U01ALICE> look at <!here>\nsecond line " + "x" * 200)
    assert "<" not in title and ">" not in title and len(title) <= MAX_THREAD_TITLE and "second" not in title
    assert suggested_prompts([]) == [] and thread_title("   \n ") == "New request"


async def test_the_demo_model_takes_the_channel_line_as_context_and_starts_the_task_with_the_persons_words() -> None:
    async def temporal_submit(agent: str, request: str) -> str:
        """Start an agent on a request."""
        return "started"

    prompt = SystemMessage(f"Agents:\n- diagnostic: Smoke check\n\n{context_line(OPS)}")
    model = DemoFrontModel().bind_tools([StructuredTool.from_function(coroutine=temporal_submit)])
    reply = await model.ainvoke([prompt, HumanMessage("check the pipes with diagnostic")])
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["args"] == {"agent": "diagnostic", "request": "check the pipes with diagnostic"}
