"""Fault injection (429 + Retry-After, any error), waiting on conditions, and the live change feed."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi

CHANNEL = "C01GENERAL"


async def test_429_carries_retry_after_and_leaves_state_untouched(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="v1")
    slack.fail_next("chat.update", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    assert slack.message(CHANNEL, posted["ts"]).text == "v1"


async def test_rate_limit_retry_handler_waits_out_two_429s_and_the_update_lands(slack: FakeSlackApi) -> None:
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=2)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[handler])
    posted = await client.chat_postMessage(channel=CHANNEL, text="10%")
    slack.fail_next("chat.update", error="ratelimited", status=429, retry_after=1, times=2)
    r = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="100%")
    assert r["ok"] and slack.message(CHANNEL, posted["ts"]).text == "100%"
    updates = slack.calls_to("chat.update")
    assert [c.status for c in updates] == [429, 429, 200]
    assert updates[1].at - updates[0].at >= 1 and updates[2].at - updates[1].at >= 1  # Retry-After honoured


async def test_any_error_can_be_injected_for_n_calls(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found", times=1)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 200 and err.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]


async def test_wait_for_wakes_on_a_call_without_sleeping(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    waiter = asyncio.create_task(slack.wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await client.chat_postMessage(channel=CHANNEL, text="hello")
    calls = await asyncio.wait_for(waiter, 5)
    assert calls[0].args["text"] == "hello"


async def test_wait_for_returns_at_once_when_already_true_and_times_out_otherwise(slack: FakeSlackApi) -> None:
    assert await slack.wait_for(lambda: "ready") == "ready"
    with pytest.raises(TimeoutError, match="condition not met"):
        await slack.wait_for(lambda: slack.calls_to("chat.update"), timeout=0.05)


async def test_subscribers_see_every_state_change_in_order(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    seen: list[str] = []
    remove = slack.add_listener(lambda change: seen.append(change.kind))
    async with slack.subscribe() as stream:
        posted = await client.chat_postMessage(channel=CHANNEL, text="a")
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="b")
        await client.chat_postEphemeral(channel=CHANNEL, user="U02BOB", text="psst")
        await client.views_publish(user_id="U02BOB", view={"type": "home", "blocks": []})
        await client.chat_delete(channel=CHANNEL, ts=posted["ts"])
        kinds = [(await stream.get(timeout=5)).kind for _ in range(5)]
    remove()
    expected = ["message_posted", "message_updated", "ephemeral_posted", "home_published", "message_deleted"]
    assert kinds == expected and seen == expected


async def test_a_closed_stream_ends_iteration(slack: FakeSlackApi) -> None:
    stream = slack.subscribe()
    slack.post_user_message(CHANNEL, "U02BOB", "hi")
    stream.close()
    assert [c.kind async for c in stream] == ["message_posted"]
