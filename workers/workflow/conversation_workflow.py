"""ConversationWorkflow: one Slack thread addressed to Baton (a mention, a DM), answered in order with its memory.

    bot --update `say` (update id = Slack event id; update-with-start)--> validator: room in the queue?
        handler: a redelivery (id seen) -> duplicate; past the bound -> over_limit; else queued
    bot --signal `said` (signal-with-start), when no worker took the update in time: the same, without an answer
        (a message already queued by the update, or a second delivery, is recognised by its event id)
    loop, one message at a time, in the order accepted:
        activity `answer_in_thread` on the bot's notify queue: the front agent on the thread's memory, the answer
        posted in the thread -> memory += the person's words and Baton's answer (bounded: turns and characters)
        the message past `max_messages`: the same activity posts the limit notice instead, once; later ones are
        acked over_limit and never reach a model
        a model that cannot be reached (401, 400, retries spent): one notice in the thread, the conversation goes on
    every `messages_per_run` messages, or when Temporal suggests it: continue as new, carrying memory, queue, counts
    and the event ids seen lately (Temporal deduplicates update ids within one run only)
    nothing to do for `idle_close_after_s`: the workflow ends; a later message starts a fresh conversation

No I/O and no clocks here: Slack and the model are reached through the bot's activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import (
        MAX_ANSWER_TEXT,
        AnswerInputV1,
        AnswerOutputV1,
        ConversationAckV1,
        ConversationMessageV1,
        ConversationStartV1,
        ConversationStateV1,
        ConversationTurnV1,
    )
    from contracts.conversation import MAX_PENDING
    from contracts.names import (
        ANSWER_IN_THREAD_ACTIVITY,
        CONVERSATION_BUSY,
        CONVERSATION_QUERY,
        CONVERSATION_WORKFLOW,
        LLM_AUTH_ERROR,
        LLM_BAD_REQUEST,
        LLM_ERROR_TYPES,
        SAY_SIGNAL,
        SAY_UPDATE,
    )

LIMIT_NOTICE = "This conversation has reached its limit; start a new thread to go on."
WENT_WRONG = "Sorry, something went wrong on Baton's side. Try again, or `/baton help`."
RECENT_EVENT_IDS = 200
"""Event ids carried across a continue-as-new: Slack redelivers within minutes, far fewer messages than this."""
ANSWER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[LLM_AUTH_ERROR, LLM_BAD_REQUEST],
)
ANSWER_GIVEN_UP_AFTER = timedelta(minutes=15)
"""A model or Slack down for a quarter of an hour is told in the thread (when Slack is back) rather than waited on."""
ANSWER_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A bot that dies mid-answer is noticed within this (the activity heartbeats every 2 s), not after 5 minutes."""


@workflow.defn(name=CONVERSATION_WORKFLOW)
class ConversationWorkflow:
    @workflow.init
    def __init__(self, start: ConversationStartV1) -> None:
        self._start = start
        self._limits = start.limits
        self._memory = list(start.memory)
        self._pending = list(start.pending)
        self._recent = list(start.recent_event_ids)
        self._accepted = start.messages_seen
        self._taken_this_run = 0

    @workflow.run
    async def run(self, start: ConversationStartV1) -> None:
        idle = timedelta(seconds=self._limits.idle_close_after_s)
        while True:
            try:
                await workflow.wait_condition(lambda: bool(self._pending) or self._time_to_continue(), timeout=idle)
            except TimeoutError:
                if not self._pending:
                    return
            if self._time_to_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
            if self._pending:
                number = self._accepted - len(self._pending) + 1  # this message's place in the whole conversation
                message = self._pending.pop(0)
                self._taken_this_run += 1
                if number > self._limits.max_messages:
                    await self._notice(message, LIMIT_NOTICE)
                else:
                    await self._answer(message)

    def _time_to_continue(self) -> bool:
        return self._taken_this_run >= self._limits.messages_per_run or workflow.info().is_continue_as_new_suggested()

    def _carried(self) -> ConversationStartV1:
        return self._start.model_copy(update={
            "memory": self._memory,
            "pending": self._pending,
            "recent_event_ids": self._recent[-RECENT_EVENT_IDS:],
            "messages_seen": self._accepted,
        })

    async def _answer(self, message: ConversationMessageV1) -> None:
        request = AnswerInputV1(key=self._start.key, message=message, memory=self._memory)
        try:
            output = await self._call_bot(message, request)
        except ActivityError as exc:
            self._remember(ConversationTurnV1(role="person", text=message.text, user_id=message.user_id))
            await self._notice(message, _failure_notice(exc))
            return
        self._remember(ConversationTurnV1(role="person", text=message.text, user_id=message.user_id))
        if output.remember and output.text:
            self._remember(ConversationTurnV1(role="baton", text=output.text[:MAX_ANSWER_TEXT]))

    async def _notice(self, message: ConversationMessageV1, text: str) -> None:
        """Posts `text` in the thread without a model; a thread Slack will not take for a quarter of an hour is
        given up on (logged), not retried for ever."""
        request = AnswerInputV1(key=self._start.key, kind="notice", message=message, notice=text)
        try:
            await self._call_bot(message, request)
        except ActivityError as exc:
            workflow.logger.warning("Could not post a notice in %s: %s", workflow.info().workflow_id, exc.cause)

    async def _call_bot(self, message: ConversationMessageV1, request: AnswerInputV1) -> AnswerOutputV1:
        return await workflow.execute_activity(
            ANSWER_IN_THREAD_ACTIVITY,
            request,
            task_queue=message.notify_task_queue or self._start.notify_task_queue,
            result_type=AnswerOutputV1,
            retry_policy=ANSWER_RETRY,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=ANSWER_HEARTBEAT_TIMEOUT,
            schedule_to_close_timeout=ANSWER_GIVEN_UP_AFTER,
        )

    def _remember(self, turn: ConversationTurnV1) -> None:
        """Memory is the last `memory_turns` turns within `memory_chars` characters: it rides in every answer's
        input and every continue-as-new, so it stays far below Temporal's payload limits."""
        self._memory.append(turn)
        del self._memory[:-self._limits.memory_turns]
        while len(self._memory) > 1 and sum(len(t.text) for t in self._memory) > self._limits.memory_chars:
            self._memory.pop(0)

    @workflow.update(name=SAY_UPDATE)
    def say(self, message: ConversationMessageV1) -> ConversationAckV1:
        return self._take(message)

    @say.validator
    def _validate_say(self, message: ConversationMessageV1) -> None:
        """Refused without a trace in history: a thread flooded faster than Baton answers it."""
        if len(self._pending) >= MAX_PENDING and message.event_id not in self._recent:
            raise ApplicationError(f"{MAX_PENDING} messages are already waiting for an answer", type=CONVERSATION_BUSY)

    @workflow.signal(name=SAY_SIGNAL)
    def said(self, message: ConversationMessageV1) -> None:
        """The message recorded while no worker ran; a signal cannot be refused, so a flood past the bound is
        dropped here (logged), as the update's validator would have refused it."""
        if len(self._pending) >= MAX_PENDING and message.event_id not in self._recent:
            workflow.logger.warning("Dropped event %s: %d messages already wait", message.event_id, MAX_PENDING)
            return
        self._take(message)

    def _take(self, message: ConversationMessageV1) -> ConversationAckV1:
        if message.event_id in self._recent:  # a redelivery: Temporal's update id covers one run, this all of them
            return ConversationAckV1(outcome="duplicate")
        self._recent.append(message.event_id)
        del self._recent[:-RECENT_EVENT_IDS]
        if self._accepted > self._limits.max_messages:  # told once already: ignored, no model, no answer
            return ConversationAckV1(outcome="over_limit")
        self._accepted += 1
        self._pending.append(message)
        outcome = "over_limit" if self._accepted > self._limits.max_messages else "queued"
        return ConversationAckV1(outcome=outcome, position=len(self._pending) - 1)

    @workflow.query(name=CONVERSATION_QUERY)
    def conversation(self) -> ConversationStateV1:
        return ConversationStateV1(
            key=self._start.key,
            memory=self._memory,
            pending=len(self._pending),
            messages_seen=self._accepted,
            limit_told=self._accepted > self._limits.max_messages,
        )


def _failure_notice(exc: ActivityError) -> str:
    """What the thread is told when an answer failed for good: the model's error in its own words (written for
    people, and scrubbed of secrets by the bot), anything else without details."""
    cause = exc.cause
    last = cause.cause if isinstance(cause, TemporalTimeoutError) else cause  # retries ran out: the last failure
    if isinstance(last, ApplicationError) and last.type in LLM_ERROR_TYPES:
        return f"I could not reach the model: {last.message}"[:2_000]
    if isinstance(cause, TemporalTimeoutError):
        return "I could not answer in time; please ask again in a while."
    return WENT_WRONG
