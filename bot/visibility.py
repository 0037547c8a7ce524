"""Who may read a task in Slack: `contracts.approval.may_view` with the two things only the bot can resolve, the
reader's user groups and whether they are in the conversation the task was started in.

Every read path of the bot (`/baton status`, `list`, App Home, the front agent's tools, Cancel and Retry) goes
through here with the statuses the gateway returns, so the gateway stays free of Slack. A task its reader may not
see is answered exactly like a task that does not exist (`TaskNotFound`): its existence is private too.

A reader is a person and where the answer is shown. An answer only they see (an ephemeral reply, App Home, a DM with
the bot) may show any task they may see; an answer the front agent posts in a channel is read by everyone there, so
it shows only the tasks started in that same channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from baton.errors import TaskNotFound
from bot.services import BotServices
from contracts import TaskStatusV1
from contracts.approval import may_view

__all__ = ["Reader", "shared_in", "visible", "visible_status", "visible_tasks"]


@dataclass(frozen=True)
class Reader:
    user_id: str
    posted_in: str | None = None
    """The channel whose members all read the answer (the front agent's replies there); None when only `user_id`
    does (ephemeral answers, App Home, a DM with the bot)."""


def shared_in(channel_id: str) -> str | None:
    """`Reader.posted_in` for a reply the bot posts in `channel_id`: a DM with the bot is read by its one person, any
    other conversation by all its members."""
    return None if channel_id.startswith("D") else channel_id


async def visible(services: BotServices, status: TaskStatusV1, reader: Reader) -> bool:
    """Whether `reader` may see `status`. The policy decides without Slack for the requester, approvers and admins;
    only the others cost a (cached) `conversations.members` lookup."""
    if reader.posted_in is not None and reader.posted_in != status.requester.channel_id:
        return False
    user = reader.user_id
    requester = status.requester.user_id
    groups = await services.directory.groups_of(user, status.approval.approver_groups)
    if may_view(status.approval, requester, user, groups, checkpoint=status.pending_checkpoint):
        return True
    channel = status.requester.channel_id
    if status.requester.platform != "slack" or not channel:
        return False
    return await services.members.includes(channel, user, requester)


async def visible_status(services: BotServices, task_id: str, reader: Reader) -> TaskStatusV1:
    """The task's status for `reader`, or TaskNotFound, the very error of an unknown id, when they may not see it."""
    status = await services.gateway.status(task_id)
    if not await visible(services, status, reader):
        raise TaskNotFound(task_id)
    return status


async def visible_tasks(services: BotServices, statuses: Iterable[TaskStatusV1], reader: Reader) -> list[TaskStatusV1]:
    """The statuses `reader` may see, in their order."""
    return [status for status in statuses if await visible(services, status, reader)]
