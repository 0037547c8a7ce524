"""The one cache of the agent catalog: which agents the workers on a task queue offer, as Baton's clients see it.

Every caller of a `TaskGateway` reads it through `TaskGateway.agents()`: the bot on each `/baton run`, the CLI and the
delegation tools on each submission.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from contracts import AgentCatalogV1

__all__ = ["CatalogCache"]

log = logging.getLogger(__name__)


class CatalogCache:
    """The catalog sits on the hot path of every submission, so a slow or failed lookup (workers too busy to answer
    the query in time, or none running) must neither stall callers nor shrink the list: once a worker has answered,
    callers get the last list it gave at once, and a refresh, when due, runs in the background, one at a time. Only
    until a worker first answers does a caller wait for a lookup (callers asking at the same moment share it) and
    see its error."""

    def __init__(self, look_up: Callable[[], Awaitable[AgentCatalogV1]], refresh_after_s: float,
                 retry_after_s: float) -> None:
        self._look_up = look_up
        self._refresh_after_s = refresh_after_s
        self._retry_after_s = retry_after_s
        self._known: AgentCatalogV1 | None = None
        self._next_refresh = 0.0
        self._lookup: asyncio.Future[AgentCatalogV1] | None = None

    async def get(self) -> AgentCatalogV1:
        due = self._known is None or time.monotonic() >= self._next_refresh
        if due and (self._lookup is None or self._lookup.done()):
            self._lookup = asyncio.ensure_future(self._refresh())
            self._lookup.add_done_callback(_retrieve)
        if self._known is not None:
            return self._known
        assert self._lookup is not None  # started just above: nothing is known yet, so a lookup is always due
        return await asyncio.shield(self._lookup)

    async def _refresh(self) -> AgentCatalogV1:
        try:
            catalog = await self._look_up()
        except BaseException as exc:
            self._next_refresh = time.monotonic() + self._retry_after_s
            if self._known is not None:
                log.info("Agent catalog unavailable, keeping the last known one: %s", exc)
            raise
        if catalog.agents:  # an empty answer never replaces a list: it would refuse every agent
            self._known = catalog
        self._next_refresh = time.monotonic() + self._refresh_after_s
        return catalog


def _retrieve(lookup: asyncio.Future[AgentCatalogV1]) -> None:
    """Mark a background lookup's failure as seen (it was logged): asyncio would otherwise warn at exit."""
    if not lookup.cancelled():
        lookup.exception()
