"""`/baton`: ack at once, then parse, run the command and answer the person privately (response_url).

The work after the ack takes one of BATON_COMMAND_CONCURRENCY slots: a burst of commands (a whole channel typing at
once) then cannot crowd out the acks of the requests still arriving, which Slack needs within 3 seconds. A failure
after the ack, including a failure to start the task, is always answered to the person."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import parse_command
from bot.operations import Reply, execute
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: BotServices) -> None:
    @app.command("/baton")
    async def baton_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        origin = SlackOrigin(
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            user_name=command.get("user_name"),
            identity_ts=command.get("trigger_id") or command.get("command_ts", ""),
        )
        try:
            async with services.command_slots:
                reply = await execute(services, parse_command(command.get("text", "")), origin)
        except Exception:
            log.exception("/baton failed for %s", origin.user_id)
            reply = Reply("Something went wrong on Baton's side; please try again.")
        if command.get("response_url"):
            await services.responder.send(command["response_url"], reply.text, reply.blocks or None)
