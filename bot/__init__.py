"""Baton's Slack front end: the bolt app, its listeners, Block Kit builders, the front agent and the notifier.

`NOTIFY_TASK_QUEUE` is the Temporal task queue the bot process polls for the `notify` activity, unless
BATON_NOTIFY_TASK_QUEUE says otherwise.
"""

from contracts.names import NOTIFY_TASK_QUEUE

__all__ = ["NOTIFY_TASK_QUEUE"]
