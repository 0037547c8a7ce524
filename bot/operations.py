"""What each `/baton` command does, shared by the slash command and by the front agent when no model is set.

Each operation takes a parsed command and the Slack origin, talks to Temporal through the gateway, and returns a
Reply rendered with the builders; permission checks happen here, before any call that would change a task. Every
task is read through bot.visibility: one its reader may not see is "No task with id …", like an unknown one.
A Reply's text is escaped where it is posted (bot.blocks.text): only the parts built as Mrkdwn (mentions, links)
stay live, so a task id, an agent's description or an error quoted here can never ping or spoof.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from baton.errors import BatonError, TemporalUnavailable
from bot.blocks import home_view, status_message
from bot.blocks.home import task_line
from bot.blocks.text import Mrkdwn, escape, mention, mrkdwn
from bot.grammar import (
    HELP_TEXT,
    AgentsCommand,
    CancelCommand,
    Command,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    StatusCommand,
)
from bot.metrics import record_task_started
from bot.origin import SlackOrigin, default_policy, task_request
from bot.services import BotServices
from bot.visibility import Reader, visible_status, visible_tasks
from contracts import AgentInfoV1, CancellationV1, utc_now
from contracts.approval import may_cancel

__all__ = ["HELP", "Reply", "cancel", "catalog", "execute", "home_for", "retry", "run"]

log = logging.getLogger(__name__)
HELP = Mrkdwn(HELP_TEXT)
"""The help text is Baton's own mrkdwn: posted as written (its `<agent>` placeholders included)."""
_FIRST_RETRY_S = 0.5
_LAST_RETRY_S = 15.0
"""The backoff between tries of a start Temporal did not take: doubling from the first to at most the last."""


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    task_id: str | None = None
    started: bool = False


async def execute(services: BotServices, command: Command | ParseError, origin: SlackOrigin,
                  posted_in: str | None = None, *, retry_for_s: float = 0.0) -> Reply:
    """Run one command; Baton errors become the reply (their messages are written for people).

    `posted_in` is the channel where everyone reads the reply (the front agent's answer there), None when only the
    person does (a slash command's ephemeral answer, a DM with the bot). `retry_for_s` is how long a run's start is
    tried again while Temporal cannot be reached (see `run`)."""
    reader = Reader(origin.user_id, posted_in)
    try:
        match command:
            case ParseError(message=message):
                return Reply(Mrkdwn(message))  # the grammar quotes the person's words itself, escaped
            case HelpCommand():
                return Reply(HELP)
            case AgentsCommand():
                return _agents(await catalog(services))
            case RunCommand():
                return await run(services, command, origin, retry_for_s=retry_for_s)
            case StatusCommand():
                return await _status(services, command, reader)
            case CancelCommand():
                return await cancel(services, command.task_id, command.reason, origin.user_id, posted_in=posted_in)
            case ListCommand():
                return await _list(services, reader)
    except BatonError as exc:
        return Reply(escape(str(exc)))
    return Reply(HELP)


async def catalog(services: BotServices) -> list[AgentInfoV1]:
    """The agents the running workers offer; the configured catalog while no worker has said."""
    return list((await services.offered.get()).agents)


async def run(services: BotServices, command: RunCommand, origin: SlackOrigin,
              parameters: dict[str, object] | None = None, idempotency_key: str | None = None, *,
              retry_for_s: float = 0.0) -> Reply:
    """Start the task for `command`. While Temporal cannot be reached, the start is tried again with backoff for up
    to `retry_for_s` (then TemporalUnavailable is raised); every try sends the same request, so the same task id,
    which Temporal starts at most once."""
    agents = await catalog(services)
    if agents and command.agent not in {a.name for a in agents}:
        names = ", ".join(f"`{a.name}`" for a in agents)
        return Reply(mrkdwn("There is no agent called `{}`. Available: {}.", command.agent, names))
    request = task_request(origin, command.agent, command.request, default_policy(services.settings),
                           notify_task_queue=services.settings.baton_notify_task_queue, parameters=parameters,
                           idempotency_key=idempotency_key)
    loop = asyncio.get_running_loop()
    give_up_at, delay, tries = loop.time() + retry_for_s, _FIRST_RETRY_S, 0
    while True:
        tries += 1
        try:
            # Checked just above against the offered list; a second catalog lookup in the gateway would only add
            # latency.
            outcome = await services.gateway.submit(request, validate_agent=False)
            break
        except TemporalUnavailable:
            if loop.time() + delay > give_up_at:
                raise
            log.info("Temporal did not take task %s (try %d); trying again in %.1f s", request.task_id, tries, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LAST_RETRY_S)
    # After a failed try the task may exist because that very try reached Temporal before its answer was lost.
    if outcome.started:
        record_task_started(command.agent)
    if outcome.started or tries > 1:
        where = "this thread" if origin.thread_ts else "this channel"
        return Reply(f"Started `{outcome.task_id}` ({command.agent}). Progress will appear in {where}.",
                     task_id=outcome.task_id, started=True)
    return Reply(f"That request is already running as `{outcome.task_id}`.", task_id=outcome.task_id)


async def cancel(services: BotServices, task_id: str, reason: str, user_id: str, *,
                 posted_in: str | None = None) -> Reply:
    """Cancel for the requester or an admin; someone else who may see the task is told who may, and someone who
    may not is told it does not exist."""
    status = await visible_status(services, task_id, Reader(user_id, posted_in))
    if status.is_terminal:
        return Reply(f"Task `{task_id}` has already finished; this is no longer pending.")
    if not may_cancel(status.approval, status.requester.user_id, user_id):
        return Reply(mrkdwn("Only the requester ({}) or an admin can cancel `{}`.", mention(status.requester.user_id),
                            task_id))
    await services.gateway.cancel(task_id, CancellationV1(by=user_id, reason=reason[:500]))
    return Reply(f"Cancelling `{task_id}`.", task_id=task_id)


async def retry(services: BotServices, task_id: str, user_id: str, thread_ts: str | None = None) -> Reply:
    """Run a finished task's request again, as a new task in the same thread, for its requester or an admin.

    One retry per task, however often Retry is clicked: the new task's key names the task it retries. `thread_ts`
    is where the click came from, for a task whose request names no thread and whose status message is unknown."""
    old = await visible_status(services, task_id, Reader(user_id))
    if not may_cancel(old.approval, old.requester.user_id, user_id):
        return Reply(mrkdwn("Only the requester ({}) or an admin can retry this task.", mention(old.requester.user_id)))
    requester = old.requester
    origin = SlackOrigin(team_id=requester.team_id or "", channel_id=requester.channel_id or "",
                         user_id=requester.user_id, user_name=requester.user_name, identity_ts=task_id,
                         thread_ts=requester.thread_ts or old.slack.status_ts or thread_ts)
    return await run(services, RunCommand(old.agent, old.request_text), origin, parameters=old.parameters,
                     idempotency_key=f"retry:{task_id}")


def _agents(agents: list[AgentInfoV1]) -> Reply:
    if not agents:
        return Reply("No agents are configured.")
    lines = [f"• `{a.name}`: {a.description}" for a in agents]  # plain: escaped where it is posted
    return Reply("*Agents you can run* (`/baton run <agent> <request>`):\n" + "\n".join(lines))


async def _status(services: BotServices, command: StatusCommand, reader: Reader) -> Reply:
    now = utc_now()
    if command.task_id:
        status = await visible_status(services, command.task_id, reader)
        rendered = status_message(status, now=now, links=services.links)
        return Reply(rendered.text, [b for b in rendered.blocks if b["type"] != "actions"])
    tasks = await visible_tasks(services, await services.gateway.list_tasks(user_id=reader.user_id), reader)
    if not tasks:
        return Reply("You have no running tasks.")
    lines = [task_line(t, now=now, links=services.links) for t in tasks[:20]]
    return Reply(Mrkdwn("*Your running tasks*\n\n") + Mrkdwn("\n\n").join(lines))


async def _list(services: BotServices, reader: Reader) -> Reply:
    view = await home_for(services, reader.user_id, posted_in=reader.posted_in)
    return Reply("Your running tasks and the approvals waiting for you.", view["blocks"][2:])


async def home_for(services: BotServices, user_id: str, *, posted_in: str | None = None) -> dict[str, Any]:
    """The App Home view (also the body of `/baton list`): the running tasks this person started, and the
    approvals they may decide on tasks they may see. Tasks of their channels that they neither started nor may
    decide are not listed (visibility finds tasks by requester and by phase); `/baton status <task>` shows them."""
    reader = Reader(user_id, posted_in)
    groups = await services.directory.groups_of(user_id, services.settings.baton_approver_groups)
    try:
        mine = await visible_tasks(services, await services.gateway.list_tasks(user_id=user_id), reader)
        waiting = await visible_tasks(services, await services.gateway.waiting_for(user_id, groups), reader)
    except BatonError as exc:
        return home_view([], [], now=utc_now(), links=services.links, error=str(exc))
    return home_view(mine, waiting, now=utc_now(), links=services.links)
