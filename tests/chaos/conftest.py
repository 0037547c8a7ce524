"""Fixtures for chaos tests: Baton's real processes and a Temporal server that a test SIGKILLs and starts again.

- `temporal_on_disk`: a fresh dev server for this test, on a database file, so `await temporal_on_disk.restart()`
  (SIGKILL, then start on the same port and file) comes back with every workflow; clients and workers reconnect.
- `chaos_slack`: the fake Slack Web API with `hold()`, to stop the bot inside one known call and kill it there.
- `chaos_processes`: starts `python -m bot` and `python -m workers` as real processes (`.bot(...)`, `.worker(...)`;
  each has `start()`, `kill()` (SIGKILL), `restart()`); all are killed at the end of the test, and when the test
  fails the end of every process's log (every incarnation, marked) is added to the report.
- `temporal_client_on_disk`: a client of that server, with Baton's data converter.

The processes and holds come from `bench/chaos_*.py`, shared with `python -m bench.chaos`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import free_port
from bench.chaos_processes import BatonProcess, BotProcess, TemporalOnDisk, bot_process, worker_process
from bench.chaos_slack import HoldingSlack
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi

_PROCESSES = pytest.StashKey["ChaosProcesses"]()

FAST_WORKER = {
    "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
    "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
    "BATON_PROGRESS_INTERVAL_S": "0.05",
    "BATON_DRAIN_TIMEOUT_S": "1",
}
"""Worker settings that keep a test short: a dead worker's workflows move on after 1 s, not the default 10 s."""


class ChaosProcesses:
    """Baton processes for one test. Each `bot()` / `worker()` call makes a new process object (not yet started);
    its log goes to the test's tmp dir under its own name."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.all: list[BatonProcess] = []

    def worker(self, temporal_address: str, *, checkpointer: Path | None = None, **settings: str) -> BatonProcess:
        """`python -m workers` on queue `agents` (the queue `python -m bot` submits to), demo model unless
        OPENAI_BASE_URL / OPENAI_API_KEY are passed; the checkpointer file outlives the process."""
        name = f"worker-{len(self.all) + 1}"
        process = worker_process(temporal_address, checkpointer or self.tmp_path / "checkpoints.sqlite",
                                 self.tmp_path / f"{name}.log", **{**FAST_WORKER, **settings})
        process.name = name
        self.all.append(process)
        return process

    def bot(self, temporal_address: str, slack: FakeSlackApi, *, port: int | None = None,
            **settings: str) -> BotProcess:
        """`python -m bot` against `slack`, on a fixed port (`.events_url`) that a restart keeps, with its own
        notify queue (tests may share a server)."""
        name = f"bot-{len(self.all) + 1}"
        defaults = {"BATON_SLACK_TEAM_ID": slack.team_id,
                    "BATON_NOTIFY_TASK_QUEUE": f"chaos-slack-{uuid.uuid4().hex[:8]}"}
        process = bot_process(temporal_address, slack.base_url, slack.bot_token, DEFAULT_SIGNING_SECRET,
                              port or free_port(), self.tmp_path / f"{name}.log", **{**defaults, **settings})
        process.name = name
        self.all.append(process)
        return process

    async def kill_all(self) -> None:
        for process in self.all:
            await process.kill()


@pytest.fixture
async def chaos_processes(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[ChaosProcesses]:
    processes = ChaosProcesses(tmp_path)
    request.node.stash[_PROCESSES] = processes
    try:
        yield processes
    finally:
        await processes.kill_all()  # nothing to drain at the end of a test: SIGKILL is quick and sure


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """On failure, show what every process said (each incarnation is marked in its log)."""
    outcome = yield
    report = outcome.get_result()
    processes = item.stash.get(_PROCESSES, None)
    if report.failed and processes is not None:
        for process in processes.all:
            report.sections.append((f"{process.name} log (end)", process.log_tail(80)))


@pytest.fixture
async def temporal_client_on_disk(temporal_on_disk: TemporalOnDisk) -> Client:
    """Survives restarts of the server: the SDK reconnects to the same address by itself."""
    return await Client.connect(temporal_on_disk.address, data_converter=pydantic_data_converter)


@pytest.fixture
async def chaos_slack() -> AsyncIterator[HoldingSlack]:
    async with HoldingSlack() as slack:
        try:
            yield slack
        finally:
            slack.release_all()
