"""The agent list `/baton run` checks against: a worker's answer is kept through later failed lookups (busy or
stopped workers), and requests never wait for a refresh once a worker has answered."""

from __future__ import annotations

import asyncio
import time

from baton.gateway import TaskGateway
from bot.catalog import DEFAULT_AGENTS
from bot.offered import OfferedAgents
from tests.conftest import WorkerFactory


async def test_the_last_list_a_worker_gave_stays_in_use_when_a_later_lookup_fails(
        gateway: TaskGateway, task_queue: str, agent_worker: WorkerFactory) -> None:
    lookups = TaskGateway(gateway.client, task_queue=task_queue, query_timeout_s=1.0)
    offered = OfferedAgents(lookups, DEFAULT_AGENTS, refresh_after_s=0.0)
    before = await offered.get()
    assert not before.live and "diagnostic" not in before.names()  # no worker yet: the configured catalog
    async with agent_worker():
        live = await offered.get()
    assert live.live and "diagnostic" in live.names()
    # The worker is gone; forget the gateway's own short cache so the next lookup really asks Temporal (and times
    # out): that wait happens in the background, not in the request.
    lookups.forget_agents()
    started = time.monotonic()
    after = await offered.get()
    assert time.monotonic() - started < 0.5
    assert after.live and after.names() == live.names()
    refresh = offered._refreshing
    assert refresh is not None
    await asyncio.wait_for(asyncio.shield(refresh), timeout=10)
    assert (await offered.get()).names() == live.names()
