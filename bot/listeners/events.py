"""Events: mentions and DMs go to the front agent (answered in the thread); opening App Home renders it.

Slack redelivers an event it did not see acked in time (same `event_id`); the app's dedupe middleware drops those,
and the task id derived from the message makes any that slip through harmless.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.front_agent import FrontAgent
from bot.operations import home_for
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["register"]

log = logging.getLogger(__name__)
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:,]*")


def register(app: AsyncApp, services: BotServices, front_agent: FrontAgent) -> None:
    async def answer(event: dict[str, Any], client: AsyncWebClient, team_id: str) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        origin = SlackOrigin(team_id=team_id, channel_id=event["channel"], user_id=event["user"],
                             identity_ts=event["ts"], thread_ts=thread_ts)
        text = _LEADING_MENTION.sub("", event.get("text", ""), count=1).strip()
        try:
            reply = await front_agent.answer(text, origin)
        except Exception:
            log.exception("The front agent failed on %s/%s", origin.channel_id, origin.identity_ts)
            reply = "Sorry, something went wrong on Baton's side. Try `/baton help`."
        if reply:
            await client.chat_postMessage(channel=origin.channel_id, thread_ts=thread_ts, text=reply)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]) -> None:
        await answer(event, client, context.get("team_id") or event.get("team", ""))

    @app.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]) -> None:
        # Only plain DMs from people: channel messages reach us as app_mention, edits and bot posts are ignored.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        await answer(event, client, context.get("team_id") or event.get("team", ""))

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        view = await home_for(services, event["user"])
        await client.views_publish(user_id=event["user"], view=view)
