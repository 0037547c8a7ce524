"""Slack's side of the assistant pane: a person opens a thread with Baton, moves to another channel with the pane
open, writes in the thread. The events are shaped as Slack's Events API reference shows `assistant_thread_started`
and `assistant_thread_context_changed`; a person's message in the thread is a plain `message.im` event with a
`thread_ts` (SlackDelivery.say builds it).

Slack creates the thread's root message when the pane opens; the fake posts it as the person's (the fake's messages
have no subtype, and a root written by the app would be taken for the app's first reply by bolt's context store).

    thread = await open_assistant_thread(delivery, "U02BOB", "D01BOB", context_channel="C02OPS")
    await change_assistant_context(delivery, thread, "C01GENERAL")
    result, event = await delivery.say("U02BOB", thread.channel, "audit the web fleet", thread_ts=thread.thread_ts)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.delivery import DeliveryResult, SlackDelivery

__all__ = ["AssistantThread", "assistant_thread_event", "change_assistant_context", "open_assistant_thread"]

ROOT_TEXT = "New chat"
"""What Slack shows as an untitled assistant thread."""


@dataclass(frozen=True)
class AssistantThread:
    user: str
    channel: str
    """The DM between the person and the app."""
    thread_ts: str
    started: DeliveryResult
    """The bot's answer to assistant_thread_started."""


def assistant_thread_event(kind: str, user: str, channel: str, thread_ts: str, context_channel: str | None,
                           team_id: str) -> dict[str, Any]:
    """An `assistant_thread_started` or `assistant_thread_context_changed` event."""
    context: dict[str, Any] = {"team_id": team_id}
    if context_channel is not None:
        context["channel_id"] = context_channel
    return {
        "type": kind,
        "assistant_thread": {"user_id": user, "context": context, "channel_id": channel, "thread_ts": thread_ts},
        "event_ts": f"{time.time():.6f}",
    }


async def open_assistant_thread(delivery: SlackDelivery, user: str, channel: str, *,
                                context_channel: str | None = None, event_id: str | None = None) -> AssistantThread:
    """The person opens the pane (from `context_channel`, when given): the thread's root lands in the fake and
    `assistant_thread_started` goes to the bot."""
    if delivery.slack is None:
        raise ValueError("open_assistant_thread needs a SlackDelivery linked to the fake")
    root = delivery.slack.post_user_message(channel, user, ROOT_TEXT)
    event = assistant_thread_event("assistant_thread_started", user, channel, root.ts, context_channel,
                                   delivery.app.team_id)
    started = await delivery.send_event(event, event_id=event_id)
    return AssistantThread(user, channel, root.ts, started)


async def change_assistant_context(delivery: SlackDelivery, thread: AssistantThread, context_channel: str, *,
                                   event_id: str | None = None) -> DeliveryResult:
    """The person, pane open, moves to `context_channel`: `assistant_thread_context_changed` goes to the bot."""
    event = assistant_thread_event("assistant_thread_context_changed", thread.user, thread.channel, thread.thread_ts,
                                   context_channel, delivery.app.team_id)
    return await delivery.send_event(event, event_id=event_id)
