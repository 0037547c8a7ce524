"""One module per Slack surface; each `register` only wires handlers."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.front_agent import FrontAgent
from bot.listeners import actions, commands, events, views
from bot.services import BotServices

__all__ = ["register_listeners"]


def register_listeners(app: AsyncApp, services: BotServices, front_agent: FrontAgent) -> None:
    commands.register(app, services)
    events.register(app, services, front_agent)
    actions.register(app, services)
    views.register(app, services)
