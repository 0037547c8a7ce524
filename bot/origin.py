"""Where a Slack request came from, and the TaskRequestV1 it becomes.

The task id derives from the Slack identity of the request (team, channel, message ts or the command's trigger), so
a redelivered event or a double submission maps to the same Temporal workflow id and never starts a second task.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import BotSettings
from contracts import ApprovalPolicyV1, RequesterV1, TaskRequestV1, slack_idempotency_key

__all__ = ["SlackOrigin", "default_policy", "task_request"]


@dataclass(frozen=True)
class SlackOrigin:
    team_id: str
    channel_id: str
    user_id: str
    identity_ts: str
    """The message ts (events) or the trigger id (slash commands): what makes this request unique."""
    thread_ts: str | None = None
    """Where replies go; None for a slash command (the status message then starts the thread)."""
    user_name: str | None = None

    @property
    def idempotency_key(self) -> str:
        return slack_idempotency_key(self.team_id, self.channel_id, self.identity_ts)

    def requester(self, notify_task_queue: str) -> RequesterV1:
        """The person and the thread the task answers to; `notify_task_queue` is the queue of the bot that builds
        the request: its notify worker keeps the thread live."""
        return RequesterV1(platform="slack", team_id=self.team_id, user_id=self.user_id, user_name=self.user_name,
                           channel_id=self.channel_id, thread_ts=self.thread_ts, notify_task_queue=notify_task_queue)


def default_policy(settings: BotSettings) -> ApprovalPolicyV1:
    return ApprovalPolicyV1(
        approvers=list(settings.baton_approvers),
        approver_groups=list(settings.baton_approver_groups),
        admins=list(settings.baton_admins),
    )


def task_request(origin: SlackOrigin, agent: str, text: str, policy: ApprovalPolicyV1, *, notify_task_queue: str,
                 parameters: dict[str, object] | None = None, idempotency_key: str | None = None) -> TaskRequestV1:
    """The request for `origin`; without `idempotency_key` its Slack identity names the task."""
    return TaskRequestV1.new(agent, text, origin.requester(notify_task_queue),
                             idempotency_key or origin.idempotency_key, parameters=parameters, approval=policy)
