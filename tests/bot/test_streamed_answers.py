"""The front agent's answer streams into its thread (chat.startStream / appendStream / stopStream) and, whatever
Slack or the bot does, the person gets the whole answer exactly once. Real parts: the Temporal dev server and worker,
the real bot with its notify worker, signed deliveries, the fake Slack's streaming methods, and the fake OpenAI server
(which streams its reply in 16-character SSE chunks) behind the real ChatOpenAI."""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.testing import ActivityEnvironment

import bot.answer_stream
from bot.answer_stream import MAX_MESSAGE_MARKDOWN, REPLY_EVENT, AnswerWriter, StreamTarget, reply_metadata
from bot.blocks.markdown import inert_markdown
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import AnswerInputV1, ConversationKeyV1, ConversationMessageV1
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from sandbox.fake_streams import MAX_MARKDOWN_TEXT
from sandbox.openai_server import FakeOpenAI
from tests.conftest import WorkerFactory

CHANNEL = "C02OPS"
BOB = "U02BOB"
ANSWER = ("The web fleet looks healthy: all twelve hosts answered, two certificates expire within thirty days, "
          "and disk use is under seventy percent everywhere. I can start a full audit if you want the details.")
STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


@pytest.fixture
def every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """No throttle: every chunk the model streams becomes its own call (the fake model streams at once)."""
    monkeypatch.setattr(bot.answer_stream, "APPEND_EVERY_S", 0.0)


@pytest.fixture
def running(slack: FakeSlackApi, bot_settings: BotSettings, fake_model: FakeOpenAI, temporal_client: Any,
            task_queue: str, agent_worker: WorkerFactory) -> Any:
    """`async with running() as sender:` the agent worker and one bot whose front agent is ChatOpenAI on the fake."""
    settings = bot_settings.model_copy(update={"baton_model": "fake-model", "openai_base_url": fake_model.base_url,
                                               "openai_api_key": SecretStr(fake_model.api_key)})

    @asynccontextmanager
    async def run() -> AsyncIterator[SlackDelivery]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(agent_worker())
            runtime = await stack.enter_async_context(BotRuntime(settings, temporal_client,
                                                                 agents_task_queue=task_queue))
            yield await stack.enter_async_context(SlackDelivery(DEFAULT_SIGNING_SECRET, runtime.events_url,
                                                                slack=slack))

    def factory() -> AbstractAsyncContextManager[SlackDelivery]:
        return run()

    return factory


def replies(slack: FakeSlackApi, thread_ts: str, channel: str = CHANNEL) -> list[Message]:
    return [m for m in slack.messages_in(channel, thread_ts) if m.user == slack.bot_user_id]


def whole(slack: FakeSlackApi, thread_ts: str, channel: str = CHANNEL) -> list[Message]:
    """Baton's replies once the last one carries the metadata saying the answer is whole (else none)."""
    found = replies(slack, thread_ts, channel)
    if not found or not found[-1].metadata or slack.methods.streams.streaming(channel, found[-1].ts):
        return []
    return found if "part" not in found[-1].metadata.get("event_payload", {}) else []


def stream_calls(slack: FakeSlackApi) -> dict[str, int]:
    return {method: len(slack.calls_to(method)) for method in (*STREAM_METHODS, "chat.postMessage", "chat.update")}


async def test_a_mentions_answer_streams_into_one_message_that_grows_until_it_holds_the_whole_answer_once(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any, every_call: None) -> None:
    fake_model.script(ANSWER)
    seen: list[str] = []
    slack.add_listener(lambda change: seen.append(str(change.data.get("text")))
                       if change.kind in ("message_posted", "message_updated") and change.user == slack.bot_user_id
                       else None)
    async with running() as sender:
        started = time.monotonic()
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how is the web fleet?")
        await slack.wait_for(lambda: slack.calls_to("chat.startStream", ok=True), timeout=30)
        first_token_s = time.monotonic() - started
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert answer.text == ANSWER
    assert answer.metadata is not None and answer.metadata["event_type"] == REPLY_EVENT
    assert "part" not in answer.metadata["event_payload"]
    calls = stream_calls(slack)
    assert calls["chat.startStream"] == 1 and calls["chat.stopStream"] == 1 and calls["chat.appendStream"] >= 3
    assert calls["chat.postMessage"] == 0 and calls["chat.update"] == 0
    texts = [t for t in seen if t]
    assert len(texts) >= 4 and all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    start = slack.calls_to("chat.startStream")[0].args
    assert (start["recipient_team_id"], start["recipient_user_id"], start["thread_ts"]) == (
        slack.team_id, BOB, event["ts"])
    print(f"\nstreamed answer of {len(ANSWER)} characters, unthrottled: {sum(calls.values())} Slack calls "
          f"({calls}); first streamed words {first_token_s * 1000:.0f} ms after the mention")


async def test_with_the_default_throttle_an_answer_the_model_writes_at_once_costs_two_stream_calls(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any) -> None:
    fake_model.script(ANSWER)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how is the web fleet?")
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert answer.text == ANSWER
    calls = stream_calls(slack)
    assert calls == {"chat.startStream": 1, "chat.appendStream": 0, "chat.stopStream": 1, "chat.postMessage": 0,
                     "chat.update": 0}, "the deltas that arrive within the interval are coalesced into the stop"


async def test_with_streaming_refused_the_answer_is_one_normal_post(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any, every_call: None) -> None:
    slack.methods.streams.refuse = "not_allowed"
    fake_model.script(ANSWER)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how is the web fleet?")
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert answer.text == ANSWER
    calls = stream_calls(slack)
    assert calls == {"chat.startStream": 1, "chat.appendStream": 0, "chat.stopStream": 0, "chat.postMessage": 1,
                     "chat.update": 0}
    assert fake_model.call_count == 1


async def test_a_stream_that_expires_midway_is_completed_by_chat_update_with_the_whole_answer(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any, every_call: None) -> None:
    slack.methods.streams.lifetime_s = 0.0  # Slack ends the stream at once: the first append is refused
    fake_model.script(ANSWER)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how is the web fleet?")
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert answer.text == ANSWER
    [refused] = slack.calls_to("chat.appendStream")
    assert refused.response["error"] == "message_not_in_streaming_state"
    [update] = slack.calls_to("chat.update", ok=True)
    assert update.args["ts"] == answer.ts and not slack.calls_to("chat.postMessage")


async def test_an_answer_longer_than_a_message_continues_in_a_new_message_and_is_whole_once(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any) -> None:
    long_answer = " ".join(f"Host web-{i:04d} answered on port 443." for i in range(400))
    assert len(long_answer) > MAX_MESSAGE_MARKDOWN
    fake_model.script(long_answer)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> list every host")
        parts = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert len(parts) == 2 and "".join(p.text for p in parts) == long_answer
    assert all(len(p.text) <= MAX_MESSAGE_MARKDOWN for p in parts)
    assert (parts[0].metadata or {})["event_payload"]["part"] == 1
    sent = [c.args.get("markdown_text") or "" for m in STREAM_METHODS for c in slack.calls_to(m)]
    assert max(map(len, sent)) <= MAX_MARKDOWN_TEXT and not slack.calls_to("chat.postMessage")


async def test_hostile_model_text_streams_inert(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any, every_call: None) -> None:
    hostile = ("Sure <!channel> and <@U01ALICE>, see [bank.com](https://evil.example) or ![x](https://evil.example/p)"
               " [ref]: https://evil.example @here @everyone <https://evil.example|click> &lt;!here&gt; done.")
    fake_model.script(hostile)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> say something")
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    sent = [c.args.get("markdown_text") or "" for m in STREAM_METHODS for c in slack.calls_to(m)]
    for text in (*sent, answer.text):
        assert "<" not in text and ">" not in text, text
        assert not re.search(r"\][(\[:]", text), text
        assert not re.search(r"@(here|channel|everyone)", text, re.IGNORECASE)
    assert "&amp;lt;!here&amp;gt;" in answer.text, "already-escaped text stays text"
    assert answer.text.replace("\u200b", "").replace("\u2060", "").replace("&lt;", "<").replace(
        "&gt;", ">").replace("&amp;", "&") == hostile, "the person reads what the model wrote"


async def test_a_retried_attempt_rewrites_the_message_a_crashed_one_was_streaming_instead_of_posting_again(
        slack: FakeSlackApi, bot: BotRuntime, slack_client: AsyncWebClient) -> None:
    person = slack.post_user_message(CHANNEL, BOB, "<@U0BATONBOT> hello there")
    # The crashed attempt: it had streamed half a sentence, and its heartbeat recorded the message.
    half = await slack_client.chat_startStream(channel=CHANNEL, thread_ts=person.ts, markdown_text="[demo model] No ",
                                               recipient_team_id=slack.team_id, recipient_user_id=BOB)
    request = AnswerInputV1(
        key=ConversationKeyV1(team_id=slack.team_id, channel_id=CHANNEL, thread_ts=person.ts),
        message=ConversationMessageV1(event_id="Ev0RETRY1", user_id=BOB, text="hello there", ts=person.ts))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[[half["ts"]]])
    output = await env.run(bot.answers.answer_in_thread, request)
    [answer] = replies(slack, person.ts)
    assert answer.ts == half["ts"] and output.text.startswith("[demo model] No OPENAI")
    assert answer.text == inert_markdown(output.text), "the whole answer, in the message the crashed attempt made"
    assert answer.metadata == reply_metadata("Ev0RETRY1")
    assert not slack.methods.streams.streaming(CHANNEL, answer.ts)
    assert not slack.calls_to("chat.postMessage"), "nothing posted twice"


async def test_a_throttled_writer_stays_inside_the_append_tier_and_a_429_midway_still_delivers_the_whole_answer(
        slack: FakeSlackApi) -> None:
    slack.methods.streams.limit("chat.appendStream", 3, per_s=60)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)  # no retry handler: 429 surfaces
    person = slack.post_user_message(CHANNEL, BOB, "go")
    target = StreamTarget(CHANNEL, person.ts, slack.team_id, BOB, "Ev0TIER1")
    now = [0.0]
    words = [f"word{i} " for i in range(100)]

    throttled = AnswerWriter(client, target, every_s=1.0, clock=lambda: now[0])
    for word in words[:30]:  # 30 deltas over 3 seconds: start, then at most one append a second
        now[0] += 0.1
        await throttled.add(word)
    await throttled.finish()
    assert not [c for c in slack.calls if c.status == 429] and throttled.calls <= 5

    eager = AnswerWriter(client, dataclasses.replace(target, event_id="Ev0TIER2"), every_s=0.0)
    for word in words:
        await eager.add(word)
    await eager.finish()
    [limited] = [c for c in slack.calls if c.status == 429]
    assert limited.method == "chat.appendStream"
    assert [m.text for m in replies(slack, person.ts)] == ["".join(words[:30]), "".join(words)], "each whole, once"
    if client.session is not None:
        await client.session.close()


async def test_an_attempt_that_fails_after_streaming_began_is_retried_into_the_same_message(
        slack: FakeSlackApi, fake_model: FakeOpenAI, running: Any, every_call: None) -> None:
    slack.methods.streams.lifetime_s = 0.0  # the stream is refused after its start...
    slack.fail_next("chat.update", "internal_error", times=1)  # ...and the first rewrite fails: the attempt fails
    fake_model.script(ANSWER, ANSWER)
    async with running() as sender:
        _, event = await sender.say(BOB, CHANNEL, "<@U0BATONBOT> how is the web fleet?")
        [answer] = await slack.wait_for(lambda: whole(slack, event["ts"]), timeout=30)
    assert answer.text == ANSWER
    [started] = slack.calls_to("chat.startStream", ok=True)
    assert started.response["ts"] == answer.ts, "the retry found the message in the failed attempt's heartbeat"
    assert [c.ok for c in slack.calls_to("chat.update")] == [False, True] and not slack.calls_to("chat.postMessage")


async def test_an_answer_still_streaming_after_four_minutes_continues_in_a_new_stream_before_slack_ends_it(
        slack: FakeSlackApi, slack_client: AsyncWebClient) -> None:
    person = slack.post_user_message(CHANNEL, BOB, "go")
    now = [0.0]
    writer = AnswerWriter(slack_client, StreamTarget(CHANNEL, person.ts, slack.team_id, BOB, "Ev0SLOW1"),
                          clock=lambda: now[0])
    words = [f"minute{i} " for i in range(6)]
    for word in words:  # a slow model: a word a minute
        await writer.add(word)
        now[0] += 60.0
    await writer.finish()
    first, second = replies(slack, person.ts)
    assert first.text + second.text == "".join(words)
    assert (first.metadata or {})["event_payload"]["part"] == 1 and second.metadata == reply_metadata("Ev0SLOW1")
    assert [c.ok for c in slack.calls_to("chat.startStream")] == [True, True]


async def test_an_answer_the_person_stops_is_left_where_they_stopped_it(
        slack: FakeSlackApi, slack_client: AsyncWebClient) -> None:
    person = slack.post_user_message(CHANNEL, BOB, "go")
    writer = AnswerWriter(slack_client, StreamTarget(CHANNEL, person.ts, slack.team_id, BOB, "Ev0STOP1"), every_s=0)
    await writer.add("The first words ")
    [message] = replies(slack, person.ts)
    slack.methods.streams.stop_by_user(CHANNEL, message.ts)
    await writer.add("and the ones after the stop.")
    await writer.finish()
    assert [m.text for m in replies(slack, person.ts)] == ["The first words "]
    assert not slack.calls_to("chat.update") and not slack.calls_to("chat.postMessage")
    assert [c.response.get("error") for c in slack.calls_to("chat.appendStream")] == ["stopped_by_user"]
