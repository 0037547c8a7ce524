"""Events: mentions and DMs go to the front agent (answered in the thread); opening App Home renders it; someone
joining or leaving a conversation (or the bot being removed from one) forgets its cached members, who may read the
tasks started there (bot.members).

Slack redelivers an event it did not see acked in time (same `event_id`, with an X-Slack-Retry-Num header). The
app's dedupe middleware drops the redeliveries this process has seen; a retry it has not (after a restart, or on
another replica) first looks in the thread for an answer marked with its event id, and only without one asks the
front agent. A retry that still gets through starts no second task: the task id derives from the message.

Events are acked by bolt before these listeners run, so an event missing what an answer needs (ts, channel, user)
is ignored here with one warning line; raising would only print a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from baton.redaction import scrub
from bot.blocks import safe_blocks, slack_text
from bot.dedupe import answered_in_thread, reply_metadata
from bot.front_agent import FrontAgent
from bot.operations import home_for
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["register"]

log = logging.getLogger(__name__)
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:,]*")
_ANSWER_NEEDS = ("ts", "channel", "user")
MEMBERSHIP_EVENTS = ("member_joined_channel", "member_left_channel", "channel_left", "group_left")


def register(app: AsyncApp, services: BotServices, front_agent: FrontAgent) -> None:
    async def answer(event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient,
                     team_id: str) -> None:
        event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
        if not _readable(event, event_id, _ANSWER_NEEDS):
            return
        ts, channel = event["ts"], event["channel"]
        thread_ts = event["thread_ts"] if isinstance(event.get("thread_ts"), str) else ts
        if event_id and _is_retry(request) and await answered_in_thread(client, channel, thread_ts, event_id, ts):
            log.info("Event %s is already answered in its thread; not answering again", event_id)
            return
        origin = SlackOrigin(team_id=team_id, channel_id=channel, user_id=event["user"], identity_ts=ts,
                             thread_ts=thread_ts)
        text = _LEADING_MENTION.sub("", str(event.get("text") or ""), count=1).strip()
        try:
            reply = await front_agent.answer(text, origin)
        except Exception:
            log.exception("The front agent failed on %s/%s", origin.channel_id, origin.identity_ts)
            reply = "Sorry, something went wrong on Baton's side. Try `/baton help`."
        if reply:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=scrub(slack_text(reply)),
                                          metadata=reply_metadata(event_id) if event_id else None)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest,
                         client: AsyncWebClient, context: dict[str, Any]) -> None:
        await answer(event, body, request, client, context.get("team_id") or event.get("team", ""))

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest,
                         client: AsyncWebClient, context: dict[str, Any]) -> None:
        # Only plain DMs from people: channel messages reach us as app_mention, edits and bot posts are ignored.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        await answer(event, body, request, client, context.get("team_id") or event.get("team", ""))

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


def _readable(event: dict[str, Any], event_id: object, needs: tuple[str, ...]) -> bool:
    """True when the event has every field in `needs`; else one warning naming what is missing (the payload is the
    person's words: never logged)."""
    missing = [key for key in needs if not isinstance(event.get(key), str) or not event[key]]
    if missing:
        log.warning("Ignored event %s (%s): no %s", event_id, event.get("type", "?"), ", ".join(missing))
    return not missing


def _is_retry(request: AsyncBoltRequest) -> bool:
    """Slack numbers its redeliveries 1.. in X-Slack-Retry-Num. Bolt's Socket Mode adapter copies an envelope's
    retry_attempt into that header, and a first delivery over the socket has retry_attempt 0."""
    values = request.headers.get("x-slack-retry-num") or ()
    try:
        return int(values[0]) > 0
    except (IndexError, ValueError):
        return False
