"""Servers for the whole session: a real Temporal dev server (and, lazily, the time-skipping test server).

Each test gets a fresh task queue, a fresh SQLite checkpoint file and fresh task ids, so tests never see each
other's work even though they share one server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton.devserver import DevServer, dev_server
from baton.gateway import TaskGateway
from baton.process_exit import exit_now
from bench.chaos_processes import TemporalOnDisk
from sandbox.fake_slack import FakeSlackApi
from workers.config import WorkerSettings
from workers.registry import AgentRegistry
from workers.worker import running_worker

_exit_status: int | None = None


def _source_or_none_on_cpython_ast_bug() -> None:
    """A failure report must never end the run. CPython 3.11.7's `ast.parse` can raise `SystemError: AST constructor
    recursion depth mismatch` (python/cpython#106905, fixed in 3.11.8) once a test has hit a RecursionError, as the
    hostile-nesting tests do; pytest parses each traceback entry's source to print it, so the next failing test
    turned into an INTERNALERROR that stopped the whole session. Such an entry is printed without its source."""
    from _pytest._code import code

    formatter = getattr(code, "ExceptionInfoFormatter", None) or code.FormattedExcinfo  # pytest 9 | 8
    getentrysource = formatter._getentrysource

    def tolerant(self: Any, entry: Any) -> Any:
        try:
            return getentrysource(self, entry)
        except SystemError:
            return None

    formatter._getentrysource = tolerant


_source_or_none_on_cpython_ast_bug()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the run with pytest's own verdict, before interpreter finalization: temporalio's core can abort the
    interpreter there (exit 134 / 139, see docs/architecture.md), which would turn a green suite red."""
    if _exit_status is not None and not hasattr(config, "workerinput"):
        exit_now(_exit_status)


TEMPORAL_TEST_SERVER = Path(__import__("sys").executable).parent / "temporal-test-server"


@pytest.fixture(scope="session")
async def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    log_path = tmp_path_factory.mktemp("temporal") / "dev-server.log"
    async with dev_server(headless=True, log_path=log_path) as server:
        yield server


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: DevServer) -> Client:
    return await Client.connect(temporal_server.address, data_converter=pydantic_data_converter)


@pytest.fixture
async def temporal_on_disk(tmp_path: Path) -> AsyncIterator[TemporalOnDisk]:
    """A test's own dev server on a database file, which the test may SIGKILL and start again on the same port and
    database (a Temporal outage, a server crash)."""
    server = TemporalOnDisk(tmp_path / "temporal.db", tmp_path / "temporal.log")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"agents-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def worker_settings(temporal_server: DevServer, task_queue: str, tmp_path: Path) -> WorkerSettings:
    return WorkerSettings(
        temporal_address=temporal_server.address,
        task_queue=task_queue,
        checkpointer=str(tmp_path / "checkpoints.sqlite"),
        progress_interval_s=0.05,
        heartbeat_throttle_s=0.5, heartbeat_interval_s=0.5,
        sticky_queue_timeout_s=1,
        drain_timeout_s=5,
    )


@pytest.fixture
def gateway(temporal_client: Client, task_queue: str) -> TaskGateway:
    return TaskGateway(temporal_client, task_queue=task_queue, query_timeout_s=2)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    """A fresh fake Slack Web API (sandbox) on 127.0.0.1 for this test."""
    async with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def notify_task_queue(task_queue: str) -> str:
    """This test's bot's own notify queue: workflows started by another test's bot never reach this one."""
    return f"{task_queue}-slack"


WorkerFactory = Callable[..., AbstractAsyncContextManager[Worker]]


@pytest.fixture
def agent_worker(temporal_client: Client, worker_settings: WorkerSettings) -> WorkerFactory:
    """`async with agent_worker(): ...` runs the real worker in-process on this test's task queue."""

    @asynccontextmanager
    async def start(
        registry: AgentRegistry | None = None, chat_model: Any = None, **overrides: Any
    ) -> AsyncIterator[Worker]:
        settings = worker_settings.model_copy(update=overrides)
        async with running_worker(temporal_client, settings, registry=registry, chat_model=chat_model) as worker:
            yield worker

    return start
