"""The front agent's delegation tools, bound to one Slack request: `temporal_submit`, `temporal_status`,
`temporal_cancel`.

They run the same operations as `/baton` (bot.operations), so a task the model starts has the task id derived from
the Slack message (a redelivered mention, or a model that calls the tool twice, starts one task), and a cancel the
model asks for is checked against the task's policy for the person who wrote the message, not for the bot.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import StructuredTool

from baton.errors import BatonError
from bot.grammar import RunCommand, StatusCommand
from bot.operations import cancel, execute, run
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["slack_delegation_tools"]


def slack_delegation_tools(services: BotServices, origin: SlackOrigin) -> list[Any]:
    async def temporal_submit(agent: str, request: str) -> str:
        """Start a durable task: `agent` is one of the catalog's agent names, `request` what it should do, in the
        person's words. Returns the task id; progress and approvals appear in the Slack thread."""
        try:
            return (await run(services, RunCommand(agent.strip(), request.strip()), origin)).text
        except BatonError as exc:
            return str(exc)

    async def temporal_status(task_id: str = "") -> str:
        """The status of a task (phase, progress, pending approval). Without a task id: the person's running tasks."""
        return (await execute(services, StatusCommand(task_id.strip() or None), origin)).text

    async def temporal_cancel(task_id: str, reason: str = "") -> str:
        """Cancel a task the person started (admins may cancel any task)."""
        try:
            return (await cancel(services, task_id.strip(), reason, origin.user_id)).text
        except BatonError as exc:
            return str(exc)

    return [StructuredTool.from_function(coroutine=f) for f in (temporal_submit, temporal_status, temporal_cancel)]
