"""SlackDelivery speaks Slack's wire formats with real signatures; the fake serves the response_urls it hands out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from signed_receiver import SIGNING_SECRET, SignedReceiver
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi
from sandbox.delivery import SlackDelivery, sign
from sandbox.payloads import app_mention_event

REFERENCE = Path(__file__).parent / "reference"
CHANNEL = "C01GENERAL"
CARD = [
    {"type": "section", "block_id": "card", "text": {"type": "mrkdwn", "text": "*Restart web-3?*"}},
    {"type": "actions", "block_id": "decide", "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": "task-1|cp-1|accept",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "reject", "style": "danger", "value": "task-1|cp-1|reject",
         "text": {"type": "plain_text", "text": "Reject"}},
    ]},
]
REASON_MODAL = {"type": "modal", "callback_id": "reject", "private_metadata": "task-1|cp-1",
                "title": {"type": "plain_text", "text": "Reject"}, "submit": {"type": "plain_text", "text": "Send"},
                "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why?"},
                            "element": {"type": "plain_text_input", "action_id": "text"}}]}


def form_of(receiver: SignedReceiver, index: int = -1) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(receiver.requests[index].body.decode(), keep_blank_values=True).items()}


def payload_of(receiver: SignedReceiver, index: int = -1) -> dict[str, Any]:
    return json.loads(form_of(receiver, index)["payload"])


def reference_keys(name: str) -> set[str]:
    return set(json.loads((REFERENCE / name).read_text()))


def test_sign_matches_slack_sdk_signature_verifier() -> None:
    body = (REFERENCE / "slash_command_signing_doc_body.form.txt").read_text().strip().encode()
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert sign(SIGNING_SECRET, "1531420618", body) == verifier.generate_signature(timestamp="1531420618", body=body)


async def test_events_are_signed_json_envelopes_that_slack_sdk_verifies(
        delivery: SlackDelivery, receiver: SignedReceiver) -> None:
    event = app_mention_event("U02BOB", CHANNEL, "<@U0BATONBOT> run ops_audit")
    status, _ = await delivery.send_event(event, event_id="Ev0001")
    got = receiver.requests[-1]
    assert status == 200 and got.valid
    assert got.headers["Content-Type"] == "application/json"
    envelope = json.loads(got.body)
    reference = json.loads((REFERENCE / "app_mention_socket_mode_envelope.json").read_text())["payload"]
    assert set(reference) <= set(envelope)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev0001"
    assert envelope["event"] == event and envelope["team_id"] == "T0SANDBOX"
    assert set(reference["event"]) <= set(envelope["event"])


async def test_retries_carry_the_same_event_id_and_slack_retry_headers(
        delivery: SlackDelivery, receiver: SignedReceiver) -> None:
    event = app_mention_event("U02BOB", CHANNEL, "<@U0BATONBOT> hi")
    await delivery.send_event(event, event_id="Ev0002")
    await delivery.send_event(event, event_id="Ev0002", retry_num=1, retry_reason="http_timeout")
    await delivery.send_event(event, event_id="Ev0002", retry_num=2, retry_reason="http_timeout")
    first, *retries = receiver.requests
    assert "X-Slack-Retry-Num" not in first.headers
    assert [r.headers["X-Slack-Retry-Num"] for r in retries] == ["1", "2"]
    assert {r.headers["X-Slack-Retry-Reason"] for r in retries} == {"http_timeout"}
    assert {json.loads(r.body)["event_id"] for r in receiver.requests} == {"Ev0002"}
    assert all(r.valid for r in receiver.requests)


async def test_a_forged_signature_and_a_six_minute_old_timestamp_are_refused(
        delivery: SlackDelivery, receiver: SignedReceiver) -> None:
    forged = await delivery.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, forge_signature=True)
    stale = await delivery.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, age_seconds=360)
    fresh = await delivery.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, age_seconds=60)
    assert (forged.status, stale.status, fresh.status) == (401, 401, 200)
    assert [r.valid for r in receiver.requests] == [False, False, True]


async def test_slash_commands_are_form_bodies_like_slacks(delivery: SlackDelivery, receiver: SignedReceiver) -> None:
    await delivery.send_slash_command("run ops_audit check the web fleet", "U01ALICE", CHANNEL)
    got = receiver.requests[-1]
    assert got.valid and got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = form_of(receiver)
    reference = parse_qs((REFERENCE / "slash_command_signing_doc_body.form.txt").read_text().strip(),
                         keep_blank_values=True)
    assert set(reference) <= set(form)
    assert form["command"] == "/baton" and form["text"] == "run ops_audit check the web fleet"
    assert form["user_id"] == "U01ALICE" and form["user_name"] == "alice" and form["channel_id"] == CHANNEL
    assert form["trigger_id"] and form["response_url"].startswith(delivery.slack.root_url)  # type: ignore[union-attr]


async def test_response_url_posts_become_ephemeral_or_channel_messages(
        delivery: SlackDelivery, receiver: SignedReceiver, slack: FakeSlackApi) -> None:
    await delivery.send_slash_command("help", "U02BOB", CHANNEL)
    url = form_of(receiver)["response_url"]
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"text": "Usage: /baton run AGENT REQUEST"}) as r:
            assert r.status == 200
        async with http.post(url, json={"text": "Started task t-1", "response_type": "in_channel"}) as r:
            assert r.status == 200
        async with http.post(slack.root_url + "response/unknown", json={"text": "x"}) as r:
            assert r.status == 404
    assert [e.text for e in slack.ephemerals(user="U02BOB")] == ["Usage: /baton run AGENT REQUEST"]
    assert [m.text for m in slack.messages_in(CHANNEL)] == ["Started task t-1"]
    assert [c.ok for c in slack.calls_to("response_url")] == [True, True, False]


async def test_block_actions_click_the_real_button_of_the_real_message(
        delivery: SlackDelivery, receiver: SignedReceiver, slack: FakeSlackApi, client: AsyncWebClient) -> None:
    parent = slack.post_user_message(CHANNEL, "U02BOB", "/baton run ops_audit")
    card = await client.chat_postMessage(channel=CHANNEL, thread_ts=parent.ts, text="Approve?", blocks=CARD)
    status, _ = await delivery.send_block_actions(user_id="U01ALICE", action_id="approve", channel_id=CHANNEL,
                                                  message_ts=card["ts"])
    assert status == 200 and receiver.requests[-1].valid
    payload = payload_of(receiver)
    assert set(reference_keys("block_actions_bolt_test_message_ephemeral.json")) <= set(payload)
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U01ALICE"
    assert payload["container"] == {"type": "message", "message_ts": card["ts"], "channel_id": CHANNEL,
                                    "is_ephemeral": False, "thread_ts": parent.ts}
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"]) == ("approve", "decide", "task-1|cp-1|accept")
    assert action["style"] == "primary" and payload["message"]["blocks"] == CARD

    async with aiohttp.ClientSession() as http, http.post(payload["response_url"], json={
            "replace_original": True, "text": "Approved by <@U01ALICE>"}) as r:
        assert r.status == 200
    assert slack.message(CHANNEL, card["ts"]).text == "Approved by <@U01ALICE>"


async def test_view_submission_sends_typed_state_and_closes_the_modal_like_slack(
        delivery: SlackDelivery, receiver: SignedReceiver, slack: FakeSlackApi, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id=slack.issue_trigger("U01ALICE"), view=REASON_MODAL)
    view_id = opened["view"]["id"]
    receiver.answer = json.dumps({"response_action": "errors", "errors": {"reason": "Say why"}})
    rejected = await delivery.send_view_submission(user_id="U01ALICE", view_id=view_id, values={"reason": {"text": ""}})
    assert rejected.json()["response_action"] == "errors" and slack.view(view_id).is_open
    receiver.answer = ""
    await delivery.send_view_submission(user_id="U01ALICE", view_id=view_id,
                                        values={"reason": {"text": "too risky"}})
    payload = payload_of(receiver)
    assert set(reference_keys("view_submission_bolt_test.json")) <= set(payload)
    assert payload["type"] == "view_submission" and payload["view"]["id"] == view_id
    assert payload["view"]["callback_id"] == "reject" and payload["view"]["private_metadata"] == "task-1|cp-1"
    assert payload["view"]["state"]["values"] == {"reason": {"text": {"type": "plain_text_input",
                                                                     "value": "too risky"}}}
    assert not slack.view(view_id).is_open


async def test_say_puts_the_message_in_the_fake_and_sends_the_matching_event(
        delivery: SlackDelivery, receiver: SignedReceiver, slack: FakeSlackApi) -> None:
    (status, _), event = await delivery.say("U02BOB", CHANNEL, "<@U0BATONBOT> audit the fleet")
    assert status == 200 and event["type"] == "app_mention"
    assert slack.messages_in(CHANNEL)[-1].ts == event["ts"]
    _, dm = await delivery.say("U02BOB", "D0BOB", "status")
    assert dm["type"] == "message" and dm["channel_type"] == "im"


async def test_clicks_on_ephemeral_messages_can_replace_or_delete_them(
        delivery: SlackDelivery, receiver: SignedReceiver, slack: FakeSlackApi, client: AsyncWebClient) -> None:
    eph = await client.chat_postEphemeral(channel=CHANNEL, user="U02BOB", text="Approve?", blocks=CARD)
    await delivery.send_block_actions(user_id="U02BOB", action_id="reject", channel_id=CHANNEL,
                                      message_ts=eph["message_ts"])
    payload = payload_of(receiver)
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    assert payload["actions"][0]["value"] == "task-1|cp-1|reject"
    async with aiohttp.ClientSession() as http:
        async with http.post(payload["response_url"], json={"replace_original": True, "text": "Rejected"}) as r:
            assert r.status == 200
        assert [e.text for e in slack.ephemerals(user="U02BOB")] == ["Rejected"]
        async with http.post(payload["response_url"], json={"delete_original": True}) as r:
            assert r.status == 200
    assert slack.ephemerals(user="U02BOB") == []


async def test_a_click_on_an_action_id_the_message_lacks_is_a_test_error(
        delivery: SlackDelivery, client: AsyncWebClient) -> None:
    card = await client.chat_postMessage(channel=CHANNEL, text="Approve?", blocks=CARD)
    with pytest.raises(LookupError, match="no element"):
        await delivery.send_block_actions(user_id="U01ALICE", action_id="nope", channel_id=CHANNEL,
                                          message_ts=card["ts"])
