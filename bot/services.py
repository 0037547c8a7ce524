"""Everything a listener needs, built once in the app factory and handed to each `register(app, services)`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from baton.conversations import Conversations
from baton.gateway import TaskGateway
from bot.blocks import TaskLinks
from bot.catalog import DEFAULT_AGENTS, OfferedAgents
from bot.directory import UserGroupDirectory
from bot.intake import Intakes
from bot.members import ConversationMembers
from bot.responder import Responder
from bot.settings import BotSettings
from contracts import AgentInfoV1

__all__ = ["BotServices"]


@dataclass
class BotServices:
    settings: BotSettings
    gateway: TaskGateway
    directory: UserGroupDirectory
    members: ConversationMembers
    """Who is in a conversation: its members may read the tasks started there (bot.visibility)."""
    links: TaskLinks
    conversations: Conversations
    """Hands mentions and DMs to their thread's ConversationWorkflow; Temporal, not the bot, remembers which events
    it has seen."""
    agents: Sequence[AgentInfoV1] = DEFAULT_AGENTS
    """What the bot offers until a worker has said (BATON_AGENT_CATALOG, or the built-in agents)."""
    responder: Responder = field(default_factory=Responder)
    intakes: Intakes = field(default_factory=Intakes)
    """Temporal calls begun before an ack that go on after it (bot.intake); drained when the bot stops."""
    offered: OfferedAgents = field(init=False)
    """The agents the workers offer (bot.catalog), falling back to `agents` while no worker has said."""
    command_slots: asyncio.Semaphore = field(init=False)
    """Bounds the slash-command work running after the ack (see listeners/commands.py)."""

    def __post_init__(self) -> None:
        self.offered = OfferedAgents(self.gateway, self.agents)
        self.command_slots = asyncio.Semaphore(self.settings.baton_command_concurrency)
