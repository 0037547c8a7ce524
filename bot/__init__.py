"""Baton's Slack front end: the bolt app, its listeners, Block Kit builders, the front agent and the notifier."""

NOTIFY_TASK_QUEUE = "baton-slack"
"""Temporal task queue the bot process polls for the `notify` activity (see DESIGN.md)."""

__all__ = ["NOTIFY_TASK_QUEUE"]
