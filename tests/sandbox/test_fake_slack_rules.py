"""The fake refuses what Slack refuses: bad tokens, unknown methods, Block Kit over its limits, overlong text."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi

CHANNEL = "C01GENERAL"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str = "approve", value: str = "v") -> dict[str, Any]:
    return {"type": "actions", "elements": [{"type": "button", "action_id": action_id, "value": value,
                                             "text": {"type": "plain_text", "text": "Approve"}}]}


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as err:
        await call
    return str(err.value.response["error"])


async def test_a_wrong_token_is_invalid_auth_and_changes_nothing(slack: FakeSlackApi) -> None:
    intruder = AsyncWebClient(token="xoxb-not-the-bot", base_url=slack.base_url)
    assert await error_of(intruder.chat_postMessage(channel=CHANNEL, text="hi")) == "invalid_auth"
    assert slack.messages_in(CHANNEL) == []
    assert slack.calls_to("chat.postMessage", ok=False)[0].response["error"] == "invalid_auth"


async def test_no_token_is_not_authed(slack: FakeSlackApi) -> None:
    anonymous = AsyncWebClient(base_url=slack.base_url)
    assert await error_of(anonymous.auth_test()) == "not_authed"


async def test_the_token_never_appears_in_recorded_args(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    await client.chat_postMessage(channel=CHANNEL, text="x")
    await client.reactions_add(channel=CHANNEL, timestamp=slack.messages_in(CHANNEL)[0].ts, name="eyes")
    assert slack.bot_token not in json.dumps([c.args for c in slack.calls])


async def test_form_encoded_calls_with_the_token_in_the_body_work(slack: FakeSlackApi) -> None:
    form = {"token": slack.bot_token, "channel": CHANNEL, "text": "form", "blocks": json.dumps([section("b")])}
    async with aiohttp.ClientSession() as http, http.post(slack.base_url + "chat.postMessage", data=form) as r:
        body = await r.json()
    assert body["ok"] and body["message"]["blocks"] == [section("b")]
    assert "token" not in slack.calls[0].args


async def test_unknown_method_is_unknown_method(client: AsyncWebClient) -> None:
    assert await error_of(client.api_call("chat.teleport", json={"channel": CHANNEL})) == "unknown_method"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_channel_and_text_or_blocks_are_required(client: AsyncWebClient) -> None:
    assert await error_of(client.api_call("chat.postMessage", json={"text": "x"})) == "channel_not_found"
    assert await error_of(client.chat_postMessage(channel=CHANNEL)) == "no_text"
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="")) == "no_text"


async def test_text_over_40000_chars_is_msg_too_long(client: AsyncWebClient) -> None:
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x" * 40_001)) == "msg_too_long"
    assert (await client.chat_postMessage(channel=CHANNEL, text="x" * 40_000))["ok"]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("x")] * 51, "/blocks"),
        ([section("x" * 3001)], "/blocks/0/text/text"),
        ([button(value="v" * 2001)], "/blocks/0/elements/0/value"),
        ([button(action_id="a" * 256)], "/blocks/0/elements/0/action_id"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "/blocks/0/text/text"),
        ([{"type": "bogus"}], "/blocks/0/type"),
    ],
    ids=["51-blocks", "section-3001", "button-value-2001", "action-id-256", "header-151", "empty-text", "bogus"],
)
async def test_blocks_over_slack_limits_are_invalid_blocks(
        client: AsyncWebClient, slack: FakeSlackApi, blocks: list[dict[str, Any]], pointer: str) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in m for m in err.value.response["response_metadata"]["messages"])
    assert slack.messages_in(CHANNEL) == []


async def test_blocks_exactly_at_the_limits_are_accepted(client: AsyncWebClient) -> None:
    at_limit = [section("x" * 3000), button(action_id="a" * 255, value="v" * 2000)] + [section("y")] * 48
    assert (await client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=at_limit))["ok"]


async def test_update_and_ephemeral_check_blocks_too(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="ok")
    too_long = [section("x" * 3001)]
    update = client.chat_update(channel=CHANNEL, ts=posted["ts"], text="t", blocks=too_long)
    assert await error_of(update) == "invalid_blocks"
    ephemeral = client.chat_postEphemeral(channel=CHANNEL, user="U02BOB", text="t", blocks=too_long)
    assert await error_of(ephemeral) == "invalid_blocks"
