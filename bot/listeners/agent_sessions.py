"""Slack's own Stop control on an agent session (`agent_session_stopped`): the task whose thread it is gets cancelled
through the Cancel path (bot.operations.cancel: the requester or an admin; anyone else is told privately).

The session is the task's thread (bot/agent_sessions.py sets its status), so the event's channel and thread_ts
lead to the task through the thread's root, its status message. The cancellation reaches Temporal before bolt acks
the event (listener middleware, as for replies in a task's thread); Temporal unreachable: 503, and Slack delivers
the event again (a second cancel of a cancelled task is harmless). The plan in the status message then shows who
stopped it, and the notify path moves the session to `closed`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError, TaskBusy, TemporalUnavailable
from bot.listeners.replies import tell
from bot.operations import cancel
from bot.services import BotServices
from bot.thread_replies import task_of_thread

__all__ = ["STOPPED_EVENT", "register"]

log = logging.getLogger(__name__)
STOPPED_EVENT = "agent_session_stopped"
_ANSWER = "baton_session_stop"
"""Where the middleware leaves what to tell the person, in bolt's context."""
_REASON = "Slack stop control"


def register(app: AsyncApp, services: BotServices) -> None:
    async def stop_task(body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient,
                        next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Before bolt's ack: the task's cancellation requested, or a 503 so that Slack tries again."""
        event = body.get("event") or {}
        channel, thread_ts, user = (event.get(key) for key in ("channel", "thread_ts", "user"))
        if not (isinstance(channel, str) and isinstance(thread_ts, str) and isinstance(user, str)
                and channel and thread_ts and user):
            log.warning("Ignored an %s event without channel, thread and user", STOPPED_EVENT)
            return None
        try:
            task_id = await task_of_thread(client, channel, thread_ts, context.bot_user_id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Cannot read the root of a stopped session in %s (%s): Slack will deliver it again", channel,
                        type(exc).__name__)
            return BoltResponse(status=503, body="")
        if task_id is None:
            return None  # a session that is no task's (a conversation's answer stream stops on its own)
        try:
            context[_ANSWER] = (await cancel(services, task_id, _REASON, user)).text
        except (TemporalUnavailable, TaskBusy) as exc:
            log.warning("Stop of %s not acked, Slack will deliver it again: %s", task_id, type(exc).__name__)
            return BoltResponse(status=503, body="")
        except BatonError as exc:
            context[_ANSWER] = str(exc)
        except Exception:
            log.exception("The stop of %s by %s failed", task_id, user)
        await next()
        return None

    @app.event(STOPPED_EVENT, middleware=[stop_task])
    async def on_session_stopped(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """Acked by bolt; tells the person privately what became of their stop. Never raises (after the ack)."""
        answer = context.get(_ANSWER)
        if isinstance(answer, str):
            await tell(client, event.get("channel"), str(event.get("user")), answer, event.get("thread_ts"))
