"""Buttons: decisions on checkpoint cards, Cancel on the status message, Retry on a failed task's final message.

A click that asks for work is made durable before its ack (bot.intake): Approve's `decide` update is accepted by the
workflow, Cancel's signal and cancellation request and Retry's new task reach Temporal, each within
BATON_INTAKE_TIMEOUT_S; when Temporal is slower, the click is acked anyway and the call goes on in the background
(the update id, the task's own id, make a second click harmless). Edit, Reject and Respond only open a modal, which
Slack allows only within 3 s of the click: they ack at once, and their decision is sent when the modal is submitted
(views.py). Refusals are ephemeral and change nothing. A click that does not say who clicked is answered "I could not
read that" through its response_url. Every outcome is told to the clicker after the ack, and nothing escapes (bolt
would drop the ack).
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
from bot.decisions import Answer, check_decision, ready_answer, send_decision
from bot.intake import ack_only, before_ack
from bot.listeners.reading import COULD_NOT_READ, dig, slack_id, text_field, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_or_apology, answer_privately, tell
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
        channel, message_ts, thread_ts = _where(body)
        if kind in _MODALS:  # nothing to make durable yet: the decision comes with the modal's submission
            await ack()
            opened = open_modal(kind, action.get("value"), user, trigger_id, channel, message_ts, thread_ts, client)
            answer = await answer_or_apology(opened, f"The {kind} click of {user}")
            if answer:
                await tell(client, channel, user, answer, thread_ts)
            return

        async def told(answer: Answer) -> None:
            text = await answer_or_apology(answer(), f"The {kind} decision of {user}")
            await tell(client, channel, user, text, thread_ts)

        await before_ack(services.intakes, services.settings.baton_intake_timeout_s,
                         send_click(kind, action.get("value"), user), ack=ack_only(ack), answer=told,
                         name=f"The {kind} click of {user}")

    async def send_click(kind: DecisionKind, value: object, user: str) -> Answer:
        """Check the click and send the decision; returns once Temporal has accepted it (or it was refused)."""
        try:
            ref = ButtonRef.decode(value)
        except ValueError:
            return ready_answer(NOT_OURS)
        try:
            check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
            return await send_decision(services, ref.task_id, check, kind, user)
        except BatonError as exc:
            return ready_answer(str(exc))
        except Exception:
            log.exception("The %s click of %s failed", kind, user)
            return ready_answer(SOMETHING_WENT_WRONG)

    async def open_modal(kind: DecisionKind, value: object, user: str, trigger_id: str | None, channel: str | None,
                         message_ts: str | None, thread_ts: str | None, client: AsyncWebClient) -> str | None:
        """What to tell the clicker, or None when the modal opened."""
        try:
            ref = ButtonRef.decode(value)
        except ValueError:
            return NOT_OURS
        check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
        if check.refusal is not None or check.checkpoint is None:
            return check.refusal or "This is no longer pending."
        modal_ref = ButtonRef(ref.task_id, ref.checkpoint_id, channel, thread_ts or message_ts)
        try:
            await client.views_open(trigger_id=trigger_id, view=safe_blocks(_MODALS[kind](modal_ref, check.checkpoint)))
        except SlackApiError as exc:  # an expired trigger (a click answered after 3 s), mostly
            log.warning("Slack did not open the %s modal: %s", kind, exc.response.get("error"))
            return "Slack did not open the form in time; click the button again."
        return None

    async def act_on(act: ButtonAct, value: object, user: str, thread_ts: str | None, what: str) -> str:
        """Decode the button and run `act`: what to tell the clicker (privately), whatever happened."""
        try:
            return await act(ButtonRef.decode(value), user, thread_ts)
        except ValueError:
            return NOT_OURS
        except BatonError as exc:
            return str(exc)
        except Exception:
            log.exception("The %s click of %s failed", what, user)
            return SOMETHING_WENT_WRONG

    def on_button(act: ButtonAct) -> ButtonListener:
        """The listener of a button that acts on a task (Cancel, Retry): read the clicker, run `act` (its signal,
        cancellation or start reaches Temporal before the ack, bot.intake), ack, tell the clicker."""

        async def listener(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           client: AsyncWebClient) -> None:
            user = slack_id(dig(body, "user", "id"))
            if user is None:
                await could_not_read(ack, body, "user")
                return
            channel, _, thread_ts = _where(body)
            what = action["action_id"]

            async def told(answer: str) -> None:
                await tell(client, channel, user, answer, thread_ts)

            await before_ack(services.intakes, services.settings.baton_intake_timeout_s,
                             act_on(act, action.get("value"), user, thread_ts, what), ack=ack_only(ack),
                             answer=told, name=f"The {what} click of {user}")

        return listener

    async def cancel_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        return (await cancel(services, ref.task_id, "cancel button", user)).text

    async def retry_task(ref: ButtonRef, user: str, thread_ts: str | None) -> str:
        return (await retry(services, ref.task_id, user, thread_ts)).text

    app.action(ACTION_CANCEL)(on_button(cancel_task))
    app.action(ACTION_RETRY)(on_button(retry_task))
