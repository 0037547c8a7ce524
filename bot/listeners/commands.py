"""`/baton`: read and parse the command; start (or cancel) the task in Temporal before the ack; answer privately.

A command that asks for work (`run`, `cancel`) is made durable before the ack (bot.intake): the start or the cancel
gets BATON_INTAKE_TIMEOUT_S of Slack's 3 seconds, then the ack. Its answer ("Started `task`…") then goes through the
response_url, as every answer after an ack does; a refusal (no such agent, not yours to cancel) is the ack itself.
When Temporal is slower than that, the ack says the command is queued, the start goes on trying in the background
(the same task id every time, so it starts at most once), and the person is told through the response_url once it
has started, or that it could not. A command Baton cannot read or parse is answered in the ack ("I could not read
that", the grammar's hint), shown only to the person.

Read-only commands (`status`, `list`, `agents`, `help`) make nothing durable: they ack at once and answer after the
ack, each taking one of BATON_COMMAND_CONCURRENCY slots, so a burst of them cannot crowd out the acks of requests
still arriving. Nothing escapes after an ack (bolt would drop it): every failure is answered to the person.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from baton.redaction import scrub
from bot.blocks import safe_blocks, slack_text
from bot.blocks.text import Mrkdwn
from bot.grammar import CancelCommand, Command, ParseError, RunCommand, parse_command
from bot.intake import before_ack
from bot.listeners.reading import dig, slack_id, text_field, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_privately
from bot.middleware import COULD_NOT_READ_COMMAND
from bot.operations import Reply, execute
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["QUEUED_CANCEL", "QUEUED_RUN", "RETRY_START_FOR_S", "register"]

log = logging.getLogger(__name__)
_MAX_TEXT = 8_000  # the contracts' bound on a request's text
_MAX_NAME = 80  # Slack's bound on a username
_MAX_TRIGGER = 255
QUEUED_RUN = "Queued: Temporal is slow to answer; I will post in this channel when the task starts."
QUEUED_CANCEL = "Queued: Temporal is slow to answer; I will tell you here when the cancellation is recorded."
RETRY_START_FOR_S = 600.0
"""How long a queued `/baton run` keeps trying to start its task: well inside the 30 minutes Slack lets a
response_url answer."""


def register(app: AsyncApp, services: BotServices) -> None:
    @app.command("/baton")
    async def baton_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        origin, why = read_origin(command)
        text = command.get("text", "")
        if origin is None or not isinstance(text, str) or len(text) > _MAX_TEXT:
            unreadable("/baton command", why or "its text")
            await ack(COULD_NOT_READ_COMMAND)
            return
        parsed = parse_command(text)
        response_url = command.get("response_url")
        if isinstance(parsed, ParseError):
            await ack_privately(ack, Reply(Mrkdwn(parsed.message)))  # the grammar quotes the person's words, escaped
        elif isinstance(parsed, RunCommand | CancelCommand):
            await make_durable(ack, parsed, origin, response_url)
        else:
            await ack()
            await read_only(parsed, origin, response_url)

    async def make_durable(ack: AsyncAck, command: RunCommand | CancelCommand, origin: SlackOrigin,
                           response_url: object) -> None:
        told_in_ack = False

        async def ack_with(reply: Reply | None) -> None:
            nonlocal told_in_ack
            if reply is None:  # still on its way to Temporal
                await ack_privately(ack, Reply(QUEUED_RUN if isinstance(command, RunCommand) else QUEUED_CANCEL))
            elif reply.task_id is None:  # refused or failed: nothing was done, and the ack says so
                told_in_ack = True
                await ack_privately(ack, reply)
            else:
                await ack()

        async def answer(reply: Reply) -> None:
            if not told_in_ack:
                await answer_privately(services, response_url, reply.text, reply.blocks or None)

        verb = "run" if isinstance(command, RunCommand) else "cancel"
        await before_ack(services.intakes, services.settings.baton_intake_timeout_s,
                         _execute(command, origin, retry_for_s=RETRY_START_FOR_S),
                         ack=ack_with, answer=answer, name=f"/baton {verb} of {origin.user_id}")

    async def read_only(command: Command, origin: SlackOrigin, response_url: object) -> None:
        async with services.command_slots:
            reply = await _execute(command, origin)
        await answer_privately(services, response_url, reply.text, reply.blocks or None)

    async def _execute(command: Command, origin: SlackOrigin, retry_for_s: float = 0.0) -> Reply:
        try:
            return await execute(services, command, origin, retry_for_s=retry_for_s)
        except Exception:
            log.exception("/baton failed for %s", origin.user_id)
            return Reply(SOMETHING_WENT_WRONG)


async def ack_privately(ack: AsyncAck, reply: Reply) -> None:
    """The reply as the ack's body, which Slack shows to the person alone; escaped like every answer we post."""
    await ack(text=scrub(slack_text(reply.text)), blocks=safe_blocks(reply.blocks) or None,
              response_type="ephemeral")


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
