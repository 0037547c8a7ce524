"""The agent list `/baton run` checks against: a worker's answer is kept through later failed lookups (busy or
stopped workers), and requests never wait for a refresh once a worker has answered."""

from __future__ import annotations

import asyncio
import contextlib
import time

from baton.errors import NoWorkers
from baton.gateway import TaskGateway
from bot.catalog import DEFAULT_AGENTS, OfferedAgents
from contracts import AgentCatalogV1, AgentInfoV1
from tests.conftest import WorkerFactory
from workers.config import WorkerSettings
from workers.registry import AgentRegistry

CONFIGURED = (AgentInfoV1(name="configured_only", description="From BATON_AGENT_CATALOG."),)


async def test_the_last_list_a_worker_gave_stays_in_use_when_a_later_lookup_fails(
        gateway: TaskGateway, task_queue: str, agent_worker: WorkerFactory) -> None:
    # Every call finds a refresh due: the gateway's cache is the one cache, and it must not let a failed one shrink
    # the list or stall a request.
    lookups = TaskGateway(gateway.client, task_queue=task_queue, query_timeout_s=1.0, catalog_refresh_s=0.0)
    offered = OfferedAgents(lookups, CONFIGURED)
    before = await offered.get()
    assert not before.live and before.names() == {"configured_only"}  # no worker yet: the configured catalog
    async with agent_worker():
        live = await offered.get()
    assert live.live and "diagnostic" in live.names()
    # The worker is gone: the next lookup really asks Temporal (and times out), in the background, not in the request.
    started = time.monotonic()
    after = await offered.get()
    assert time.monotonic() - started < 0.5
    assert after.live and after.names() == live.names()
    refresh = lookups._catalog._lookup
    assert refresh is not None
    with contextlib.suppress(NoWorkers):  # the refresh fails (no worker answers): that is the case under test
        await asyncio.wait_for(asyncio.shield(refresh), timeout=10)
    assert (await offered.get()).names() == live.names()


def test_the_bots_fallback_list_is_the_workers_built_in_agents() -> None:
    """The bot cannot import the workers, so it keeps a copy for while no worker has answered: this keeps it true."""
    registry = AgentRegistry.from_references(WorkerSettings.model_validate({}).agents)
    published = AgentCatalogV1(agents=[AgentInfoV1(name=s.name, description=s.description[:500])
                                       for s in registry.specs()])
    assert list(DEFAULT_AGENTS) == published.agents
