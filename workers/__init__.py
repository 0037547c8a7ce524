"""Baton's workers: the durable AgentWorkflow, the activities that run LangGraph agents, and the worker process."""

AGENTS_TASK_QUEUE = "agents"
SLACK_TASK_QUEUE = "baton-slack"
"""The default notify queue; a request names its own in `requester.notify_task_queue`."""
