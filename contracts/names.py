"""Every name both sides of Temporal use, in one place: the processes that start, query, signal and decide a task
and the worker that runs it never import each other, so each registered name is a string they must agree on.

Changing a value here renames something Temporal has recorded (workflow types, handler and activity names, memo and
search-attribute keys appear in every history), so tasks already in flight would stop replaying: add, never rename.
A test (`tests/unit/test_names.py`) fails when one of these strings is spelt out anywhere else in product code.
Search-attribute keys are temporalio objects: contracts hold their names only; Temporal-side code builds the keys.
"""

from __future__ import annotations

from typing import Final

# Workflow types.
AGENT_WORKFLOW: Final = "AgentWorkflow"
"""One durable task (workers/workflow/agent_workflow.py)."""
CATALOG_WORKFLOW: Final = "AgentCatalogWorkflow"
"""Which agents the workers on one task queue offer (workers/workflow/catalog_workflow.py)."""
CONVERSATION_WORKFLOW: Final = "ConversationWorkflow"
"""One Slack thread addressed to Baton (workers/workflow/conversation_workflow.py)."""
FEEDBACK_WORKFLOW: Final = "TaskFeedbackWorkflow"
"""People's ratings of one task's answer (workers/workflow/feedback_workflow.py); see `feedback_workflow_id`."""

# AgentWorkflow's handlers.
STATUS_QUERY: Final = "status"
PROGRESS_SIGNAL: Final = "progress"
CANCEL_SIGNAL: Final = "cancel"
DECIDE_UPDATE: Final = "decide"
REPLY_UPDATE: Final = "reply"
"""A person's reply in the task's Slack thread (contracts.thread_reply); its update id is the Slack event id."""
THREAD_REPLIES_QUERY: Final = "thread_replies"
"""The replies the workflow holds for its agent: the agent's run reads them into its `human_messages` channel."""

# AgentCatalogWorkflow's handlers.
AGENTS_QUERY: Final = "agents"
REGISTER_SIGNAL: Final = "register"

# ConversationWorkflow's handlers.
SAY_UPDATE: Final = "say"
"""A person's message to Baton; its update id is the Slack event id."""
SAY_SIGNAL: Final = "said"
"""The same message when no worker took the update in time: a signal is durable at once, worker or not; the workflow
recognises a message it already has by its event id."""
CONVERSATION_QUERY: Final = "conversation"

# TaskFeedbackWorkflow's handlers and memo key.
FEEDBACK_UPDATE: Final = "feedback"
"""One click on a final message's feedback buttons (contracts.feedback.FeedbackV1), by update-with-start."""
FEEDBACK_SIGNAL: Final = "feedback_later"
"""The same click when no worker took the update in time: durable at once; the workflow recognises it by click id."""
FEEDBACK_QUERY: Final = "task_feedback"
FEEDBACK_MEMO: Final = "feedback"
"""The TaskFeedbackV1, kept current: readable by `describe()` with no worker running and after the workflow closed."""
FEEDBACK_WORKFLOW_ID: Final = "feedback"
"""Prefix of the feedback workflows' ids; see `feedback_workflow_id`."""


def feedback_workflow_id(task_id: str) -> str:
    """One feedback workflow per task, beside it: the task's own workflow has usually closed when people rate it."""
    return f"{FEEDBACK_WORKFLOW_ID}-{task_id}"

# Activities.
RUN_AGENT_ACTIVITY: Final = "run_agent"
"""Runs the agent's graph, on the workers' task queue."""
NOTIFY_ACTIVITY: Final = "notify"
"""Brings a Slack thread up to date, on the requester's notify queue (the bot's)."""
ANSWER_IN_THREAD_ACTIVITY: Final = "answer_in_thread"
"""Runs the front agent on one message of a conversation and answers in its thread, on the bot's notify queue."""

# Task queues: the defaults of BATON_TASK_QUEUE and BATON_NOTIFY_TASK_QUEUE.
AGENTS_TASK_QUEUE: Final = "agents"
NOTIFY_TASK_QUEUE: Final = "baton-slack"

# Memo keys of an AgentWorkflow.
REQUEST_MEMO: Final = "request"
"""The TaskRequestV1, set at start: a task can be described while no worker runs."""
FINAL_STATUS_MEMO: Final = "final_status"
"""The final TaskStatusV1, set as the task ends: a query on a closed workflow needs a worker, `describe()` does not."""

# Keyword search attributes (the namespace must have them registered; `baton dev` does).
AGENT_ATTRIBUTE: Final = "BatonAgent"
REQUESTER_ATTRIBUTE: Final = "BatonRequester"
CHANNEL_ATTRIBUTE: Final = "BatonChannel"
PHASE_ATTRIBUTE: Final = "BatonPhase"
SEARCH_ATTRIBUTES: Final = (AGENT_ATTRIBUTE, REQUESTER_ATTRIBUTE, CHANNEL_ATTRIBUTE, PHASE_ATTRIBUTE)

CATALOG_WORKFLOW_ID: Final = "baton-agent-catalog"
"""Prefix of the catalog workflows' ids; see `catalog_workflow_id`."""


def catalog_workflow_id(task_queue: str) -> str:
    """The catalog is kept per task queue, not per namespace: deployments (and tests) that share a namespace on
    different queues run different agents."""
    return f"{CATALOG_WORKFLOW_ID}-{task_queue}"


# Error types (ApplicationError.type). The decide update rejects a decision with one of these; the gateway maps each.
CHECKPOINT_NOT_PENDING: Final = "CheckpointNotPending"
DECISION_NOT_ALLOWED: Final = "DecisionNotAllowed"
DECIDE_ERROR_TYPES: Final = (CHECKPOINT_NOT_PENDING, DECISION_NOT_ALLOWED)
REPLY_NOT_ALLOWED: Final = "ReplyNotAllowed"
"""The `reply` update refuses a reply from someone who may not talk to the task."""
REPLY_AFTER_FINISH: Final = "ReplyAfterFinish"
"""The `reply` update refuses a reply to a task that has finished (and is closing)."""

# A failed task: `run_agent` raises these, and AgentWorkflow fails with the same type and records it in
# TaskResultV1.error. Any other exception an agent raises keeps its class name and is retried.
AGENT_FAILED: Final = "AgentFailed"
UNKNOWN_AGENT: Final = "UnknownAgent"
INVALID_REQUEST: Final = "InvalidRequest"
TIMEOUT: Final = "Timeout"
LLM_RATE_LIMITED: Final = "LLMRateLimited"
LLM_UNAVAILABLE: Final = "LLMUnavailable"
LLM_AUTH_ERROR: Final = "LLMAuthError"
LLM_BAD_REQUEST: Final = "LLMBadRequest"
LLM_ERROR_TYPES: Final = (LLM_RATE_LIMITED, LLM_UNAVAILABLE, LLM_AUTH_ERROR, LLM_BAD_REQUEST)
CHECKPOINT_TOO_LARGE: Final = "CheckpointTooLarge"
"""The agent interrupted with arguments, an interrupt value or an argument schema over the checkpoint size bound
(contracts.checkpoint.MAX_ARGS_BYTES). Raised with `non_retryable=True` on the error itself, and deliberately not
in NON_RETRYABLE_ERROR_TYPES: that list is part of every recorded ScheduleActivityTask command."""
AGENT_VERSION_MISMATCH: Final = "AgentVersionMismatch"
"""The task's agent checkpoint was written by a version of its graph this worker does not run, or waits at a node
the graph no longer has (workers.graph_version). Non-retryable on the error itself, like CHECKPOINT_TOO_LARGE."""
TASK_FAILURE_TYPES: Final = (
    AGENT_FAILED, UNKNOWN_AGENT, INVALID_REQUEST, TIMEOUT, CHECKPOINT_TOO_LARGE, AGENT_VERSION_MISMATCH,
    *LLM_ERROR_TYPES,
)
NON_RETRYABLE_ERROR_TYPES: Final = (UNKNOWN_AGENT, INVALID_REQUEST, LLM_AUTH_ERROR, LLM_BAD_REQUEST)
"""`run_agent` failures a retry cannot help (AgentFailed is absent: an agent may ask for a retry)."""

# The notify activity's own failures (AgentWorkflow only logs them: a thread that cannot be updated fails nothing).
TASK_BUSY: Final = "TaskBusy"
"""No worker answered the task's status query yet: retried (benign) until one does."""
SLACK_ERROR: Final = "SlackError"

# ConversationWorkflow's own failures.
CONVERSATION_BUSY: Final = "ConversationBusy"
"""The `say` validator refuses a message while the conversation already holds its bound of unanswered ones."""

__all__ = [
    "AGENTS_QUERY",
    "AGENTS_TASK_QUEUE",
    "AGENT_ATTRIBUTE",
    "AGENT_FAILED",
    "AGENT_VERSION_MISMATCH",
    "AGENT_WORKFLOW",
    "ANSWER_IN_THREAD_ACTIVITY",
    "CANCEL_SIGNAL",
    "CATALOG_WORKFLOW",
    "CATALOG_WORKFLOW_ID",
    "CHANNEL_ATTRIBUTE",
    "CHECKPOINT_NOT_PENDING",
    "CHECKPOINT_TOO_LARGE",
    "CONVERSATION_BUSY",
    "CONVERSATION_QUERY",
    "CONVERSATION_WORKFLOW",
    "DECIDE_ERROR_TYPES",
    "DECIDE_UPDATE",
    "DECISION_NOT_ALLOWED",
    "FEEDBACK_MEMO",
    "FEEDBACK_QUERY",
    "FEEDBACK_SIGNAL",
    "FEEDBACK_UPDATE",
    "FEEDBACK_WORKFLOW",
    "FEEDBACK_WORKFLOW_ID",
    "FINAL_STATUS_MEMO",
    "INVALID_REQUEST",
    "LLM_AUTH_ERROR",
    "LLM_BAD_REQUEST",
    "LLM_ERROR_TYPES",
    "LLM_RATE_LIMITED",
    "LLM_UNAVAILABLE",
    "NON_RETRYABLE_ERROR_TYPES",
    "NOTIFY_ACTIVITY",
    "NOTIFY_TASK_QUEUE",
    "PHASE_ATTRIBUTE",
    "PROGRESS_SIGNAL",
    "REGISTER_SIGNAL",
    "REPLY_AFTER_FINISH",
    "REPLY_NOT_ALLOWED",
    "REPLY_UPDATE",
    "REQUESTER_ATTRIBUTE",
    "REQUEST_MEMO",
    "RUN_AGENT_ACTIVITY",
    "SAY_SIGNAL",
    "SAY_UPDATE",
    "SEARCH_ATTRIBUTES",
    "SLACK_ERROR",
    "STATUS_QUERY",
    "TASK_BUSY",
    "TASK_FAILURE_TYPES",
    "THREAD_REPLIES_QUERY",
    "TIMEOUT",
    "UNKNOWN_AGENT",
    "catalog_workflow_id",
    "feedback_workflow_id",
]
