"""Baton's contracts: the pydantic models that cross a process boundary. Imports nothing but pydantic."""

from contracts import names
from contracts.activities import (
    NotifyInputV1,
    NotifyKind,
    NotifyResultV1,
    ResumeV1,
    RunAgentInputV1,
    RunAgentOutputV1,
)
from contracts.approval import (
    NO_LONGER_PENDING,
    already_decided,
    args_digest,
    changes_args,
    current_args,
    may_cancel,
    refusal_reason,
)
from contracts.catalog import AgentCatalogV1, AgentInfoV1
from contracts.checkpoint import (
    ApprovalV1,
    CheckpointV1,
    DecisionKind,
    DecisionOutcomeV1,
    DecisionRecordV1,
    DecisionV1,
    ProposedActionV1,
)
from contracts.common import MAX_EVENTS_KEPT, MAX_REQUEST_TEXT, utc_now
from contracts.continuation import TaskContinuationV1
from contracts.conversation import (
    MAX_ANSWER_TEXT,
    AnswerInputV1,
    AnswerOutputV1,
    ConversationAckV1,
    ConversationKeyV1,
    ConversationLimitsV1,
    ConversationMessageV1,
    ConversationStartV1,
    ConversationStateV1,
    ConversationTurnV1,
)
from contracts.ids import conversation_id, slack_idempotency_key, task_id_for
from contracts.result import ArtifactV1, ErrorInfoV1, TaskResultV1, UsageV1
from contracts.status import (
    TERMINAL_PHASES,
    CancellationV1,
    Phase,
    ProgressEventV1,
    ProgressV1,
    SlackMessagesV1,
    TaskStatusV1,
)
from contracts.task import ApprovalPolicyV1, ExecutionOptionsV1, RequesterV1, TaskRequestV1
from contracts.thread_reply import ThreadRepliesV1, ThreadReplyOutcomeV1, ThreadReplyV1, may_reply

__all__ = [
    "MAX_ANSWER_TEXT",
    "MAX_EVENTS_KEPT",
    "MAX_REQUEST_TEXT",
    "NO_LONGER_PENDING",
    "TERMINAL_PHASES",
    "AgentCatalogV1",
    "AgentInfoV1",
    "AnswerInputV1",
    "AnswerOutputV1",
    "ApprovalPolicyV1",
    "ApprovalV1",
    "ArtifactV1",
    "CancellationV1",
    "CheckpointV1",
    "ConversationAckV1",
    "ConversationKeyV1",
    "ConversationLimitsV1",
    "ConversationMessageV1",
    "ConversationStartV1",
    "ConversationStateV1",
    "ConversationTurnV1",
    "DecisionKind",
    "DecisionOutcomeV1",
    "DecisionRecordV1",
    "DecisionV1",
    "ErrorInfoV1",
    "ExecutionOptionsV1",
    "NotifyInputV1",
    "NotifyKind",
    "NotifyResultV1",
    "Phase",
    "ProgressEventV1",
    "ProgressV1",
    "ProposedActionV1",
    "RequesterV1",
    "ResumeV1",
    "RunAgentInputV1",
    "RunAgentOutputV1",
    "SlackMessagesV1",
    "TaskContinuationV1",
    "TaskRequestV1",
    "TaskResultV1",
    "TaskStatusV1",
    "ThreadRepliesV1",
    "ThreadReplyOutcomeV1",
    "ThreadReplyV1",
    "UsageV1",
    "already_decided",
    "args_digest",
    "changes_args",
    "conversation_id",
    "current_args",
    "may_cancel",
    "may_reply",
    "names",
    "refusal_reason",
    "slack_idempotency_key",
    "task_id_for",
    "utc_now",
]
