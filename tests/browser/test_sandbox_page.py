"""The sandbox page in real headless Chromium, against a small real slack-bolt app: what a person does in the page
reaches the app as Slack's own requests, and what the app does through the Web API shows up live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from browser_helpers import (
    OpenAs,
    assert_no_page_errors,
    channel_messages,
    switch_user,
    thread_messages,
    type_and_send,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.web_run import Sandbox

CHANNEL = "C02OPS"
CARD = [
    {"type": "header", "text": {"type": "plain_text", "text": "Restart web-1?"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "web-1 answers *502* on `/health` &lt;script&gt;"},
     "fields": [{"type": "mrkdwn", "text": "*Host*\nweb-1"}, {"type": "mrkdwn", "text": "*Owner*\n<@U03CAROL>"}]},
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": ":raised_hand: approvers: <!subteam^S01APPROVERS>"}]},
    {"type": "actions", "block_id": "decide", "elements": [
        {"type": "button", "action_id": "approve", "value": "cp-1", "style": "primary",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "reject", "value": "cp-1", "style": "danger",
         "text": {"type": "plain_text", "text": "Reject"}},
        {"type": "button", "action_id": "cancel", "value": "task-1", "text": {"type": "plain_text", "text": "Cancel"},
         "confirm": {"title": {"type": "plain_text", "text": "Cancel this task?"},
                     "text": {"type": "plain_text", "text": "The agent stops."},
                     "confirm": {"type": "plain_text", "text": "Cancel task"},
                     "deny": {"type": "plain_text", "text": "Keep running"}}}]},
]
MODAL = {"type": "modal", "callback_id": "reason", "title": {"type": "plain_text", "text": "Reject"},
         "submit": {"type": "plain_text", "text": "Reject"}, "private_metadata": "cp-1",
         "blocks": [{"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Reason"},
                     "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}}]}


@dataclass
class StandIn:
    """What the stand-in app received, in order."""

    seen: list[tuple[str, str, Any]] = field(default_factory=list)


@pytest.fixture
async def standin(sandbox: Sandbox) -> AsyncIterator[StandIn]:
    """A real slack-bolt AsyncApp verifying the sandbox's signatures, on its own port, wired to the sandbox."""
    record = StandIn()
    app = AsyncApp(signing_secret=sandbox.secrets.signing_secret,
                   client=AsyncWebClient(token=sandbox.secrets.bot_token, base_url=sandbox.api_url))

    @app.command("/baton")
    async def command(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        record.seen.append(("command", body["user_id"], body["text"]))
        if body["text"] == "card":
            await client.chat_postMessage(channel=body["channel_id"], text="Decision needed", blocks=CARD)
        await respond(text=f"running: `{body['text']}`")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        record.seen.append(("mention", event["user"], event["text"]))
        await say(text=f"on it, <@{event['user']}>", thread_ts=event["ts"])

    @app.event("message")
    async def message(event: dict[str, Any]) -> None:
        record.seen.append(("message", event["user"], event["text"]))

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        record.seen.append(("approve", user, body["actions"][0]["value"]))
        decided = [*CARD[:4], {"type": "section", "text": {"type": "mrkdwn", "text": f"Approved by <@{user}>"}}]
        await client.chat_update(channel=body["channel"]["id"], ts=body["container"]["message_ts"],
                                 text="Approved", blocks=decided)

    @app.action("reject")
    async def reject(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        record.seen.append(("reject", body["user"]["id"], body["actions"][0]["value"]))
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.action("cancel")
    async def cancel(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        record.seen.append(("cancel", body["user"]["id"], body["actions"][0]["value"]))
        await respond(text="Cancelled task-1.")

    @app.view("reason")
    async def reason(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        text = view["state"]["values"]["why"]["text"]["value"]
        if not text:
            await ack(response_action="errors", errors={"why": "Say why."})
            return
        await ack()
        record.seen.append(("reason", body["user"]["id"], text))
        await client.chat_postEphemeral(channel=CHANNEL, user=body["user"]["id"], text=f"Rejected: {text}")

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sandbox.connect_bot(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events")
    yield record
    await runner.cleanup()


async def test_a_slash_command_typed_in_the_page_reaches_the_app_and_its_ephemeral_reply_shows_only_to_the_sender(
        open_as: OpenAs, standin: StandIn) -> None:
    page = await open_as("U02BOB")
    await type_and_send(page, "/baton run ops_audit check the web fleet")
    reply = channel_messages(page).filter(has_text="running: run ops_audit check the web fleet")
    await reply.wait_for()
    assert await reply.get_attribute("data-ephemeral") == "true"
    assert "Only visible to you" in await reply.inner_text()
    assert standin.seen == [("command", "U02BOB", "run ops_audit check the web fleet")]
    assert await channel_messages(page).count() == 1, "a slash command is not posted as a message"

    await switch_user(page, "U01ALICE")
    assert await channel_messages(page).filter(has_text="running:").count() == 0
    assert_no_page_errors(page)


async def test_a_mention_is_sent_as_app_mention_and_the_reply_opens_in_a_thread_beside_the_channel(
        open_as: OpenAs, standin: StandIn) -> None:
    page = await open_as("U03CAROL")
    await type_and_send(page, "@baton audit the web tier please")
    await page.locator("#messages .replies").wait_for()
    assert standin.seen == [("mention", "U03CAROL", "<@U0BATONBOT> audit the web tier please")]
    mine = channel_messages(page).filter(has_text="audit the web tier please")
    assert "@Baton" in await mine.inner_text()

    await page.click("#messages .replies")
    await page.locator("#thread").wait_for(state="visible")
    reply = thread_messages(page).filter(has_text="on it")
    await reply.wait_for()
    assert "@Carol Petit" in await reply.inner_text()
    assert await page.locator("#messages").is_visible(), "the channel stays open beside the thread"

    await type_and_send(page, "thanks @bob", in_thread=True)
    await thread_messages(page).filter(has_text="thanks").wait_for()
    await page.wait_for_function("document.querySelectorAll('#thread-messages .message').length >= 3")
    assert ("message", "U03CAROL", "thanks <@U02BOB>") in standin.seen
    assert_no_page_errors(page)


async def test_block_kit_renders_and_a_click_arrives_as_block_actions_from_the_current_user_then_edits_in_place(
        open_as: OpenAs, standin: StandIn) -> None:
    page = await open_as("U01ALICE")
    await type_and_send(page, "/baton card")
    card = channel_messages(page).filter(has=page.locator(".bk-header", has_text="Restart web-1?"))
    await card.wait_for()
    assert await card.locator(".bk-fields .bk-field").count() == 2
    assert await card.locator(".bk-divider").count() == 1
    assert await card.locator("b", has_text="502").count() == 1
    assert await card.locator("code", has_text="/health").count() == 1
    assert "<script>" in await card.locator(".bk-text").inner_text(), "escaped text is shown, never run"
    assert await card.locator(".mention", has_text="@Carol Petit").count() == 1
    assert await card.locator(".mention", has_text="@approvers").count() == 1
    assert await card.locator("button.bk-primary", has_text="Approve").count() == 1
    assert await card.locator("button.bk-danger", has_text="Reject").count() == 1
    ts = await card.get_attribute("data-ts")

    await switch_user(page, "U03CAROL")
    await page.locator(f'.message[data-ts="{ts}"] button', has_text="Approve").click()
    edited = page.locator(f'.message[data-ts="{ts}"]')
    await edited.filter(has_text="Approved by @Carol Petit").wait_for()
    assert await edited.locator("button").count() == 0
    assert await edited.locator(".edited").count() == 1
    assert await page.locator(".message .bk-header", has_text="Restart web-1?").count() == 1, "edited in place"
    assert ("approve", "U03CAROL", "cp-1") in standin.seen
    assert_no_page_errors(page)


async def test_a_modal_opens_on_click_refuses_an_empty_reason_and_submits_the_typed_reason(
        open_as: OpenAs, standin: StandIn, sandbox: Sandbox) -> None:
    page = await open_as("U01ALICE")
    await type_and_send(page, "/baton card")
    card = channel_messages(page).filter(has=page.locator(".bk-header", has_text="Restart web-1?"))
    await card.locator("button", has_text="Reject").click()
    modal = page.locator(".modal[data-callback-id=reason]")
    await modal.wait_for()
    assert await modal.locator("h2").inner_text() == "Reject"

    await modal.locator(".modal-submit").click()
    await modal.locator(".bk-error", has_text="Say why.").wait_for()
    assert [s for s in standin.seen if s[0] == "reason"] == []

    await modal.locator("textarea[data-block-id=why]").fill("not during business hours")
    await modal.locator(".modal-submit").click()
    await modal.wait_for(state="detached")
    await channel_messages(page).filter(has_text="Rejected: not during business hours").wait_for()
    assert ("reason", "U01ALICE", "not during business hours") in standin.seen
    assert not sandbox.slack.views(user="U01ALICE", open_only=True)
    assert_no_page_errors(page)


async def test_a_modal_is_shown_only_to_the_person_who_opened_it(open_as: OpenAs, standin: StandIn) -> None:
    page = await open_as("U01ALICE")
    await type_and_send(page, "/baton card")
    card = channel_messages(page).filter(has=page.locator(".bk-header", has_text="Restart web-1?"))
    await card.locator("button", has_text="Reject").click()
    await page.locator(".modal").wait_for()
    await switch_user(page, "U02BOB")
    assert await page.locator(".modal").count() == 0
    await switch_user(page, "U01ALICE")
    await page.locator(".modal").wait_for()
    await page.locator(".modal-close").click()
    await page.locator(".modal").wait_for(state="detached")


async def test_the_page_catches_up_after_its_live_connection_drops(
        open_as: OpenAs, standin: StandIn, sandbox: Sandbox) -> None:
    page = await open_as("U02BOB")
    before = int(await page.get_attribute("body", "data-snapshots") or 0)
    await sandbox.web.disconnect_all()
    client = AsyncWebClient(token=sandbox.secrets.bot_token, base_url=sandbox.api_url)
    await client.chat_postMessage(channel=CHANNEL, text="posted while the page was away")
    await page.wait_for_function(f"Number(document.body.dataset.snapshots) > {before}")
    await channel_messages(page).filter(has_text="posted while the page was away").wait_for()
    await page.wait_for_selector("body[data-connected=true]")
    assert_no_page_errors(page)


async def test_a_button_with_a_confirm_dialog_sends_the_click_only_once_confirmed(
        open_as: OpenAs, standin: StandIn) -> None:
    page = await open_as("U02BOB")
    await type_and_send(page, "/baton card")
    card = channel_messages(page).filter(has=page.locator(".bk-header", has_text="Restart web-1?"))
    await card.locator("button", has_text="Cancel").click()
    dialog = page.locator(".confirm")
    await dialog.filter(has_text="Cancel this task?").wait_for()
    await dialog.locator("button", has_text="Keep running").click()
    await dialog.wait_for(state="detached")
    await card.locator("button", has_text="Cancel").click()
    await dialog.locator("button", has_text="Cancel task").click()
    await channel_messages(page).filter(has_text="Cancelled task-1.").wait_for()
    assert [s for s in standin.seen if s[0] == "cancel"] == [("cancel", "U02BOB", "task-1")]
    assert_no_page_errors(page)
