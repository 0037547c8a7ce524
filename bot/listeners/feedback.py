"""Feedback buttons on a task's final message: a click is recorded on the task, counted, and acknowledged privately.

    click (block_actions, action `baton.feedback`, type feedback_buttons, value = task + rating)
      -> may the clicker see the task? (bot.visibility: the requester, approvers, admins, the channel's members)
         no: "not recorded", privately, and nothing reaches Temporal
      -> the task's TaskFeedbackWorkflow takes the rating (baton.feedback), before the ack (bot.intake)
      -> baton_feedback_total{agent,rating} for a first or changed rating; "Thanks, recorded." privately
      no worker took the update in time: the click is durable as a signal the workflow applies when a worker runs
         (baton.feedback); counted as it will apply, and the clicker told the truth: recorded, shown shortly

One rating per person: a second click replaces the first. Slack's `action_ts` names the click, so a redelivery of the
same click is recognised by the workflow and neither recorded nor counted twice (while no worker runs, a redelivery
is still recorded once, but counted as it arrives: the bot cannot see a click still waiting in the history).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError, TaskNotFound
from baton.feedback import FeedbackQueued
from bot.blocks.feedback import decode_feedback
from bot.blocks.ids import ACTION_FEEDBACK
from bot.intake import ack_only, before_ack
from bot.listeners.reading import COULD_NOT_READ, dig, slack_id, text_field, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_privately, tell
from bot.metrics import record_feedback
from bot.services import BotServices
from bot.visibility import Reader, visible_status
from contracts.feedback import FeedbackV1

__all__ = ["NOT_RECORDED", "RECORDED", "RECORDED_LATER", "record_click", "register"]

log = logging.getLogger(__name__)
RECORDED = "Thanks, recorded."
RECORDED_LATER = "Thanks, recorded. Baton is busy: your rating will show on the task shortly."
NOT_RECORDED = "Only people who may see this task can rate it; your rating was not recorded."
NOT_OURS = "These buttons are not Baton's; nothing was recorded."
_MAX_TS = 64


async def record_click(services: BotServices, value: object, user: str, click_id: str) -> str:
    """Record one click and say what to tell the clicker; never raises (it runs before the ack)."""
    try:
        task_id, rating = decode_feedback(value)
    except ValueError:
        return NOT_OURS
    try:
        status = await visible_status(services, task_id, Reader(user))
        outcome = await services.gateway.feedback.rate(
            task_id, status.agent, FeedbackV1(by=user, rating=rating, click_id=click_id))
    except TaskNotFound:
        return NOT_RECORDED
    except BatonError as exc:
        return str(exc)
    except Exception:
        log.exception("The feedback click of %s failed", user)
        return SOMETHING_WENT_WRONG
    if isinstance(outcome, FeedbackQueued):
        if outcome.expected in ("recorded", "changed"):
            record_feedback(status.agent, rating)
        return RECORDED_LATER
    if outcome.outcome in ("recorded", "changed"):
        record_feedback(status.agent, rating)
    return RECORDED


def register(app: AsyncApp, services: BotServices) -> None:
    @app.action(ACTION_FEEDBACK)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                          client: AsyncWebClient) -> None:
        user = slack_id(dig(body, "user", "id"))
        click_id = text_field(action.get("action_ts"), _MAX_TS)
        if user is None or click_id is None:
            unreadable("feedback click", "user" if user is None else "action_ts")
            await ack()
            await answer_privately(services, body.get("response_url"), COULD_NOT_READ)
            return
        channel = slack_id(dig(body, "container", "channel_id")) or slack_id(dig(body, "channel", "id"))
        thread_ts = text_field(dig(body, "message", "thread_ts"), _MAX_TS)

        async def told(answer: str) -> None:
            await tell(client, channel, user, answer, thread_ts)

        await before_ack(services.intakes, services.settings.baton_intake_timeout_s,
                         record_click(services, action.get("value"), user, click_id), ack=ack_only(ack),
                         answer=told, name=f"The feedback click of {user}")
