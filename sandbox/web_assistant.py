"""The assistant pane on the sandbox page (Slack's AI-app split view): what opening the pane, or moving to another
channel with it open, sends to the bot, as Slack sends it. What the pane shows is in sandbox.web_state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.assistant_delivery import AssistantThread, change_assistant_context, open_assistant_thread
from sandbox.delivery import DeliveryResult, SlackDelivery
from sandbox.fake_slack import FakeSlackApi
from sandbox.web_state import dm_channel

__all__ = ["PaneRequests"]


class PaneRequests:
    """The page's requests about the pane, `body["user"]` already checked; `refuse(reason)` is the page's 400."""

    def __init__(self, slack: FakeSlackApi, delivery: SlackDelivery, refuse: Callable[[str], Exception]) -> None:
        self.slack = slack
        self.delivery = delivery
        self.refuse = refuse

    async def open(self, body: dict[str, Any]) -> dict[str, Any]:
        """The person opens the app's pane: Slack makes the thread's root in their DM and sends
        `assistant_thread_started` with the channel they look at. Answers the thread's ts."""
        user = body["user"]
        thread = await open_assistant_thread(self.delivery, user, dm_channel(user),
                                             context_channel=self._context_channel(body))
        answer: dict[str, Any] = {"channel": thread.channel, "thread_ts": thread.thread_ts}
        if thread.started.status != 200:
            answer["notice"] = f"The bot refused assistant_thread_started (HTTP {thread.started.status})."
        return answer

    async def context_changed(self, body: dict[str, Any]) -> dict[str, Any]:
        """The person, pane open, looks at another channel: `assistant_thread_context_changed`."""
        user, thread_ts = body["user"], str(body.get("thread_ts") or "")
        dm, context_channel = dm_channel(user), self._context_channel(body)
        root = self.slack.workspace.find(dm, thread_ts)
        if root is None or root.user != user or (root.thread_ts and root.thread_ts != root.ts):
            raise self.refuse(f"no assistant thread {thread_ts!r} of yours")
        if context_channel is None:
            return {}
        thread = AssistantThread(user, dm, thread_ts, started=DeliveryResult(200, ""))
        result = await change_assistant_context(self.delivery, thread, context_channel)
        if result.status != 200:
            return {"notice": f"The bot refused assistant_thread_context_changed (HTTP {result.status})."}
        return {}

    def _context_channel(self, body: dict[str, Any]) -> str | None:
        """The channel the person looks at, if it is one: Slack sends no context from the app's own DM."""
        channel = str(body.get("context_channel") or "")
        return channel if channel in self.slack.workspace.channels and not channel.startswith("D") else None
