"""`/baton`: ack at once, then parse, run the command and answer the person privately (response_url)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.commands import parse_command
from bot.operations import execute
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: BotServices) -> None:
    @app.command("/baton")
    async def baton_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        origin = SlackOrigin(
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            user_name=command.get("user_name"),
            identity_ts=command.get("trigger_id") or command.get("command_ts", ""),
        )
        try:
            reply = await execute(services, parse_command(command.get("text", "")), origin)
        except Exception:
            log.exception("/baton failed for %s", origin.user_id)
            await respond(text="Something went wrong on Baton's side; please try again.", response_type="ephemeral")
            return
        await respond(text=reply.text, blocks=reply.blocks or None, response_type="ephemeral")
