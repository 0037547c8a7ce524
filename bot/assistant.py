"""Baton in Slack's assistant pane (bolt's AsyncAssistant): suggested prompts from the live agent catalog when a thread
opens, the channel the person is looking at kept with the thread, a status and a title while a message is handled
(and "is starting <agent>…" once the front agent starts a task: bot.assistant_status, from the delegation tool).

A person's message in an assistant thread is the same durable conversation as a mention or a DM: the listener
middleware `conversation_intake` (bot.listeners.events) makes it durable in the thread's ConversationWorkflow before
bolt's ack, the Slack event id as the update id, so a redelivery is answered once. The assistant is global middleware
that, once its listener ran, does not pass the event on: the DM listener never sees the same message (answered once).
A reply under a task's status message in a DM is the task's, as anywhere else: the assistant steps aside for it and
listeners/thread_replies.py takes it.

A thread is greeted once, however often Slack delivers its assistant_thread_started (it redelivers an event it did
not see acked in time): the thread is the record, read before greeting and again after (`_greeted_first`).

The thread's channel context lives in the metadata of Baton's greeting in the thread (bolt's default store, so any
replica reads it: no state in the bot). A message sent while the person looks at a channel carries that channel in
its own field (ConversationMessageV1.context_channel), never in the person's words: the front agent tells its model
in a system line, and a task it starts gets exactly what the person typed.

Slack documents at most 4 suggested prompts and no length for their title or message; Baton keeps a title to one
line of the pane (MAX_PROMPT_TITLE) and a message short (MAX_PROMPT_MESSAGE).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from slack_bolt.async_app import AsyncApp, AsyncAssistant, AsyncBoltContext
from slack_bolt.context.get_thread_context.async_get_thread_context import AsyncGetThreadContext
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import AsyncSetSuggestedPrompts
from slack_bolt.context.set_title.async_set_title import AsyncSetTitle
from slack_bolt.middleware.async_custom_middleware import AsyncCustomMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.assistant_status import set_thread_status, starting_status
from bot.blocks import safe_blocks, slack_text
from bot.blocks.text import Mrkdwn, inert_label
from bot.listeners.events import CONTEXT_CHANNEL, conversation_intake
from bot.services import BotServices
from bot.thread_replies import task_of_thread, thread_reply
from contracts import AgentInfoV1
from contracts.conversation import CHANNEL_ID_PATTERN

__all__ = [
    "CHECKING_STATUS",
    "CONTEXT_EVENT",
    "MAX_PROMPTS",
    "MAX_PROMPT_MESSAGE",
    "MAX_PROMPT_TITLE",
    "MAX_THREAD_TITLE",
    "Prompt",
    "register",
    "set_thread_status",
    "starting_status",
    "suggested_prompts",
    "thread_title",
]

log = logging.getLogger(__name__)
MAX_PROMPTS = 4
"""Slack's bound (assistant.threads.setSuggestedPrompts: "up to four suggested prompts")."""
MAX_PROMPT_TITLE = 40
"""Baton's: a prompt's title stays one line in the pane (Slack documents no bound)."""
MAX_PROMPT_MESSAGE = 200
"""Baton's: the message a click sends is a request, not an essay (Slack documents no bound)."""
MAX_THREAD_TITLE = 60
"""Baton's: the thread's title in the pane's history, from the first message."""
CHECKING_STATUS = "is checking the catalog…"
CONTEXT_EVENT = "assistant_thread_context"
"""bolt's metadata event_type for the thread's context (its default store reads and writes it)."""
GREETING = Mrkdwn("Hi! I run Baton's agents for you: ask in your own words, or pick a suggestion below.")
PROMPTS_TITLE = "Try one of Baton's agents"
_CHANNEL_ID = re.compile(CHANNEL_ID_PATTERN)
_TITLE = "baton_assistant_title"
"""Where the middleware leaves the thread's title for the listener, in bolt's context (first message only)."""


@dataclass(frozen=True)
class Prompt:
    title: str
    message: str

    def to_slack(self) -> dict[str, str]:
        return {"title": self.title, "message": self.message}


def suggested_prompts(agents: Sequence[AgentInfoV1]) -> list[Prompt]:
    """One prompt per agent, the catalog's first MAX_PROMPTS: its description's first clause in the imperative as the
    title ("Audits the fleet..." -> "Audit the fleet"), and "run <agent> <that clause>" as the message, which the
    front agent (model or demo) takes as a request to start that agent."""
    prompts = []
    for agent in agents[:MAX_PROMPTS]:
        clause = _imperative(_first_clause(agent.description)) or f"Run {agent.name}"
        title = inert_label(_cut_at_word(clause, MAX_PROMPT_TITLE), MAX_PROMPT_TITLE)
        message = inert_label(_cut_at_word(f"run {agent.name} {clause[:1].lower()}{clause[1:]}", MAX_PROMPT_MESSAGE),
                              MAX_PROMPT_MESSAGE)
        prompts.append(Prompt(title, message))
    return prompts


def thread_title(text: str) -> str:
    """The thread's title: the first line of the person's first message, cut at a word, made inert."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "") or "New request"
    return inert_label(_cut_at_word(first_line, MAX_THREAD_TITLE), MAX_THREAD_TITLE)


def register(app: AsyncApp, services: BotServices) -> None:
    assistant = AsyncAssistant(logger=log)
    hand_over = AsyncCustomMiddleware(app_name=app.name, func=conversation_intake(services), base_logger=log)

    @assistant.thread_started
    async def on_thread_started(body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext,
                                say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts,
                                get_thread_context: AsyncGetThreadContext) -> None:
        """Greets (the greeting carries the thread's context: bolt's store) and offers the catalog's agents, once
        per thread: see `_greeted_first`."""
        thread = (body.get("event") or {}).get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not isinstance(channel, str) or not isinstance(thread_ts, str):
            log.warning("Ignored assistant_thread_started %s: no channel or thread", body.get("event_id"))
            return
        if await _greetings(client, channel, thread_ts, context.bot_user_id):
            log.info("assistant_thread_started %s again: the thread has its greeting", body.get("event_id"))
            return
        thread_context = await get_thread_context()
        posted = await say(text=slack_text(GREETING), blocks=safe_blocks([{"type": "section", "text": {
            "type": "mrkdwn", "text": GREETING}}]),
            metadata={"event_type": CONTEXT_EVENT, "event_payload": dict(thread_context or {})})
        if not await _greeted_first(client, channel, thread_ts, context.bot_user_id, str(posted.get("ts"))):
            return
        prompts = suggested_prompts((await services.offered.get()).agents)
        if prompts:
            await set_suggested_prompts(prompts=[p.to_slack() for p in prompts], title=PROMPTS_TITLE)

    assistant.thread_context_changed(AsyncAssistant.default_thread_context_changed)

    async def leave_task_replies(body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient,
                                 next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """A reply under a task's status message goes to the task: not calling `next` passes the event on, past
        the assistant, to listeners/thread_replies.py."""
        read = thread_reply(body, context.bot_user_id)
        if read is not None and await task_of_thread(client, read[0], read[1], context.bot_user_id) is not None:
            return None
        await next()
        return None

    async def show_working(body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient,
                           request: AsyncBoltRequest, next: Callable[[], Awaitable[None]]) -> None:
        """Before the hand-over, so the status never lands after the answer (which clears it): the status, and the
        channel the person looks at, left in bolt's context for the hand-over to carry beside their words. Slack's
        retry of an event (X-Slack-Retry-Num, which bolt's Socket Mode adapter mirrors) sets neither status nor
        title again: the first delivery did, and a retry of a message answered already would leave a status nothing
        clears."""
        event = body["event"]
        retried = bool(request.headers.get("x-slack-retry-num"))
        head = await _thread_head(client, event["channel"], event["thread_ts"], context.bot_user_id)
        if not retried:
            await set_thread_status(client, event["channel"], event["thread_ts"], CHECKING_STATUS)
        text = event.get("text")
        if not retried and head.first_person_ts in (None, event.get("ts")) and isinstance(text, str):
            context[_TITLE] = thread_title(text)
        if head.context_channel:
            context[CONTEXT_CHANNEL] = head.context_channel
        await next()

    # bolt's hint says one middleware, but its listener builder inserts into a list: a list is what works.
    steps = [AsyncCustomMiddleware(app_name=app.name, func=leave_task_replies),
             AsyncCustomMiddleware(app_name=app.name, func=show_working), hand_over]

    @assistant.user_message(middleware=cast(Any, steps))
    async def on_user_message(event: dict[str, Any], context: AsyncBoltContext, set_title: AsyncSetTitle) -> None:
        """Acked by bolt; the message is durable already. Names the thread after its first message."""
        title = context.get(_TITLE)
        if isinstance(title, str):
            try:
                await set_title(title)
            except SlackApiError as exc:
                log.info("No assistant title in %s: Slack answered %s", event.get("channel"),
                         exc.response.get("error"))

    app.assistant(assistant)


async def _greetings(client: AsyncWebClient, channel: str, thread_ts: str, bot_user_id: str | None) -> list[str]:
    """The ts of Baton's greetings in the thread, oldest first; none when Slack cannot say (greeting twice beats
    never)."""
    try:
        answer = await client.conversations_replies(channel=channel, ts=thread_ts, limit=20, include_all_metadata=True)
    except (SlackClientError, OSError, TimeoutError) as exc:
        log.info("Cannot read the assistant thread in %s: %s", channel, type(exc).__name__)
        return []
    return sorted((str(m["ts"]) for m in answer.get("messages") or [] if isinstance(m, dict)
                   and m.get("user") == bot_user_id and m.get("ts") != thread_ts
                   and (m.get("metadata") or {}).get("event_type") == CONTEXT_EVENT), key=float)


async def _greeted_first(client: AsyncWebClient, channel: str, thread_ts: str, bot_user_id: str | None,
                         posted_ts: str) -> bool:
    """Whether the greeting just posted is the thread's only one, or its first; a later one is deleted.

    Slack delivers assistant_thread_started again when its first delivery was not acked in time, so a redelivery
    often meets the first still at work, on this replica or another: both read an empty thread and both greet. The
    thread itself is the record (durable, shared by every replica, nothing kept in the bot): after greeting, each
    reads it again, and every greeting but the oldest is withdrawn by the delivery that posted it. Only the oldest
    one's delivery goes on to suggest the prompts."""
    greetings = await _greetings(client, channel, thread_ts, bot_user_id)
    if not greetings or greetings[0] == posted_ts:
        return True
    log.info("Withdrew a second greeting in %s: assistant_thread_started was delivered twice", channel)
    try:
        await client.chat_delete(channel=channel, ts=posted_ts)
    except (SlackClientError, OSError, TimeoutError) as exc:
        log.info("Cannot withdraw the second greeting in %s: %s", channel, type(exc).__name__)
    return False


@dataclass(frozen=True)
class _Head:
    context_channel: str | None
    """The channel the person was looking at, as the thread's context (bolt's store) says."""
    first_person_ts: str | None
    """The ts of the first message a person wrote in the thread."""


async def _thread_head(client: AsyncWebClient, channel: str, thread_ts: str, bot_user_id: str | None) -> _Head:
    """The thread's first replies, read once: where the context is (the greeting's metadata, as bolt's default store
    writes it) and which message opened the conversation. Slack not answering costs the context line and the title,
    never the message."""
    try:
        answer = await client.conversations_replies(channel=channel, ts=thread_ts, limit=20,
                                                    include_all_metadata=True)
    except (SlackClientError, OSError, TimeoutError) as exc:
        log.info("Cannot read the assistant thread in %s: %s", channel, type(exc).__name__)
        return _Head(None, None)
    messages = [m for m in answer.get("messages") or [] if isinstance(m, dict) and not m.get("subtype")]
    context_channel = None
    for message in messages:
        if message.get("user") == bot_user_id and message.get("ts") != thread_ts:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            candidate = payload.get("channel_id") if metadata.get("event_type") == CONTEXT_EVENT else None
            context_channel = candidate if isinstance(candidate, str) and _CHANNEL_ID.match(candidate) else None
            break
    first = next((str(m["ts"]) for m in messages if m.get("ts") != thread_ts and not m.get("bot_id")
                  and m.get("user") not in (None, bot_user_id)), None)
    return _Head(context_channel, first)


def _first_clause(text: str) -> str:
    return re.split(r"[.:;,(]|\s[-–—]\s", text.strip(), maxsplit=1)[0].strip()


def _imperative(clause: str) -> str:
    """"Audits the fleet" -> "Audit the fleet", "Analyses ..." -> "Analyse ...": a description opens with a verb in
    the third person; a prompt is the person's own request."""
    verb, _, rest = clause.partition(" ")
    if len(verb) > 3 and verb.endswith("s") and not verb.endswith("ss") and verb[:1].isupper():
        verb = verb[:-2] if verb.endswith(("ches", "shes", "sses", "xes")) else verb[:-1]
    return f"{verb} {rest}".strip()


def _cut_at_word(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"
