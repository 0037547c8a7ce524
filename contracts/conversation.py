"""A Slack thread addressed to Baton as a Temporal workflow: what the bot sends it and what it asks the bot to do.

One `ConversationWorkflow` per thread (`contracts.ids.conversation_id`). The bot hands each mention or DM to it with
the `say` update (`ConversationMessageV1`, the Slack event id as the update id), and the workflow asks the bot's
`answer_in_thread` activity to answer (`AnswerInputV1` -> `AnswerOutputV1`), one message at a time, with the thread's
recent turns as the front agent's memory. Everything here is bounded: a thread's memory travels in every activity
input and every continue-as-new.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from contracts.common import MAX_REQUEST_TEXT, Contract, GrownContract, ShortText, UserId
from contracts.names import NOTIFY_TASK_QUEUE

__all__ = [
    "CHANNEL_ID_PATTERN",
    "MAX_ANSWER_TEXT",
    "AnswerInputV1",
    "AnswerOutputV1",
    "ConversationAckV1",
    "ConversationKeyV1",
    "ConversationLimitsV1",
    "ConversationMessageV1",
    "ConversationStartV1",
    "ConversationStateV1",
    "ConversationTurnV1",
]

MAX_ANSWER_TEXT = 4_000
"""Characters of an answer kept in memory (the thread shows the whole answer)."""
MAX_PENDING = 50
"""Messages a conversation holds unanswered; carried over a continue-as-new, so bounded with the payload in mind."""

SlackTs = Annotated[str, StringConstraints(min_length=1, max_length=32)]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ConversationText = Annotated[str, StringConstraints(max_length=MAX_REQUEST_TEXT)]
CHANNEL_ID_PATTERN = r"^[CGD][A-Z0-9]{2,30}$"
"""A Slack conversation id (public or private channel, DM): all a context channel may be, so it renders as a
channel link and nothing else."""
ChannelId = Annotated[str, StringConstraints(pattern=CHANNEL_ID_PATTERN)]


class ConversationKeyV1(Contract):
    """Which thread: the workflow id derives from it, and the bot answers there."""

    schema_version: Literal[1] = 1
    platform: Literal["slack"] = "slack"
    team_id: ShortText
    channel_id: ShortText
    thread_ts: SlackTs


class ConversationLimitsV1(Contract):
    """A conversation's bounds, fixed when it starts. The defaults keep every payload far below Temporal's limits:
    memory is in every answer's input, and a run allows 2,000 updates."""

    schema_version: Literal[1] = 1
    memory_turns: int = Field(default=40, ge=2, le=200)
    """Turns (people's messages and Baton's answers) the front agent sees, newest last."""
    memory_chars: int = Field(default=24_000, ge=1_000, le=200_000)
    """Characters of memory at most: the oldest turns go first."""
    messages_per_run: int = Field(default=500, ge=1, le=1_500)
    """Messages one run takes before it continues as new (and sooner when Temporal suggests it)."""
    max_messages: int = Field(default=2_000, ge=1, le=1_000_000)
    """Messages a conversation answers in all; the next one is told the limit once, later ones are ignored."""
    idle_close_after_s: int = Field(default=7 * 24 * 3600, ge=60)
    """A conversation with nothing to do for this long ends; a later message starts a fresh one."""


class ConversationMessageV1(GrownContract):
    """One person's message to Baton (a mention or a DM), as the bot read it from Slack."""

    added_fields: ClassVar[tuple[str, ...]] = ("context_channel",)

    schema_version: Literal[1] = 1
    event_id: EventId
    """Slack's event id: the update id too, so a redelivery (to any replica) is applied once."""
    user_id: UserId
    text: ConversationText
    """Without the leading mention of Baton; cut to MAX_REQUEST_TEXT by the bot."""
    ts: SlackTs
    """The message's own ts: tasks it starts derive their id from it, as before."""
    channel_type: ShortText | None = None
    notify_task_queue: ShortText | None = None
    """The queue of the bot replica that received it: its answer goes there (else the conversation's)."""
    context_channel: ChannelId | None = None
    """The channel the person was viewing beside Slack's assistant pane when they wrote it: context for the front
    agent, kept apart from `text` so it never becomes part of their words (a task's request, the thread's memory).
    None (left out of the payload) elsewhere."""


class ConversationTurnV1(Contract):
    """One turn of a conversation's memory."""

    schema_version: Literal[1] = 1
    role: Literal["person", "baton"]
    text: ConversationText
    user_id: UserId | None = None


class ConversationStartV1(Contract):
    """The workflow's input: set by the bot on the first message, then carried by every continue-as-new."""

    schema_version: Literal[1] = 1
    key: ConversationKeyV1
    notify_task_queue: ShortText = NOTIFY_TASK_QUEUE
    """The queue of the bot that answers this thread (its `answer_in_thread` worker)."""
    limits: ConversationLimitsV1 = Field(default_factory=ConversationLimitsV1)
    memory: list[ConversationTurnV1] = Field(default_factory=list, max_length=200)
    pending: list[ConversationMessageV1] = Field(default_factory=list, max_length=MAX_PENDING)
    """Messages accepted but not answered yet when the previous run continued as new."""
    recent_event_ids: list[EventId] = Field(default_factory=list, max_length=500)
    """Event ids seen lately: Temporal deduplicates update ids within a run, these across a continue-as-new."""
    messages_seen: int = Field(default=0, ge=0)
    """Messages accepted so far (all runs): the one past `limits.max_messages` is told the limit, later ones are
    ignored."""


class ConversationAckV1(Contract):
    """What `say` answers the bot: the message is durable in the conversation (or was already, or is over limits)."""

    schema_version: Literal[1] = 1
    outcome: Literal["queued", "duplicate", "over_limit"]
    position: int = Field(default=0, ge=0)
    """How many messages are ahead of it."""


class ConversationStateV1(Contract):
    """The `conversation` query: what the workflow holds (memory, counts), for operators and tests."""

    schema_version: Literal[1] = 1
    key: ConversationKeyV1
    memory: list[ConversationTurnV1]
    pending: int
    messages_seen: int
    limit_told: bool


class AnswerInputV1(Contract):
    """Asks the bot to answer one message in its thread: `answer` runs the front agent on `memory` and the message;
    `notice` posts `notice` as it is, with no model call (the limit message, a model that could not be reached)."""

    schema_version: Literal[1] = 1
    key: ConversationKeyV1
    kind: Literal["answer", "notice"] = "answer"
    message: ConversationMessageV1
    memory: list[ConversationTurnV1] = Field(default_factory=list, max_length=200)
    notice: ConversationText = ""


class AnswerOutputV1(Contract):
    schema_version: Literal[1] = 1
    text: ConversationText = ""
    """The answer as the front agent wrote it, cut to MAX_ANSWER_TEXT: the next turn's memory."""
    remember: bool = True
    """False for what is not part of the conversation (an error note, an answer Slack would not take)."""
