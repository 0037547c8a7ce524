"""Slack's Events API retries, to a restarted bot or another replica: Temporal recognises the event id (the update id
of the thread's conversation), so a retry reads no thread, calls no model, posts nothing and starts no task; and
events the bot cannot read are acked and ignored with one warning line, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import ConversationStateV1, conversation_id, names, slack_idempotency_key, task_id_for
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from sandbox.openai_server import FakeOpenAI, tool_call
from sandbox.payloads import app_mention_event, message_event
from sandbox.socket_mode import FakeSocketMode
from tests.conftest import WorkerFactory
from tests.support import eventually

CHANNEL = "C02OPS"
DM = "D01BOB"
OURS = ("bot", "slack_bolt", "slack_sdk")
"""Loggers whose warnings about an event count (the dev server's and Temporal's are another story)."""
Life = Callable[[], AbstractAsyncContextManager[SlackDelivery]]


@pytest.fixture
def running(slack: FakeSlackApi, model_settings: BotSettings, temporal_client: Client,
            task_queue: str) -> Life:
    """`async with running() as sender:` one bot process's life; each call is a fresh process (empty memory)."""

    @asynccontextmanager
    async def life() -> AsyncIterator[SlackDelivery]:
        async with BotRuntime(model_settings, temporal_client, agents_task_queue=task_queue) as bot, \
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:
            yield sender

    return life


def records(caplog: pytest.LogCaptureFixture, level: int, words: str = "") -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == level and r.name.startswith(OURS) and words in r.getMessage()]


async def until_logged(caplog: pytest.LogCaptureFixture, count: int, level: int,
                       words: str = "") -> list[logging.LogRecord]:
    """Wait for `count` such records: listeners run after the ack, and the fake Slack cannot signal log lines."""

    async def probe() -> list[logging.LogRecord] | None:
        found = records(caplog, level, words)
        return found if len(found) >= count else None

    return await eventually(probe, interval=0.02)


def script_a_submit(model: FakeOpenAI, times: int = 1) -> None:
    for _ in range(times):
        model.script(tool_call("temporal_submit", {"agent": "ops_audit", "request": "check the web tier"}),
                     "I started an ops audit for you.")


def answers(slack: FakeSlackApi, channel: str, thread_ts: str) -> list[Message]:
    """The front agent's answers in a thread (the task's own status messages and cards are there too)."""
    return [m for m in slack.messages_in(channel, thread_ts)
            if (m.metadata or {}).get("event_type") == "baton_reply"]


async def conversation(client: Client, slack: FakeSlackApi, channel: str, thread_ts: str) -> ConversationStateV1:
    handle = client.get_workflow_handle(conversation_id(slack.team_id, channel, thread_ts))
    return await handle.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)


async def tasks_on(temporal_client: Client, task_queue: str) -> list[str]:
    """Every task started on this test's own queue, under any id (visibility lags: callers wait for it)."""
    query = f"WorkflowType = 'AgentWorkflow' AND TaskQueue = '{task_queue}'"
    return [e.id async for e in temporal_client.list_workflows(query)]


@pytest.mark.parametrize("channel, text", [(CHANNEL, "<@U0BATONBOT> check our web servers"),
                                           (DM, "check our web servers")], ids=["mention", "dm"])
async def test_a_retry_after_a_restart_reads_no_thread_posts_no_second_reply_calls_no_model_and_starts_no_second_task(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Life, agent_worker: WorkerFactory,
        temporal_client: Client, task_queue: str, channel: str, text: str) -> None:
    script_a_submit(fake_model, times=2)  # a second answer would find a model to call: its absence is the proof
    async with agent_worker():
        async with running() as sender:
            first, event = await sender.say("U02BOB", channel, text, event_id="Ev0RESTART1")
            assert first.status == 200
            await slack.wait_for(lambda: answers(slack, channel, event["ts"]), timeout=30)
        assert fake_model.call_count == 2

        async with running() as sender:  # the bot restarted; Slack retries the delivery it saw time out
            retry = await sender.send_event(event, event_id="Ev0RESTART1", retry_num=1, retry_reason="http_timeout")
            assert retry.status == 200  # acked once Temporal judged it: a duplicate of an answered message
            state = await conversation(temporal_client, slack, channel, event["ts"])
        assert state.messages_seen == 1 and state.pending == 0

        assert [m.text for m in answers(slack, channel, event["ts"])] == ["I started an ops audit for you."]
        assert fake_model.call_count == 2 and slack.calls_to("conversations.replies") == []
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, channel, event["ts"]))
        assert await eventually(lambda: tasks_on(temporal_client, task_queue)) == [task_id]
        await temporal_client.get_workflow_handle(task_id).terminate("test over")


async def test_a_first_delivery_is_answered_without_reading_the_thread(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Life, agent_worker: WorkerFactory,
        temporal_client: Client) -> None:
    script_a_submit(fake_model)
    async with agent_worker(), running() as sender:
        _, event = await sender.say("U02BOB", DM, "check our web servers", event_id="Ev0FIRST")
        reply = (await slack.wait_for(lambda: answers(slack, DM, event["ts"]), timeout=30))[0]
        assert slack.calls_to("conversations.replies") == []
        assert reply.metadata == {"event_type": "baton_reply", "event_payload": {"event_id": "Ev0FIRST"}}
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, DM, event["ts"]))
        await temporal_client.get_workflow_handle(task_id).terminate("test over")


async def test_over_socket_mode_a_retry_after_a_restart_posts_nothing(
        slack: FakeSlackApi, fake_model: FakeOpenAI, model_settings: BotSettings, temporal_client: Client,
        task_queue: str, agent_worker: WorkerFactory) -> None:
    """Over the socket the envelope is acked after the hand-over too: a retry (retry_attempt 1) is recognised by
    Temporal like one over HTTP."""
    settings = model_settings.model_copy(update={"slack_app_token": SecretStr(slack.app_token),
                                                 "slack_signing_secret": None})
    script_a_submit(fake_model, times=2)
    async with agent_worker(), FakeSocketMode(slack) as socket:
        async with BotRuntime(settings, temporal_client, agents_task_queue=task_queue):
            await socket.wait_connected()
            _, event = await socket.say("U02BOB", CHANNEL, "<@U0BATONBOT> check our web servers",
                                        event_id="Ev0SOCKET1")
            await slack.wait_for(lambda: answers(slack, CHANNEL, event["ts"]), timeout=30)
        assert socket.envelopes[-1]["retry_attempt"] == 0 and slack.calls_to("conversations.replies") == []
        posts = len(answers(slack, CHANNEL, event["ts"]))
        async with BotRuntime(settings, temporal_client, agents_task_queue=task_queue):
            await socket.wait_connected(count=2)
            await socket.send_event(event, event_id="Ev0SOCKET1", retry_attempt=1)  # returns with the ack
            state = await conversation(temporal_client, slack, CHANNEL, event["ts"])
        assert state.messages_seen == 1 and state.pending == 0
        assert len(answers(slack, CHANNEL, event["ts"])) == posts and fake_model.call_count == 2
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, CHANNEL, event["ts"]))
        await temporal_client.get_workflow_handle(task_id).terminate("test over")


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


async def test_events_missing_ts_channel_or_user_get_a_200_and_one_warning_line_each_without_a_traceback(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    secret = "ask-the-audit-bot-about-web-7"
    mention = app_mention_event("U02BOB", CHANNEL, f"<@U0BATONBOT> {secret}", team=slack.team_id)
    dm = message_event("U02BOB", DM, secret, team=slack.team_id)
    home = {"type": "app_home_opened", "user": "U02BOB", "channel": DM, "tab": "home", "event_ts": "1.000001"}
    broken = [_without(event, key) for event in (mention, dm) for key in ("ts", "channel", "user")]
    broken.append(_without(home, "user"))

    answers = [await sender.send_event(event, event_id=f"Ev0BROKEN{i}") for i, event in enumerate(broken)]

    assert [a.status for a in answers] == [200] * len(broken)
    await until_logged(caplog, len(broken), logging.WARNING)
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == len(broken), [r.getMessage() for r in warnings]
    assert all(r.exc_info is None and secret not in r.getMessage() for r in warnings)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [] and "Traceback" not in caplog.text
    assert slack.calls_to("chat.postMessage") == [] and slack.calls_to("views.publish") == []
