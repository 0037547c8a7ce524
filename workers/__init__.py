"""Baton's workers: the durable AgentWorkflow, the activities that run LangGraph agents, and the worker process."""
