"""Everything a listener needs, built once in the app factory and handed to each `register(app, services)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from baton.gateway import TaskGateway
from bot.blocks import TaskLinks
from bot.catalog import DEFAULT_AGENTS, AgentInfo
from bot.dedupe import EventDedupe
from bot.directory import UserGroupDirectory
from bot.settings import BotSettings

__all__ = ["BotServices"]


@dataclass
class BotServices:
    settings: BotSettings
    gateway: TaskGateway
    directory: UserGroupDirectory
    links: TaskLinks
    agents: Sequence[AgentInfo] = DEFAULT_AGENTS
    dedupe: EventDedupe = field(default_factory=EventDedupe)

    def agent(self, name: str) -> AgentInfo | None:
        return next((a for a in self.agents if a.name == name), None)
