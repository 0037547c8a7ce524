"""The agents the running workers offer, as the bot sees them: read from Temporal once, then refreshed in the
background, one lookup at a time.

Every `/baton run` checks its agent against this list, so it sits on the hot path of every request. A slow or
failed catalog query (workers too busy to answer within the query timeout, or none running) must neither stall
requests nor shrink the list: the last list a worker gave stays in use until a newer one arrives, and only while no
worker has ever answered is the configured catalog (bot.catalog) used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from baton.errors import BatonError
from baton.gateway import TaskGateway
from bot.catalog import AgentInfo

__all__ = ["Offered", "OfferedAgents"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offered:
    agents: tuple[AgentInfo, ...]
    live: bool
    """True when a worker said so (now or earlier); False for the configured fallback."""

    def names(self) -> set[str]:
        return {a.name for a in self.agents}


class OfferedAgents:
    def __init__(self, gateway: TaskGateway, configured: Sequence[AgentInfo], refresh_after_s: float = 30.0,
                 retry_after_s: float = 5.0) -> None:
        self._gateway = gateway
        self._configured = tuple(configured)
        self._refresh_after_s = refresh_after_s
        self._retry_after_s = retry_after_s
        self._known: tuple[AgentInfo, ...] | None = None
        self._next_refresh = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    async def get(self) -> Offered:
        """The current list. Until a worker has answered once, every call waits for a lookup (concurrent calls share
        one); after that, calls get the last known list at once and, when it is due, start one background refresh."""
        due = self._known is None or time.monotonic() >= self._next_refresh
        if due and self._refreshing is None:
            self._refreshing = asyncio.create_task(self._refresh(), name="baton-agent-catalog")
            self._refreshing.add_done_callback(self._refreshed)
        if self._known is None and self._refreshing is not None:
            await asyncio.shield(self._refreshing)
        if self._known:
            return Offered(self._known, live=True)
        return Offered(self._configured, live=False)

    async def _refresh(self) -> None:
        try:
            offered = await self._gateway.agents()
        except BatonError as exc:
            log.info("Agent catalog unavailable, keeping the last known one: %s", exc)
            self._next_refresh = time.monotonic() + self._retry_after_s
            return
        if offered.agents:
            self._known = tuple(AgentInfo(a.name, a.description) for a in offered.agents)
        self._next_refresh = time.monotonic() + self._refresh_after_s

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._refreshing = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("Agent catalog refresh failed", exc_info=task.exception())
            self._next_refresh = time.monotonic() + self._retry_after_s
