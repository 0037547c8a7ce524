"""Sends requests to the bot's real HTTP endpoint exactly as Slack does: same bodies, same headers, real signatures.

The bot cannot tell SlackDelivery from Slack: `v0=` + HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}") in
X-Slack-Signature (slack_sdk.signature.SignatureVerifier's scheme), JSON bodies for events, form bodies for slash
commands and `payload=` form bodies for interactivity. Linked to a FakeSlackApi, it mints trigger ids and
response_urls the fake serves, fills clicks from the real message's buttons, and closes modals the way Slack does
after a view_submission answer.

    async with SlackDelivery(secret, events_url, slack=fake) as slack_side:
        status, body = await slack_side.send_slash_command("run ops_audit check", "U01ALICE", "C01GENERAL")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any, NamedTuple
from urllib.parse import urlencode

import aiohttp

from sandbox.fake_slack import FakeSlackApi
from sandbox.payloads import (
    SlackApp,
    app_mention_event,
    block_actions_payload,
    event_envelope,
    find_action,
    message_event,
    slash_command_form,
    view_submission_payload,
)
from sandbox.workspace import View

__all__ = ["DEFAULT_SIGNING_SECRET", "DeliveryResult", "SlackDelivery", "sign"]

DEFAULT_SIGNING_SECRET = "sandbox-signing-secret-not-for-production"
FORM = "application/x-www-form-urlencoded"


class DeliveryResult(NamedTuple):
    """What the bot answered: HTTP status and body text (ack bodies, view_submission response_action JSON)."""

    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature over the raw body bytes."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDelivery:
    """Slack's side of the bot's request URL. Every send_* takes `forge_signature` and `age_seconds` knobs."""

    def __init__(self, signing_secret: str = DEFAULT_SIGNING_SECRET,
                 events_url: str = "http://127.0.0.1:3000/slack/events", *, slack: FakeSlackApi | None = None,
                 app: SlackApp | None = None, timeout: float = 30.0) -> None:
        self._secret = signing_secret
        self.events_url = events_url
        self.slack = slack
        if app is None and slack is not None:
            ws = slack.workspace
            app = SlackApp(team_id=ws.team_id, team_domain=ws.team_domain, api_app_id=ws.app_id,
                           bot_user_id=ws.bot_user.id)
        self.app = app or SlackApp()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"SlackDelivery(events_url={self.events_url!r})"

    async def __aenter__(self) -> SlackDelivery:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # Events API --------------------------------------------------------------------------------------------------
    async def send_event(self, event: dict[str, Any], event_id: str | None = None, retry_num: int | None = None,
                         retry_reason: str | None = None, team_id: str | None = None, *,
                         forge_signature: bool = False, age_seconds: float = 0) -> DeliveryResult:
        """One Events API delivery; resend with the same event_id and retry_num=1.. to act out Slack's retries."""
        body = event_envelope(self.app, event, event_id=event_id, team_id=team_id)
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return await self.send_raw(json.dumps(body).encode(), "application/json", headers,
                                   forge_signature=forge_signature, age_seconds=age_seconds)

    async def say(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None, *,
                  event_id: str | None = None) -> tuple[DeliveryResult, dict[str, Any]]:
        """A person writes a message: it lands in the fake (when linked) and its event goes to the bot.

        An `app_mention` when the text mentions the bot in a channel, else a `message` (DMs are messages)."""
        ts = None
        if self.slack is not None:
            ts = self.slack.post_user_message(channel_id, user_id, text, thread_ts).ts
        mention = f"<@{self.app.bot_user_id}>" in text and not channel_id.startswith("D")
        build = app_mention_event if mention else message_event
        event = build(user_id, channel_id, text, ts=ts, thread_ts=thread_ts, team=self.app.team_id)
        return await self.send_event(event, event_id=event_id), event

    async def send_url_verification(self, challenge: str = "sandbox-challenge") -> DeliveryResult:
        body = {"token": self.app.verification_token, "challenge": challenge, "type": "url_verification"}
        return await self.send_raw(json.dumps(body).encode(), "application/json")

    # slash commands ----------------------------------------------------------------------------------------------
    async def send_slash_command(self, text: str, user_id: str, channel_id: str, command: str = "/baton", *,
                                 trigger_id: str | None = None, response_url: str | None = None,
                                 user_name: str | None = None, channel_name: str | None = None,
                                 team_id: str | None = None, forge_signature: bool = False,
                                 age_seconds: float = 0) -> DeliveryResult:
        form = slash_command_form(
            self.app, text=text, user_id=user_id, channel_id=channel_id, command=command,
            trigger_id=trigger_id or self._trigger(user_id),
            response_url=response_url or self._response_url(channel_id, user_id, None, None),
            user_name=user_name or self._user_name(user_id), channel_name=channel_name, team_id=team_id)
        return await self.send_raw(urlencode(form).encode(), FORM, forge_signature=forge_signature,
                                   age_seconds=age_seconds)

    # interactivity -----------------------------------------------------------------------------------------------
    async def send_block_actions(self, *, user_id: str, action_id: str, channel_id: str | None = None,
                                 message_ts: str | None = None, view_id: str | None = None,
                                 value: str | None = None, block_id: str | None = None,
                                 message: dict[str, Any] | None = None, thread_ts: str | None = None,
                                 is_ephemeral: bool = False, trigger_id: str | None = None,
                                 response_url: str | None = None, team_id: str | None = None,
                                 forge_signature: bool = False, age_seconds: float = 0) -> DeliveryResult:
        """A click on `action_id` in a message (channel_id + message_ts) or a modal (view_id).

        Linked to the fake, the button's value, block_id and the message come from the fake's state."""
        view: dict[str, Any] | None = None
        blocks: list[dict[str, Any]] = []
        if self.slack is not None:
            ws = self.slack.workspace
            if view_id is not None:
                view = ws.view_to_slack(self.slack.view(view_id))
                blocks = view["blocks"]
            elif channel_id is not None and message_ts is not None:
                found = ws.find(channel_id, message_ts)
                eph = next((e for e in ws.ephemerals if e.message_ts == message_ts), None)
                if found is not None:
                    message = message or found.to_slack(ws.team_id, ws.app_id)
                    thread_ts = thread_ts or found.thread_ts
                    blocks = found.blocks
                elif eph is not None:
                    is_ephemeral, blocks, thread_ts = True, eph.blocks, thread_ts or eph.thread_ts
        elif message is not None:
            blocks = message.get("blocks", [])
        hit = find_action(blocks, action_id)
        element = hit[1] if hit else None
        if hit is None and self.slack is not None and value is None:
            raise LookupError(f"no element with action_id {action_id!r} in the target's blocks")
        payload = block_actions_payload(
            self.app, user_id=user_id, action_id=action_id,
            value=value if value is not None else (element or {}).get("value"),
            block_id=block_id or (hit[0] if hit else secrets.token_hex(2)), element=element,
            trigger_id=trigger_id or self._trigger(user_id),
            response_url=None if view_id else (response_url or self._response_url(
                channel_id or "", user_id, message_ts, thread_ts)),
            channel_id=channel_id, message=message, message_ts=message_ts, thread_ts=thread_ts,
            is_ephemeral=is_ephemeral, view=view, user_name=self._user_name(user_id), team_id=team_id)
        return await self._send_payload(payload, forge_signature, age_seconds)

    async def send_feedback(self, *, user_id: str, channel_id: str, message_ts: str, rating: str = "positive",
                            action_ts: str | None = None, forge_signature: bool = False,
                            age_seconds: float = 0) -> DeliveryResult:
        """A click on the thumbs up (`rating="positive"`) or down (`"negative"`) of the feedback buttons in a
        message's context_actions block, linked to the fake. Slack's action is the element's (type
        feedback_buttons, its action_id) with the clicked button's text and value. `action_ts` repeats a click
        (a redelivery) when given."""
        if self.slack is None:
            raise ValueError("send_feedback needs a linked fake")
        ws = self.slack.workspace
        found = ws.find(channel_id, message_ts)
        if found is None:
            raise LookupError(f"no message {message_ts} in {channel_id}")
        hit = next(((str(b.get("block_id") or ""), e) for b in found.blocks if b.get("type") == "context_actions"
                    for e in b.get("elements") or [] if e.get("type") == "feedback_buttons"), None)
        if hit is None:
            raise LookupError(f"no feedback buttons in message {message_ts}")
        block_id, element = hit
        button = element[f"{rating}_button"]
        payload = block_actions_payload(
            self.app, user_id=user_id, action_id=str(element.get("action_id") or ""), value=button["value"],
            block_id=block_id or secrets.token_hex(2), element={"type": "feedback_buttons", "text": button["text"]},
            trigger_id=self._trigger(user_id),
            response_url=self._response_url(channel_id, user_id, message_ts, found.thread_ts),
            channel_id=channel_id, message=found.to_slack(ws.team_id, ws.app_id), message_ts=message_ts,
            thread_ts=found.thread_ts, user_name=self._user_name(user_id))
        if action_ts is not None:
            payload["actions"][0]["action_ts"] = action_ts
        return await self._send_payload(payload, forge_signature, age_seconds)

    async def send_view_submission(self, *, user_id: str, view_id: str | None = None,
                                   view: dict[str, Any] | None = None, values: dict[str, Any] | None = None,
                                   trigger_id: str | None = None, team_id: str | None = None,
                                   forge_signature: bool = False, age_seconds: float = 0) -> DeliveryResult:
        """Submit a modal: `values` is {block_id: {action_id: text}} (or Slack-shaped entries).

        Linked to the fake, `view_id` picks the opened view, and the bot's answer is applied like Slack:
        empty 200 or response_action=clear closes it, update replaces it, push stacks one, errors keep it open."""
        stored: View | None = None
        if view is None:
            if self.slack is None or view_id is None:
                raise ValueError("send_view_submission needs view=... or a linked fake and view_id")
            stored = self.slack.view(view_id)
            view = self.slack.workspace.view_to_slack(stored)
        payload = view_submission_payload(self.app, user_id=user_id, view=view, values=values or {},
                                          trigger_id=trigger_id or self._trigger(user_id),
                                          user_name=self._user_name(user_id), team_id=team_id)
        result = await self._send_payload(payload, forge_signature, age_seconds)
        if stored is not None and result.status == 200:
            self._apply_view_answer(stored, result)
        return result

    def _apply_view_answer(self, view: View, result: DeliveryResult) -> None:
        assert self.slack is not None
        ws = self.slack.workspace
        try:
            answer = result.json() or {}
        except ValueError:
            answer = {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action is None:
            ws.close_view(view.id)
        elif action == "clear":
            for open_view in ws.open_views_for(view.user or ""):
                ws.close_view(open_view.id)
        elif action == "update" and isinstance(answer.get("view"), dict):
            ws.replace_view(view, answer["view"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            ws.open_view(View(ws.new_id("V"), "modal", view.user, answer["view"], ws.new_hash(),
                              root_view_id=view.root_view_id or view.id, previous_view_id=view.id), "view_pushed")

    async def _send_payload(self, payload: dict[str, Any], forge_signature: bool, age_seconds: float) -> DeliveryResult:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.send_raw(body, FORM, forge_signature=forge_signature, age_seconds=age_seconds)

    # the wire ----------------------------------------------------------------------------------------------------
    async def send_raw(self, body: bytes, content_type: str, headers: dict[str, str] | None = None, *,
                       forge_signature: bool = False, age_seconds: float = 0,
                       signature: str | None = None) -> DeliveryResult:
        """POST raw bytes signed like Slack; `forge_signature` signs with a wrong secret, `age_seconds` backdates."""
        timestamp = str(int(time.time() - age_seconds))
        secret = self._secret if not forge_signature else "forged-" + secrets.token_hex(8)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or sign(secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(self.events_url, data=body, headers=all_headers) as response:
            return DeliveryResult(response.status, await response.text())

    # helpers -----------------------------------------------------------------------------------------------------
    def _trigger(self, user_id: str) -> str:
        if self.slack is not None:
            return self.slack.issue_trigger(user_id)
        return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _response_url(self, channel: str, user: str, message_ts: str | None, thread_ts: str | None) -> str:
        if self.slack is not None:
            return self.slack.response_url(channel, user, message_ts=message_ts, thread_ts=thread_ts)
        kind = "actions" if message_ts else "commands"
        return f"https://hooks.slack.com/{kind}/{self.app.team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"

    def _user_name(self, user_id: str) -> str:
        if self.slack is not None and user_id in self.slack.users:
            return self.slack.users[user_id].name
        return re.sub(r"[^a-z0-9]", "", user_id.lower())
