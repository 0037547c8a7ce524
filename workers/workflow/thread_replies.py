"""Replies from a task's Slack thread, as AgentWorkflow holds them: where each one goes, and the ones kept for the
agent. Pure and deterministic (workflow code): no I/O, no clock.

    reply --(a finished task, or someone `may_reply` refuses)--> rejected: nothing in history
          --(a checkpoint allowing respond is pending, and the person may respond)--> the checkpoint's response
          --(a group of questions where exactly one undecided question takes a free-text answer, and the person
             may respond to it)--> that question's response (`group_question`)
          --(otherwise)--> kept for the agent; its run reads them (`thread_replies`) at each step
"""

from __future__ import annotations

from typing import Literal

from contracts import TERMINAL_PHASES, ApprovalPolicyV1, CheckpointV1, DecisionV1, refusal_reason
from contracts.thread_reply import MAX_REPLIES_KEPT, ThreadRepliesV1, ThreadReplyV1, may_reply

__all__ = ["ReplyBox", "Route", "group_question", "respond_decision", "route"]

Route = Literal["respond", "deliver", "finished", "refused"]


def route(policy: ApprovalPolicyV1, requester_id: str, phase: str, checkpoint: CheckpointV1 | None,
          deciding: bool, reply: ThreadReplyV1) -> Route:
    """Where `reply` goes (`finished` and `refused` go nowhere). `checkpoint` is the pending one; `deciding` says a
    decision for it is already in (the reply then waits for the agent like any other)."""
    if phase in TERMINAL_PHASES:
        return "finished"
    if not may_reply(policy, requester_id, reply.user_id, reply.user_groups, checkpoint):
        return "refused"
    if (checkpoint is not None and not deciding and "respond" in checkpoint.allowed_decisions
            and refusal_reason(policy, requester_id, checkpoint, "respond", reply.user_id, reply.user_groups) is None):
        return "respond"
    return "deliver"


def group_question(policy: ApprovalPolicyV1, requester_id: str, checkpoint: CheckpointV1,
                   reply: ThreadReplyV1) -> int | None:
    """The question of a group (several interrupts pending at once) that `reply` answers: the only undecided one
    that takes a free-text answer (allows respond), if the person may respond to it. None when there are several
    (a reply cannot say which it answers) or none: the reply is kept for the agent."""
    if not checkpoint.interrupt_ids:
        return None
    open_questions = [i for i, question in enumerate(checkpoint.actions)
                      if question.decision is None and "respond" in question.allowed_decisions]
    if len(open_questions) != 1:
        return None
    question = checkpoint.actions[open_questions[0]]
    refused = refusal_reason(policy, requester_id, question, "respond", reply.user_id, reply.user_groups)
    return open_questions[0] if refused is None else None


def respond_decision(checkpoint: CheckpointV1, reply: ThreadReplyV1, action: int | None = None) -> DecisionV1:
    """The reply as the `respond` decision a card's Respond button would send (to the group's question `action`)."""
    return DecisionV1(checkpoint_id=checkpoint.id, decision="respond", text=reply.text, by=reply.user_id,
                      by_groups=reply.user_groups, at=reply.at, action=action)


class ReplyBox:
    """The replies this run keeps for its agent (the newest MAX_REPLIES_KEPT), and whether any came in since the
    agent's run was last scheduled: those may not have reached the agent yet, so a continue-as-new (which starts
    with an empty box) waits for the next run to read them."""

    def __init__(self) -> None:
        self._replies: list[ThreadReplyV1] = []
        self.unread = False

    def knows(self, event_id: str) -> bool:
        return any(kept.event_id == event_id for kept in self._replies)

    def add(self, reply: ThreadReplyV1) -> None:
        self._replies = [*self._replies, reply][-MAX_REPLIES_KEPT:]
        self.unread = True

    def run_scheduled(self) -> None:
        """The agent's next run reads every reply kept so far, before its first step."""
        self.unread = False

    def snapshot(self) -> ThreadRepliesV1:
        return ThreadRepliesV1(replies=list(self._replies))
