"""Events: mentions and DMs go to their thread's ConversationWorkflow, which answers in the thread; opening App Home
renders it; someone joining or leaving a conversation (or the bot being removed from one) forgets its cached members,
who may read the tasks started there (bot.members).

A mention or DM is made durable in Temporal before its ack (`hand_over`, a listener middleware: bolt acks an event
before its listener runs, but after the listener's middleware), with the Slack event id as the update id. Slack
redelivers an event it did not see acked in time, to any replica: the conversation takes it once, so the bot keeps no
memory of the events it has seen (baton.conversations says how, with workers down too). When Temporal cannot be
reached at all, the event is answered 503, not acked: Slack keeps it and delivers it again.

Ignored without a model call: a bot's message (Baton's own included), an edit, a deletion or any other subtype, a
channel message that does not mention Baton (mentions arrive as `app_mention`), and an event missing what an answer
needs (ts, channel, user: one warning line, never the text). A stale event from a channel Baton left is dropped by
the activity, which asks Slack first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError, ConversationBusy
from bot.blocks import safe_blocks
from bot.operations import home_for
from bot.services import BotServices
from contracts import (
    MAX_REQUEST_TEXT,
    ConversationKeyV1,
    ConversationLimitsV1,
    ConversationMessageV1,
    ConversationStartV1,
)

__all__ = ["CONTEXT_CHANNEL", "conversation_intake", "register", "to_conversation"]

log = logging.getLogger(__name__)
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:,]*")
_ANSWER_NEEDS = ("ts", "channel", "user")
MEMBERSHIP_EVENTS = ("member_joined_channel", "member_left_channel", "channel_left", "group_left")
CONTEXT_CHANNEL = "baton_context_channel"
"""Where an earlier middleware (bot.assistant) leaves, in bolt's context, the channel the person is viewing."""


def conversation_intake(services: BotServices) -> Callable[..., Awaitable[BoltResponse | None]]:
    """The listener middleware that makes a person's message durable in its thread's conversation before bolt's
    ack: mentions and DMs here, assistant-thread messages in bot.assistant."""
    settings = services.settings

    async def hand_over(body: dict[str, Any], context: AsyncBoltContext,
                        next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Before bolt's ack: the message becomes durable in its conversation. Never raises: a message Temporal did
        not take gets a deliberate 503 (Slack retries it), anything else the ack."""
        read = to_conversation(body, context.team_id, context.bot_user_id, settings.baton_notify_task_queue,
                               context_channel=context.get(CONTEXT_CHANNEL))
        if read is not None:
            key, message = read
            limits = ConversationLimitsV1(
                memory_turns=settings.baton_conversation_memory_turns,
                messages_per_run=settings.baton_conversation_messages_per_run,
                max_messages=settings.baton_conversation_max_messages,
            )
            start = ConversationStartV1(key=key, notify_task_queue=settings.baton_notify_task_queue, limits=limits)
            try:
                ack = await services.conversations.say(start, message)
                if ack is not None and ack.outcome != "queued":
                    log.info("Event %s: %s", message.event_id, ack.outcome)
            except ConversationBusy as exc:
                log.warning("Event %s not taken by its conversation: %s", message.event_id, exc)
            except BatonError as exc:
                log.warning("Event %s not acked, Slack will deliver it again: %s", message.event_id, exc)
                return BoltResponse(status=503, body="")
            except Exception:
                log.exception("Event %s was not handed to its conversation", message.event_id)
        await next()
        return None

    return hand_over


def register(app: AsyncApp, services: BotServices) -> None:
    hand_over = conversation_intake(services)

    @app.event("app_mention", middleware=[hand_over])
    async def on_mention() -> None:
        """Acked by bolt; `hand_over` did the work before the ack."""

    @app.event("message", middleware=[hand_over])
    async def on_message() -> None:
        """Acked by bolt: `hand_over` took what is Baton's (DMs from people) and left the rest."""

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not _readable(event, body.get("event_id"), ("user",)):
            return
        view = await home_for(services, event["user"])
        await client.views_publish(user_id=event["user"], view=safe_blocks(view))

    async def on_membership(event: dict[str, Any], body: dict[str, Any]) -> None:
        if _readable(event, body.get("event_id"), ("channel",)):
            services.members.forget(event["channel"])

    for kind in MEMBERSHIP_EVENTS:
        app.event(kind)(on_membership)


def to_conversation(body: dict[str, Any], team_id: str | None, bot_user_id: str | None,
                    notify_task_queue: str, context_channel: str | None = None,
                    ) -> tuple[ConversationKeyV1, ConversationMessageV1] | None:
    """The thread and the message an event addresses to Baton, or None for anything Baton does not answer."""
    event = body.get("event")
    event_id = body.get("event_id")
    if not isinstance(event, dict) or event.get("type") not in ("app_mention", "message"):
        return None
    if event.get("bot_id") or event.get("subtype") or event.get("bot_profile"):
        return None  # bots (Baton itself too), edits, deletions, joins: nobody asked Baton anything
    if event["type"] == "message" and event.get("channel_type") != "im":
        return None  # in channels Baton answers mentions, which Slack sends as app_mention
    if not isinstance(event_id, str) or not event_id or not _readable(event, event_id, _ANSWER_NEEDS):
        return None
    if bot_user_id and event["user"] == bot_user_id:
        return None
    team = team_id or event.get("team")
    if not isinstance(team, str) or not team:
        log.warning("Ignored event %s: no workspace", event_id)
        return None
    ts, channel = event["ts"], event["channel"]
    thread_ts = event["thread_ts"] if isinstance(event.get("thread_ts"), str) and event["thread_ts"] else ts
    text = _LEADING_MENTION.sub("", str(event.get("text") or ""), count=1).strip()[:MAX_REQUEST_TEXT]
    channel_type = event.get("channel_type") if isinstance(event.get("channel_type"), str) else None
    try:
        key = ConversationKeyV1(team_id=team, channel_id=channel, thread_ts=thread_ts)
        message = ConversationMessageV1(event_id=event_id, user_id=event["user"], text=text, ts=ts,
                                        channel_type=channel_type, notify_task_queue=notify_task_queue,
                                        context_channel=context_channel)
    except ValueError:
        log.warning("Ignored event %s (%s): a field out of bounds", event_id, event.get("type"))
        return None
    return key, message


def _readable(event: dict[str, Any], event_id: object, needs: tuple[str, ...]) -> bool:
    """True when the event has every field in `needs`; else one warning naming what is missing (the payload is the
    person's words: never logged)."""
    missing = [key for key in needs if not isinstance(event.get(key), str) or not event[key]]
    if missing:
        log.warning("Ignored event %s (%s): no %s", event_id, event.get("type", "?"), ", ".join(missing))
    return not missing
