"""The `answer_in_thread` activity: the bot's side of a ConversationWorkflow, run by its Temporal worker on the notify
queue, next to `notify`.

For one message it runs the front agent (model, demo model or `/baton` grammar) with the thread's memory, posts the
answer in the thread and returns it, so the workflow adds it to the memory; or it posts the workflow's notice (the
limit, a model that cannot be reached) without a model call. The model's calls are the activity's, so they get
Temporal's retries with backoff: provider errors are mapped as the workers map theirs (baton.llm_errors), a 429 or a
5xx retried, a rejected key or request not (the workflow then posts one notice saying so).

A model's answer streams into the thread as it is written (bot/answer_stream.py: chat.startStream, appendStream,
stopStream, with its fallbacks to a post or a chat.update); a notice, the grammar's reply and `/baton` help are posted.

Idempotent when retried: each answer carries message metadata naming the event it answers, and a retried attempt
looks for it in the thread before calling the model again. A streamed answer's messages are in the activity's
heartbeat from the moment Slack made them, so an attempt retried after a crash mid-stream (on any bot replica)
rewrites those messages with the whole answer instead of posting a second one.

A channel Baton is no longer in is not answered, and costs no model call: Slack's membership is asked first (cached,
see bot.members), and a post Slack refuses because Baton left is not retried.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from baton.llm_errors import translate_llm_error
from baton.redaction import scrub
from bot.answer_stream import REPLY_EVENT, AnswerWriter, StreamTarget, reply_metadata
from bot.blocks import slack_text
from bot.front_agent import FrontAgent
from bot.heartbeats import attempt, heartbeating
from bot.members import ConversationMembers
from bot.origin import SlackOrigin
from contracts import MAX_ANSWER_TEXT, AnswerInputV1, AnswerOutputV1, ConversationKeyV1, names

__all__ = ["REPLY_EVENT", "ConversationAnswers", "reply_metadata"]

log = logging.getLogger(__name__)
_GONE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
"""Slack's word that Baton is no longer in the conversation: nothing to answer there, nothing to retry."""
_PERMANENT = frozenset({"invalid_auth", "account_inactive", "token_revoked", "missing_scope", "msg_too_long",
                        "no_permission", "restricted_action"})
"""Slack errors a retry cannot fix."""


class ConversationAnswers:
    def __init__(self, client: AsyncWebClient, front_agent: FrontAgent, members: ConversationMembers) -> None:
        self._client = client
        self._front_agent = front_agent
        self._members = members
        self._bot_user_id: str | None = None

    @activity.defn(name=names.ANSWER_IN_THREAD_ACTIVITY)
    async def answer_in_thread(self, request: AnswerInputV1) -> AnswerOutputV1:
        made: list[str] = []  # the ts of the messages a streamed answer made so far: every heartbeat carries them
        async with heartbeating("baton-answer-heartbeat", lambda: (made,)):
            try:
                return await self._answer(request, made)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "unknown"))
                if error in _GONE:
                    log.info("Not answering in %s: Slack says %s", request.key.channel_id, error)
                    return AnswerOutputV1(remember=False)
                raise ApplicationError(f"Slack error: {error}", type=names.SLACK_ERROR,
                                       non_retryable=error in _PERMANENT) from None

    async def _answer(self, request: AnswerInputV1, made: list[str]) -> AnswerOutputV1:
        key, message, notice = request.key, request.message, request.kind == "notice"
        if attempt() > 1:
            earlier = await self._posted_before(key, message.event_id, message.ts, notice)
            if earlier is not None:
                return AnswerOutputV1(text=earlier[:MAX_ANSWER_TEXT], remember=not notice)
        if notice:
            text = request.notice
        elif not await self._still_in(key.channel_id):
            log.info("Not answering in %s: Baton is no longer a member", key.channel_id)
            return AnswerOutputV1(remember=False)
        else:
            origin = SlackOrigin(team_id=key.team_id, channel_id=key.channel_id, user_id=message.user_id,
                                 identity_ts=message.ts, thread_ts=key.thread_ts)
            if self._front_agent.uses_model and message.text:
                text = await self._stream_answer(request, origin, made)
                return AnswerOutputV1(text=text[:MAX_ANSWER_TEXT], remember=True)
            text = await self._run_front_agent(message.text, origin, request)
        await self._client.chat_postMessage(channel=key.channel_id, thread_ts=key.thread_ts,
                                            text=scrub(slack_text(text)),
                                            metadata=reply_metadata(message.event_id, notice))
        return AnswerOutputV1(text=str(text)[:MAX_ANSWER_TEXT], remember=not notice)

    async def _stream_answer(self, request: AnswerInputV1, origin: SlackOrigin, made: list[str]) -> str:
        """The model's answer streamed into the thread as it is written; an attempt retried after an earlier one
        made messages (its last heartbeat says which) rewrites those with the whole answer."""
        key, message = request.key, request.message

        def record(messages: list[str]) -> None:
            made[:] = messages
            if activity.in_activity():
                activity.heartbeat(made)

        target = StreamTarget(key.channel_id, key.thread_ts, key.team_id, message.user_id, message.event_id)
        writer = AnswerWriter(self._client, target, on_messages=record)
        earlier = _recorded_messages()
        if earlier:
            log.info("Rewriting the %d message(s) an earlier attempt made for %s", len(earlier), message.event_id)
            text = await self._run_front_agent(message.text, origin, request)
            await writer.replace(earlier, text)
            return text
        try:
            async for delta in self._front_agent.stream(message.text, origin, request.memory,
                                                        message.context_channel):
                await writer.add(delta)
        except Exception as exc:  # the messages made so far are in the heartbeat: the retry rewrites them
            raise self._failure(exc, origin) from None
        await writer.finish(None if writer.text.strip() else "Done.")
        return writer.text.strip()

    async def _run_front_agent(self, text: str, origin: SlackOrigin, request: AnswerInputV1) -> str:
        """The front agent's answer; a model-provider error becomes the Temporal failure the workers raise for it,
        anything else a non-retryable failure naming only its type (a bug: retrying calls the model again)."""
        try:
            return await self._front_agent.answer(text, origin, request.memory, request.message.context_channel)
        except Exception as exc:
            raise self._failure(exc, origin) from None

    @staticmethod
    def _failure(exc: Exception, origin: SlackOrigin) -> ApplicationError:
        failure = translate_llm_error(exc)
        if failure is not None:  # the provider's own words help an operator; the log filter scrubs secrets
            log.warning("The front agent's model failed on %s/%s: %s (%s)", origin.channel_id,
                        origin.identity_ts, failure.message, exc)
            return failure
        log.exception("The front agent failed on %s/%s", origin.channel_id, origin.identity_ts)
        return ApplicationError(f"The front agent failed ({type(exc).__name__})", type=type(exc).__name__,
                                non_retryable=True)

    async def _still_in(self, channel_id: str) -> bool:
        """Whether Baton is still a member of `channel_id`: a stale event from a channel it left gets no answer.
        When Slack cannot say (no members listed), Baton answers: better twice than never."""
        if channel_id.startswith("D"):
            return True
        members = await self._members.members(channel_id)
        return not members or await self._own_user_id() in members

    async def _own_user_id(self) -> str:
        if self._bot_user_id is None:
            self._bot_user_id = str((await self._client.auth_test())["user_id"])
        return self._bot_user_id

    async def _posted_before(self, key: ConversationKeyV1, event_id: str, since_ts: str, notice: bool) -> str | None:
        """The text of an answer an earlier attempt posted but never reported (the bot died, or the reply to
        Temporal was lost); None when there is none, or the thread cannot be read (answering twice beats never)."""
        try:
            response = await self._client.conversations_replies(channel=key.channel_id, ts=key.thread_ts,
                                                                oldest=since_ts, inclusive=True, limit=200,
                                                                include_all_metadata=True)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("Cannot read %s/%s for an earlier answer to %s (%s); answering", key.channel_id,
                        key.thread_ts, event_id, reason)
            return None
        wanted = reply_metadata(event_id, notice)
        for posted in response.get("messages") or []:
            if posted.get("metadata") == wanted:
                return str(posted.get("text") or "")
        return None


def _recorded_messages() -> list[str]:
    """The messages an earlier attempt of this activity made, from its last heartbeat (none on a first attempt)."""
    if not activity.in_activity() or activity.info().attempt <= 1:
        return []
    details = activity.info().heartbeat_details
    first = details[0] if details else None
    return [str(ts) for ts in first] if isinstance(first, list) else []
