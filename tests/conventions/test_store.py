"""An agent that asks for LangGraph's store keeps its memories across tasks and across a worker restart, in the
checkpointer's database (SQLite by default, PostgreSQL by DSN), and another agent cannot read them."""

from __future__ import annotations

import json

import pytest
from langgraph.store.memory import InMemoryStore
from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from tests.conventions.agents import NOTES, OTHER_NOTES
from tests.conventions.conftest import settings_for
from tests.support import make_request, status_when
from workers.registry import AgentRegistry
from workers.store import AgentStore
from workers.worker import running_worker


async def recalled(gateway: TaskGateway, agent: str, text: str) -> list[str]:
    """Runs one task of `agent` and returns the memories it read before saving `text`."""
    request = make_request(agent, text)
    await gateway.submit(request, validate_agent=False)
    status = await status_when(gateway, request.task_id, lambda s: s.result is not None, timeout=30)
    assert status.result is not None and status.result.outcome == "success", status.result
    return list(json.loads(status.result.summary)["recalled"])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_agent_remembers_across_tasks_and_a_worker_restart_and_others_cannot_read_it(
    backend: str, temporal_server: DevServer, temporal_client: Client, store_path: str,
    request: pytest.FixtureRequest,
) -> None:
    target = request.getfixturevalue("postgres_store_dsn") if backend == "postgres" else store_path
    settings = settings_for(temporal_server, target)
    registry = AgentRegistry([NOTES, OTHER_NOTES])
    gateway = TaskGateway(temporal_client, task_queue=settings.task_queue, query_timeout_s=2)
    async with running_worker(temporal_client, settings, registry=registry):
        assert await recalled(gateway, "notes", "likes tea") == []
        assert await recalled(gateway, "notes", "lives in Oslo") == ["likes tea"]
    async with running_worker(temporal_client, settings, registry=registry):
        assert await recalled(gateway, "notes", "third") == ["likes tea", "lives in Oslo"]
        assert await recalled(gateway, "other_notes", "hello") == []


async def test_agent_store_prefixes_every_namespace_and_agents_naming_the_same_one_share_it() -> None:
    inner = InMemoryStore()
    mine, shared_a, shared_b = AgentStore(inner, "notes"), AgentStore(inner, "team"), AgentStore(inner, "team")
    await mine.aput(("memories", "U1"), "k", {"text": "mine"})
    await shared_a.aput(("memories", "U1"), "k", {"text": "ours"})

    assert [item.value["text"] for item in await shared_b.asearch(("memories",))] == ["ours"]
    item = await mine.aget(("memories", "U1"), "k")
    assert item is not None and item.namespace == ("memories", "U1") and item.value == {"text": "mine"}
    assert await mine.alist_namespaces() == [("memories", "U1")]
    assert await inner.alist_namespaces() == [("baton", "notes", "memories", "U1"), ("baton", "team", "memories", "U1")]
