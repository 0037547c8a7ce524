"""The system the fuzzer attacks, as deployed on one machine: the Temporal dev server, `python -m workers` and
`python -m bot` as their own processes (logs to files), and the fake Slack Web API in the benchmark's process.

The bot signs nothing itself: it verifies requests with a secret made up here, which only the fuzzer knows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import DevServer, dev_server, free_port
from baton.gateway import TaskGateway
from sandbox import FakeSlackApi

__all__ = ["MachineWatch", "ProcessCpu", "System", "cpu_ticks", "running_system"]

REPO_ROOT = Path(__file__).resolve().parents[1]
_INHERITED_PREFIXES = ("OPENAI_", "SLACK_", "BATON_", "TEMPORAL_")
"""Settings of the shell that runs the benchmark must not leak into the system under test."""


@dataclass(frozen=True)
class System:
    server: DevServer
    client: Client
    gateway: TaskGateway
    slack: FakeSlackApi
    bot: asyncio.subprocess.Process
    worker: asyncio.subprocess.Process
    events_url: str
    bot_log: Path
    worker_log: Path
    signing_secret: str

    @property
    def pids(self) -> dict[str, int]:
        return {"bench (fuzz client + fake Slack)": os.getpid(), "bot": self.bot.pid, "worker": self.worker.pid,
                "temporal dev server": self.server.process.pid}


async def _spawn(module: str, env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    with open(log_path, "ab") as log:  # noqa: ASYNC230 - once per process
        return await asyncio.create_subprocess_exec(sys.executable, "-m", module, cwd=REPO_ROOT, env=env,
                                                    stdout=log, stderr=log)


async def _stop(process: asyncio.subprocess.Process, grace_s: float = 20.0) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _wait_healthy(port: int, bot: asyncio.subprocess.Process, log: Path, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if bot.returncode is not None:
                tail = log.read_text(errors="replace")[-2000:]  # noqa: ASYNC240 - once, on failure
                raise RuntimeError(f"python -m bot exited with {bot.returncode}:\n{tail}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the bot did not answer /healthz on port {port} within {timeout_s:.0f} s")


@asynccontextmanager
async def running_system(workdir: Path) -> AsyncIterator[System]:
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start
    secret = secrets.token_hex(32)
    async with dev_server(headless=True, log_path=workdir / "temporal.log") as server:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        async with FakeSlackApi() as slack:
            env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
            env.update(PYTHONUNBUFFERED="1", TEMPORAL_ADDRESS=server.address)
            worker_log, bot_log = workdir / "worker.log", workdir / "bot.log"
            worker = await _spawn("workers", {**env, "BATON_CHECKPOINTER": str(workdir / "checkpoints.sqlite")},
                                  worker_log)
            port = free_port()
            bot = await _spawn("bot", {
                **env,
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_API_URL": slack.base_url,
                "BATON_HTTP_HOST": "127.0.0.1",
                "BATON_HTTP_PORT": str(port),
                "BATON_SLACK_TEAM_ID": slack.team_id,
                "BATON_ADMINS": "U01ALICE",
                "BATON_APPROVER_GROUPS": "S01APPROVERS",
            }, bot_log)
            try:
                await _wait_healthy(port, bot, bot_log)
                yield System(server, client, TaskGateway(client), slack, bot, worker,
                             f"http://127.0.0.1:{port}/slack/events", bot_log, worker_log, secret)
            finally:
                await asyncio.gather(_stop(bot), _stop(worker))


@dataclass(frozen=True)
class ProcessCpu:
    pid: int
    name: str
    cpu_s: float


def _process_name(pid: int) -> str:
    """The command's name, and the module for `python -m X` (never the rest of a command line)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
    if b"-m" in args and args.index(b"-m") + 1 < len(args):
        return f"{comm} -m {args[args.index(b'-m') + 1].decode(errors='replace')}"
    return comm


def cpu_ticks() -> dict[int, int]:
    """CPU ticks (user + system) of every process on the machine, by pid."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


class MachineWatch:
    """Samples the 1-minute load and every process's CPU time each second, so that processes which start and end
    while the benchmark runs (another engineer's test suite, say) are counted as well as the benchmark's own."""

    def __init__(self) -> None:
        self.load: list[float] = []
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._names: dict[int, str] = {}

    def sample(self) -> None:
        self.load.append(os.getloadavg()[0])
        starting = not self._last
        for pid, ticks in cpu_ticks().items():
            if pid not in self._first:
                self._first[pid] = ticks if starting else 0  # a process born during the run: all its CPU counts
                self._names[pid] = _process_name(pid)
            self._last[pid] = ticks

    async def run(self, interval_s: float = 1.0) -> None:
        while True:
            self.sample()
            await asyncio.sleep(interval_s)

    def top(self, count: int = 12) -> list[ProcessCpu]:
        per_second = os.sysconf("SC_CLK_TCK")
        used = sorted(((self._last[pid] - self._first[pid], pid) for pid in self._last), reverse=True)[:count]
        return [ProcessCpu(pid, self._names[pid], round(ticks / per_second, 2)) for ticks, pid in used if ticks > 0]
