"""Buttons: decisions on checkpoint cards, Cancel on the status message, Retry on a failed task's final message.

Each click is acked at once; refusals are ephemeral and change nothing. Edit, Reject and Respond open a modal
(the decision is sent when it is submitted, see views.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from bot.blocks import ButtonRef, edit_modal, reject_modal, respond_modal
from bot.blocks.ids import ACTION_CANCEL, ACTION_DECIDE_PATTERN, ACTION_RETRY, decision_from_action_id
from bot.commands import RunCommand
from bot.decisions import check_decision, decide
from bot.operations import cancel, run
from bot.origin import SlackOrigin
from bot.services import BotServices
from contracts.approval import may_cancel

ButtonAct = Callable[[ButtonRef, str, str | None], Awaitable[str]]
"""What a button does, given its reference, the clicker and the thread: returns the answer for the clicker."""

__all__ = ["register", "tell"]

log = logging.getLogger(__name__)
_MODALS = {"edit": edit_modal, "reject": reject_modal, "respond": respond_modal}


async def tell(client: AsyncWebClient, channel: str | None, user: str, text: str, thread_ts: str | None = None) -> None:
    """An ephemeral answer to one person; a failure to answer is logged, never raised into the handler."""
    if not channel:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except Exception:
        log.exception("Could not tell %s in %s", user, channel)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the message whose button was clicked."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts") or message.get("ts"), message.get("thread_ts")


def register(app: AsyncApp, services: BotServices) -> None:
    @app.action(ACTION_DECIDE_PATTERN)
    async def on_decide(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        channel, message_ts, thread_ts = _where(body)
        kind = decision_from_action_id(action["action_id"])
        try:
            ref = ButtonRef.decode(action.get("value", ""))
        except ValueError:
            await tell(client, channel, user, "This button is not one of Baton's.", thread_ts)
            return
        if kind is None:
            return
        try:
            check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
            if check.refusal is not None or check.checkpoint is None:
                await tell(client, channel, user, check.refusal or "This is no longer pending.", thread_ts)
                return
            if kind in _MODALS:
                modal_ref = ButtonRef(ref.task_id, ref.checkpoint_id, channel, thread_ts or message_ts)
                await client.views_open(trigger_id=body["trigger_id"], view=_MODALS[kind](modal_ref, check.checkpoint))
                return
            answer = await decide(services, ref.task_id, check, kind, user)
        except BatonError as exc:
            answer = str(exc)
        await tell(client, channel, user, answer, thread_ts)

    async def answer_button(
        body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, act: ButtonAct
    ) -> None:
        """Decode the button, run `act`, and tell the clicker the outcome (privately), whatever happened."""
        user = body["user"]["id"]
        channel, _, thread_ts = _where(body)
        try:
            answer = await act(ButtonRef.decode(action.get("value", "")), user, thread_ts)
        except ValueError:
            answer = "This button is not one of Baton's."
        except BatonError as exc:
            answer = str(exc)
        await tell(client, channel, user, answer, thread_ts)

    async def cancel_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        return (await cancel(services, ref.task_id, "cancel button", user)).text

    async def retry_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        old = await services.gateway.status(ref.task_id)
        if not may_cancel(old.approval, old.requester.user_id, user):
            return f"Only the requester (<@{old.requester.user_id}>) or an admin can retry this task."
        requester = old.requester
        origin = SlackOrigin(team_id=requester.team_id or "", channel_id=requester.channel_id or "",
                             user_id=requester.user_id, user_name=requester.user_name,
                             identity_ts=ref.task_id,
                             thread_ts=requester.thread_ts or old.slack.status_ts or thread_ts)
        # One retry per failed task, however often Retry is clicked: the key names the task it retries.
        reply = await run(services, RunCommand(old.agent, old.request_text), origin,
                          parameters=old.parameters, idempotency_key=f"retry:{ref.task_id}")
        return reply.text

    @app.action(ACTION_CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await answer_button(body, action, client, cancel_task)

    @app.action(ACTION_RETRY)
    async def on_retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await answer_button(body, action, client, retry_task)
