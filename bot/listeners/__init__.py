"""One module per Slack surface; each `register` only wires handlers."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import assistant
from bot.listeners import actions, agent_sessions, commands, events, feedback, thread_replies, views
from bot.services import BotServices

__all__ = ["register_listeners"]


def register_listeners(app: AsyncApp, services: BotServices) -> None:
    commands.register(app, services)
    thread_replies.register(app, services)  # ahead of events: a reply to a task is the task's, not a conversation's
    events.register(app, services)
    assistant.register(app, services)  # global middleware: sees assistant-thread messages before any listener
    actions.register(app, services)
    agent_sessions.register(app, services)  # Slack's Stop on a task's agent session: the Cancel path
    feedback.register(app, services)
    views.register(app, services)
