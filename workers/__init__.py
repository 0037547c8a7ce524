"""Baton's workers: the durable AgentWorkflow, the activities that run LangGraph agents, and the worker process."""

AGENTS_TASK_QUEUE = "agents"
SLACK_TASK_QUEUE = "baton-slack"
