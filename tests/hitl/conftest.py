"""Fixtures for the human-in-the-loop tests: a fake model server per test, real ChatOpenAI clients pointed at it,
a fresh PostgreSQL database per session, and worker processes that a test may SIGKILL.

The Temporal servers, task queues and the in-process worker come from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from langchain_core.language_models import BaseChatModel
from temporalio.client import Client

from baton.devserver import DevServer
from contracts import ProgressEventV1
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.support import fresh_postgres_database
from workers.llm import make_chat_model

REPO_ROOT = Path(__file__).resolve().parents[2]

OPS_PROPOSAL = {
    "summary": "Close telnet on the CI runner and patch OpenSSL on web-3 first.",
    "steps": [
        {"finding_id": "F1", "host": "ci-runner-1", "action": "close_port", "target": "23", "reason": "telnet"},
        {"finding_id": "F2", "host": "web-3", "action": "upgrade_package", "target": "openssl", "reason": "1.1.1f"},
    ],
}
OPS_REPORT = "Audit done: the riskiest issues are handled."
SALES_NARRATIVE = "Sales grew steadily; EMEA led."


def model_replies(body: dict[str, Any]) -> Any:
    """Answers by what is asked, not by call order, so a call repeated after a crash gets the same answer."""
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    if "ProposeRemediation" in tools:
        return tool_call("ProposeRemediation", OPS_PROPOSAL)
    text = json_text(body)
    if "FIGURES_JSON" in text:
        return SALES_NARRATIVE
    if "FACTS_JSON" in text:
        return OPS_REPORT
    return None


def json_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        parts.append(content if isinstance(content, str) else str(content))
    return "\n".join(parts)


class GatedOpenAI(FakeOpenAI):
    """The fake model server, plus a gate: while held, calls wait at the door (a test kills the worker meanwhile)
    and are recorded only once released, exactly as the server would have seen them."""

    def __init__(self) -> None:
        super().__init__()
        self._gate: asyncio.Event | None = None
        self._arrived = asyncio.Condition()
        self.held = 0

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
        self._gate = None

    async def wait_until_held(self, n: int = 1) -> None:
        async with self._arrived:
            await self._arrived.wait_for(lambda: self.held >= n)

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        gate = self._gate
        if gate is not None:
            await request.read()  # the whole request arrived (aiohttp keeps it): the model "saw" this call
            async with self._arrived:
                self.held += 1
                self._arrived.notify_all()
            await gate.wait()
        return await super()._chat_completions(request)


@pytest.fixture
async def fake_openai() -> AsyncIterator[GatedOpenAI]:
    server = GatedOpenAI()
    async with server:
        server.respond_with(model_replies)
        yield server
        server.release()


@pytest.fixture
def chat_model(fake_openai: FakeOpenAI) -> Callable[[], BaseChatModel]:
    """The worker's model factory: the real ChatOpenAI (SDK retries off) talking to the fake server."""
    return lambda: make_chat_model(
        model="fake-model", api_key=fake_openai.api_key, base_url=fake_openai.base_url, timeout=30.0
    )


async def progress_events(client: Client, task_id: str) -> list[ProgressEventV1]:
    """Every progress signal the task received, from its history (the status keeps only the latest few)."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    events: list[ProgressEventV1] = []
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            signal = event.workflow_execution_signaled_event_attributes
            if signal.signal_name == "progress":
                [decoded] = await client.data_converter.decode(signal.input.payloads, [ProgressEventV1])
                events.append(decoded)
    return events


# -- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A fresh database for this session on the local server, dropped at the end."""
    with fresh_postgres_database("baton_test") as dsn:
        yield dsn


# -- worker processes ------------------------------------------------------------------------------------------


class WorkerProcess:
    """`python -m workers` as its own process, so a test can SIGKILL it like a crashed host."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self._log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        log = open(self._log_path, "ab")  # noqa: ASYNC230 - once per process start
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "workers", cwd=REPO_ROOT, env=self._env, stdout=log, stderr=log
            )
        finally:
            log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, exactly like a host that lost power."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""


WorkerProcesses = Callable[..., Any]


@pytest.fixture
def worker_processes(
    temporal_server: DevServer, task_queue: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """`async with worker_processes(checkpointer=..., openai=fake) as start: w = await start()`; each call to
    `start()` launches another worker process on this test's task queue, sharing one checkpointer."""
    started: list[WorkerProcess] = []

    @asynccontextmanager
    async def processes(
        checkpointer: str | None = None,
        fake: FakeOpenAI | None = None,
        agents: str = "diagnostic,ops_audit,sales_report",
    ) -> AsyncIterator[Callable[[], Any]]:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TEMPORAL_ADDRESS": temporal_server.address,
            "BATON_TASK_QUEUE": task_queue,
            "BATON_CHECKPOINTER": checkpointer or str(tmp_path / "checkpoints.sqlite"),
            "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
            "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
            "BATON_PROGRESS_INTERVAL_S": "0",
            "BATON_PROGRESS_SIGNALS": "always",  # every step in the history: these tests read which nodes ran
            "BATON_DRAIN_TIMEOUT_S": "1",
            "BATON_AGENTS": agents,
            "BATON_MODEL": "fake-model",
        }
        if fake is not None:
            env["OPENAI_BASE_URL"] = fake.base_url
            env["OPENAI_API_KEY"] = fake.api_key

        async def start() -> WorkerProcess:
            worker = WorkerProcess(env, tmp_path / f"worker-{len(started) + 1}.log")
            started.append(worker)
            return await worker.start()

        try:
            yield start
        finally:
            for worker in started:
                worker.kill()
                await worker.stop()

    yield processes
    for worker in started:  # pytest shows this only when the test failed
        print(f"--- {worker._log_path.name} ---\n{worker.log()[-4000:]}")
