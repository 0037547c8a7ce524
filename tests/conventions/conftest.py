"""One scripted model server and one worker for the whole module: the conformance agents share them, each test
starting its own tasks (fresh ids) and resetting the model's script."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from contracts import CheckpointV1, DecisionKind, DecisionOutcomeV1, DecisionV1, TaskStatusV1, utc_now
from sandbox.openai_server import FakeOpenAI
from tests.conventions.agents import SPECS
from tests.support import fresh_postgres_database, make_request, status_when
from workers.config import WorkerSettings
from workers.registry import AgentRegistry, AgentSpec
from workers.worker import running_worker


@pytest.fixture(scope="module")
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_model(model: FakeOpenAI) -> FakeOpenAI:
    model.reset()
    return model


def chat_model_on(server: FakeOpenAI) -> Callable[[], BaseChatModel]:
    def make() -> BaseChatModel:
        return ChatOpenAI(base_url=server.base_url, api_key=server.api_key,  # type: ignore[arg-type]
                          model="fake-model", max_retries=0, timeout=5.0)

    return make


def settings_for(server: DevServer, checkpointer: str, task_queue: str | None = None) -> WorkerSettings:
    return WorkerSettings(
        temporal_address=server.address, task_queue=task_queue or f"conventions-{uuid.uuid4().hex[:8]}",
        checkpointer=checkpointer, progress_interval_s=0.05, heartbeat_throttle_s=0.5,
        heartbeat_interval_s=0.5, sticky_queue_timeout_s=1,
        drain_timeout_s=5,
    )


@asynccontextmanager
async def gateway_running(specs: Sequence[AgentSpec], temporal_server: DevServer, temporal_client: Client,
                          model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TaskGateway]:
    """A worker running `specs` on a fresh task queue and checkpoint file, and a gateway on that queue."""
    settings = settings_for(temporal_server, str(tmp_path_factory.mktemp("conventions") / "checkpoints.sqlite"))
    async with running_worker(temporal_client, settings, registry=AgentRegistry(list(specs)),
                              chat_model=chat_model_on(model)):
        yield TaskGateway(temporal_client, task_queue=settings.task_queue, query_timeout_s=2)


@pytest.fixture(scope="module")
async def conventions_gateway(
    temporal_server: DevServer, temporal_client: Client, model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TaskGateway]:
    """The module's worker, running every conformance agent, and a gateway on its task queue."""
    async with gateway_running(SPECS, temporal_server, temporal_client, model, tmp_path_factory) as gateway:
        yield gateway


Start = Callable[[str, str], Awaitable[tuple[str, CheckpointV1]]]
Decide = Callable[..., Awaitable[DecisionOutcomeV1]]


@pytest.fixture
def start(conventions_gateway: TaskGateway) -> Start:
    """Submit a task and wait for its first checkpoint."""

    async def run(agent: str, text: str) -> tuple[str, CheckpointV1]:
        request = make_request(agent, text, max_attempts=3)
        await conventions_gateway.submit(request, validate_agent=False)
        status = await pending(conventions_gateway, request.task_id)
        assert status.pending_checkpoint is not None
        return request.task_id, status.pending_checkpoint

    return run


async def pending(gateway: TaskGateway, task_id: str, after: str | None = None) -> TaskStatusV1:
    """The task's status once it waits at a checkpoint other than `after`, or has finished."""
    return await status_when(gateway, task_id, lambda s: s.result is not None or (
        s.pending_checkpoint is not None and s.pending_checkpoint.id != after), timeout=30)


@pytest.fixture
def decide(conventions_gateway: TaskGateway) -> Decide:
    async def send(task_id: str, checkpoint: CheckpointV1, kind: DecisionKind, **extra: Any) -> DecisionOutcomeV1:
        decision = DecisionV1(checkpoint_id=checkpoint.id, decision=kind, by="U_APPROVER", at=utc_now(), **extra)
        return await conventions_gateway.decide(task_id, decision)

    return send


@pytest.fixture
def finished(conventions_gateway: TaskGateway) -> Callable[[str], Awaitable[TaskStatusV1]]:
    async def wait(task_id: str) -> TaskStatusV1:
        return await status_when(conventions_gateway, task_id, lambda s: s.result is not None, timeout=30)

    return wait


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    return str(tmp_path / "checkpoints.sqlite")


@pytest.fixture
def postgres_store_dsn() -> Iterator[str]:
    """A fresh database on the local PostgreSQL (a missing server fails the test, never skips it)."""
    with fresh_postgres_database("baton_store") as dsn:
        yield dsn
