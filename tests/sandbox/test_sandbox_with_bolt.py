"""A real slack-bolt AsyncApp cannot tell the sandbox from Slack: it verifies SlackDelivery's requests, parses them,
and its client, `say`, `respond` and `views_open` all land in the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from signed_receiver import SIGNING_SECRET
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi
from sandbox.delivery import SlackDelivery

CHANNEL = "C01GENERAL"
MODAL = {"type": "modal", "callback_id": "reason", "title": {"type": "plain_text", "text": "Reject"},
         "submit": {"type": "plain_text", "text": "Send"},
         "blocks": [{"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Why?"},
                     "element": {"type": "plain_text_input", "action_id": "text"}}]}
CARD = [{"type": "actions", "block_id": "decide", "elements": [
    {"type": "button", "action_id": "reject", "value": "cp-1", "text": {"type": "plain_text", "text": "Reject"}}]}]


@pytest.fixture
async def bolt(slack: FakeSlackApi) -> AsyncIterator[tuple[str, list[tuple[str, Any]]]]:
    seen: list[tuple[str, Any]] = []
    app = AsyncApp(signing_secret=SIGNING_SECRET,
                   client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url))

    @app.command("/baton")
    async def command(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(("command", body["text"]))
        await respond(text=f"running: {body['text']}")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        seen.append(("mention", event["text"]))
        await say(text="on it", thread_ts=event["ts"])

    @app.action("reject")
    async def reject(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(("action", body["actions"][0]["value"]))
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("reason")
    async def reason(ack: Any, view: dict[str, Any]) -> None:
        seen.append(("view", view["state"]["values"]["why"]["text"]["value"]))
        await ack()

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", seen
    await runner.cleanup()


async def test_bolt_handles_every_kind_of_request_the_sandbox_sends(
        slack: FakeSlackApi, bolt: tuple[str, list[tuple[str, Any]]], client: AsyncWebClient) -> None:
    url, seen = bolt
    async with SlackDelivery(SIGNING_SECRET, url, slack=slack) as sender:
        assert (await sender.send_slash_command("run ops_audit web", "U02BOB", CHANNEL)).status == 200
        await slack.wait_for(lambda: slack.ephemerals(user="U02BOB"))
        assert slack.ephemerals(user="U02BOB")[0].text == "running: run ops_audit web"

        (result, event) = await sender.say("U02BOB", CHANNEL, "<@U0BATONBOT> audit please")
        assert result.status == 200
        replies = await slack.wait_for(lambda: slack.messages_in(CHANNEL, event["ts"]))
        assert replies[0].text == "on it"

        card = await client.chat_postMessage(channel=CHANNEL, text="Approve?", blocks=CARD)
        assert (await sender.send_block_actions(user_id="U01ALICE", action_id="reject", channel_id=CHANNEL,
                                                message_ts=card["ts"])).status == 200
        opened = await slack.wait_for(lambda: slack.views(user="U01ALICE", open_only=True))
        submitted = await sender.send_view_submission(user_id="U01ALICE", view_id=opened[0].id,
                                                      values={"why": {"text": "too risky"}})
        assert submitted.status == 200 and not slack.view(opened[0].id).is_open

        forged = await sender.send_slash_command("run ops_audit web", "U02BOB", CHANNEL, forge_signature=True)
        stale = await sender.send_slash_command("run ops_audit web", "U02BOB", CHANNEL, age_seconds=360)
        assert (forged.status, stale.status) == (401, 401)

    assert seen == [("command", "run ops_audit web"), ("mention", "<@U0BATONBOT> audit please"),
                    ("action", "cp-1"), ("view", "too risky")]
    assert slack.calls_to("auth.test", ok=True)  # bolt authorised itself against the fake
