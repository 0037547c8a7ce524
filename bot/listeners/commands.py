"""`/baton`: read the command, ack at once, then parse, run it and answer the person privately (response_url).

A command missing a field Baton needs (who, where, its trigger) is answered in the ack itself: "I could not read
that", shown only to the person. Everything after the ack takes one of BATON_COMMAND_CONCURRENCY slots: a burst of
commands (a whole channel typing at once) then cannot crowd out the acks of the requests still arriving, which Slack
needs within 3 seconds. A failure after the ack, including a failure to start the task, is always answered to the
person, and never escapes (bolt would drop the ack)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.grammar import parse_command
from bot.listeners.reading import dig, slack_id, text_field, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_privately
from bot.middleware import COULD_NOT_READ_COMMAND
from bot.operations import Reply, execute
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["register"]

log = logging.getLogger(__name__)
_MAX_TEXT = 8_000  # the contracts' bound on a request's text
_MAX_NAME = 80  # Slack's bound on a username
_MAX_TRIGGER = 255


def register(app: AsyncApp, services: BotServices) -> None:
    @app.command("/baton")
    async def baton_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        origin, why = read_origin(command)
        text = command.get("text", "")
        if origin is None or not isinstance(text, str) or len(text) > _MAX_TEXT:
            unreadable("/baton command", why or "its text")
            await ack(COULD_NOT_READ_COMMAND)
            return
        await ack()
        try:
            async with services.command_slots:
                reply = await execute(services, parse_command(text), origin)
        except Exception:
            log.exception("/baton failed for %s", origin.user_id)
            reply = Reply(SOMETHING_WENT_WRONG)
        await answer_privately(services, command.get("response_url"), reply.text, reply.blocks or None)


def read_origin(command: dict[str, Any]) -> tuple[SlackOrigin | None, str | None]:
    """(the command's origin, None), or (None, the first field missing or unusable)."""
    user_id, channel_id = slack_id(dig(command, "user_id")), slack_id(dig(command, "channel_id"))
    identity = text_field(command.get("trigger_id"), _MAX_TRIGGER) or text_field(command.get("command_ts"), 64)
    if user_id is None:
        return None, "user_id"
    if channel_id is None:
        return None, "channel_id"
    if identity is None:  # what makes a run's task id unique: without it every such command would be one task
        return None, "trigger_id"
    return SlackOrigin(team_id=slack_id(command.get("team_id")) or "", channel_id=channel_id,
                       user_id=user_id, user_name=text_field(command.get("user_name"), _MAX_NAME),
                       identity_ts=identity), None
