"""Replies in a task's thread: a person's message under a task's status message, not addressed to Baton, goes to the
task (bot.thread_replies) before the ack, so an acked reply is in the task's history. The task has it: a reaction on
the reply says so; someone who may not talk to the task, or a task that ended, gets a private note.

Registered ahead of listeners/events.py: a message that is no reply to a task (any other thread, a DM, a mention)
falls through to the events listeners as before. Temporal unreachable, or no worker taking the reply in time: 503,
and Slack delivers the event again (the event id is the update id, so it is applied once).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from bot.listeners.replies import tell
from bot.services import BotServices
from bot.thread_replies import Passed, pass_on, task_of_thread, thread_reply

__all__ = ["TAKEN_REACTION", "register"]

log = logging.getLogger(__name__)
TAKEN_REACTION = "inbox_tray"
"""The reaction Baton puts on a reply its task took."""
_PASSED = "baton_thread_reply"
"""Where the middleware leaves its verdict for the listener, in bolt's context."""


def register(app: AsyncApp, services: BotServices) -> None:
    async def hand_to_task(body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient,
                           next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Before bolt's ack. Not calling `next` passes the event on to the next listener (it is no reply to a
        task); a 503 makes Slack deliver it again."""
        read = thread_reply(body, context.bot_user_id)
        if read is None:
            return None
        channel, thread_ts, reply = read
        try:
            task_id = await task_of_thread(client, channel, thread_ts, context.bot_user_id)
        except (aiohttp.ClientError, TimeoutError) as exc:  # Slack unreachable: maybe a reply to a task, so retry
            log.warning("Cannot read the root of a thread in %s (%s): Slack will deliver it again", channel,
                        type(exc).__name__)
            return BoltResponse(status=503, body="")
        if task_id is None:
            return None
        try:
            context[_PASSED] = await pass_on(services, task_id, reply)
        except BatonError as exc:
            log.warning("Reply %s to %s not acked, Slack will deliver it again: %s", reply.event_id[:100], task_id,
                        type(exc).__name__)
            return BoltResponse(status=503, body="")
        except Exception:
            log.exception("Reply %s was not handed to %s", reply.event_id[:100], task_id)
        await next()
        return None

    @app.event("message", middleware=[hand_to_task])
    async def on_thread_reply(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """Acked by bolt; tells the person what became of their reply. Never raises (after the ack)."""
        passed = context.get(_PASSED)
        if not isinstance(passed, Passed):
            return
        note = passed.note()
        if note is not None:
            await tell(client, event["channel"], event["user"], note, event["thread_ts"])
            return
        try:
            await client.reactions_add(channel=event["channel"], timestamp=event["ts"], name=TAKEN_REACTION)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":  # a redelivery of a reply already taken
                log.warning("Could not mark a reply in %s: Slack answered %s", event["channel"],
                            exc.response.get("error"))
        except Exception as exc:
            log.warning("Could not mark a reply in %s: %s", event["channel"], type(exc).__name__)
