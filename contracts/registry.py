"""Every contract model, by name: what `python -m contracts export` writes and the schema test checks."""

from __future__ import annotations

from pydantic import BaseModel

from contracts.activities import NotifyInputV1, NotifyResultV1, ResumeV1, RunAgentInputV1, RunAgentOutputV1
from contracts.catalog import AgentCatalogV1
from contracts.checkpoint import CheckpointV1, DecisionOutcomeV1, DecisionRecordV1, DecisionV1
from contracts.continuation import TaskContinuationV1
from contracts.conversation import (
    AnswerInputV1,
    AnswerOutputV1,
    ConversationAckV1,
    ConversationMessageV1,
    ConversationStartV1,
    ConversationStateV1,
)
from contracts.feedback import FeedbackOutcomeV1, FeedbackStartV1, FeedbackV1, TaskFeedbackV1
from contracts.result import TaskResultV1
from contracts.status import CancellationV1, ProgressEventV1, TaskStatusV1
from contracts.task import TaskRequestV1, TaskRequestV2
from contracts.thread_reply import ThreadRepliesV1, ThreadReplyOutcomeV1, ThreadReplyV1

EXPORTED_MODELS: tuple[type[BaseModel], ...] = (
    TaskRequestV1,
    TaskRequestV2,
    TaskStatusV1,
    ProgressEventV1,
    CheckpointV1,
    DecisionV1,
    DecisionOutcomeV1,
    DecisionRecordV1,
    TaskResultV1,
    CancellationV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    ResumeV1,
    NotifyInputV1,
    NotifyResultV1,
    AgentCatalogV1,
    TaskContinuationV1,
    ConversationStartV1,
    ConversationMessageV1,
    ConversationAckV1,
    ConversationStateV1,
    AnswerInputV1,
    AnswerOutputV1,
    ThreadReplyV1,
    ThreadReplyOutcomeV1,
    ThreadRepliesV1,
    FeedbackV1,
    FeedbackOutcomeV1,
    TaskFeedbackV1,
    FeedbackStartV1,
)
