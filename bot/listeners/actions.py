"""Buttons: decisions on checkpoint cards, Cancel on the status message, Retry on a failed task's final message.

Each click is read, then acked at once; refusals are ephemeral and change nothing. A click that does not say who
clicked is answered "I could not read that" through its response_url. Edit, Reject and Respond open a modal (the
decision is sent when it is submitted, see views.py). After the ack every outcome is told to the clicker and nothing
escapes (bolt would drop the ack).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from bot.blocks import ButtonRef, edit_modal, reject_modal, respond_modal, safe_blocks
from bot.blocks.ids import ACTION_CANCEL, ACTION_DECIDE_PATTERN, ACTION_RETRY, decision_from_action_id
from bot.decisions import check_decision, decide
from bot.listeners.reading import COULD_NOT_READ, dig, slack_id, text_field, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_privately, tell
from bot.operations import cancel, retry
from bot.services import BotServices
from contracts import DecisionKind

ButtonAct = Callable[[ButtonRef, str, str | None], Awaitable[str]]
"""What a button does, given its reference, the clicker and the thread: returns the answer for the clicker."""
ButtonListener = Callable[[AsyncAck, dict[str, Any], dict[str, Any], AsyncWebClient], Awaitable[None]]

__all__ = ["register"]

log = logging.getLogger(__name__)
_MODALS = {"edit": edit_modal, "reject": reject_modal, "respond": respond_modal}
NOT_OURS = "This button is not one of Baton's."
_MAX_TRIGGER = 255


def _where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the message whose button was clicked; None for what the click lacks."""
    channel = slack_id(dig(body, "container", "channel_id")) or slack_id(dig(body, "channel", "id"))
    message_ts = text_field(dig(body, "container", "message_ts"), 64) or text_field(dig(body, "message", "ts"), 64)
    return channel, message_ts, text_field(dig(body, "message", "thread_ts"), 64)


def register(app: AsyncApp, services: BotServices) -> None:
    async def could_not_read(ack: AsyncAck, body: dict[str, Any], why: str) -> None:
        unreadable("button click", why)
        await ack()
        await answer_privately(services, body.get("response_url"), COULD_NOT_READ)

    @app.action(ACTION_DECIDE_PATTERN)
    async def on_decide(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        user = slack_id(dig(body, "user", "id"))
        kind = decision_from_action_id(action["action_id"])  # bolt matched this listener on it
        trigger_id = text_field(body.get("trigger_id"), _MAX_TRIGGER)
        if user is None or kind is None or (kind in _MODALS and trigger_id is None):
            await could_not_read(ack, body, "user" if user is None else "action_id" if kind is None else "trigger_id")
            return
        await ack()
        channel, message_ts, thread_ts = _where(body)
        try:
            answer = await decide_click(kind, action.get("value"), user, trigger_id, channel, message_ts, thread_ts,
                                        client)
        except BatonError as exc:
            answer = str(exc)
        except Exception:
            log.exception("The %s click of %s failed", kind, user)
            answer = SOMETHING_WENT_WRONG
        if answer:
            await tell(client, channel, user, answer, thread_ts)

    async def decide_click(kind: DecisionKind, value: object, user: str, trigger_id: str | None, channel: str | None,
                           message_ts: str | None, thread_ts: str | None, client: AsyncWebClient) -> str | None:
        """What to tell the clicker, or None when a modal opened instead."""
        try:
            ref = ButtonRef.decode(value)
        except ValueError:
            return NOT_OURS
        check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
        if check.refusal is not None or check.checkpoint is None:
            return check.refusal or "This is no longer pending."
        if kind not in _MODALS:
            return await decide(services, ref.task_id, check, kind, user)
        modal_ref = ButtonRef(ref.task_id, ref.checkpoint_id, channel, thread_ts or message_ts)
        try:
            await client.views_open(trigger_id=trigger_id, view=safe_blocks(_MODALS[kind](modal_ref, check.checkpoint)))
        except SlackApiError as exc:  # an expired trigger (a click answered after 3 s), mostly
            log.warning("Slack did not open the %s modal: %s", kind, exc.response.get("error"))
            return "Slack did not open the form in time; click the button again."
        return None

    async def answer_button(
        body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, act: ButtonAct, user: str
    ) -> None:
        """Decode the button, run `act`, and tell the clicker the outcome (privately), whatever happened."""
        channel, _, thread_ts = _where(body)
        try:
            answer = await act(ButtonRef.decode(action.get("value")), user, thread_ts)
        except ValueError:
            answer = NOT_OURS
        except BatonError as exc:
            answer = str(exc)
        except Exception:
            log.exception("The %s click of %s failed", action["action_id"], user)
            answer = SOMETHING_WENT_WRONG
        await tell(client, channel, user, answer, thread_ts)

    def on_button(act: ButtonAct) -> ButtonListener:
        """The listener of a button that acts on a task (Cancel, Retry): read the clicker, ack, run `act`."""

        async def listener(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           client: AsyncWebClient) -> None:
            user = slack_id(dig(body, "user", "id"))
            if user is None:
                await could_not_read(ack, body, "user")
                return
            await ack()
            await answer_button(body, action, client, act, user)

        return listener

    async def cancel_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        return (await cancel(services, ref.task_id, "cancel button", user)).text

    async def retry_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        return (await retry(services, ref.task_id, user, thread_ts)).text

    app.action(ACTION_CANCEL)(on_button(cancel_task))
    app.action(ACTION_RETRY)(on_button(retry_task))
