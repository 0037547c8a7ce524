"""Baton's processes as children a chaos run can SIGKILL and start again: `python -m workers`, `python -m bot`, and
the Temporal dev server on a database file (so a restart comes back with its state, like a real cluster).

Every start appends to one log file per process, under a line naming the incarnation, so a failure can show what
each one said before it died. Readiness is a condition (a log line, or the server answering), never a fixed sleep.
Used by `bench.chaos` and by the chaos tests (`tests/chaos/conftest.py`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path

from baton.devserver import DevServer, dev_server, free_port

__all__ = ["REPO_ROOT", "BatonProcess", "BotProcess", "TemporalOnDisk", "bot_process", "clean_env", "worker_process"]

REPO_ROOT = Path(__file__).resolve().parents[1]
_OWN_PREFIXES = ("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_")
WORKER_READY = "Worker on task queue"
BOT_READY = "Baton bot listening on port"


def clean_env(**settings: str) -> dict[str, str]:
    """The parent's environment without any Baton, Slack, OpenAI or Temporal setting, plus `settings`: a developer's
    OPENAI_API_KEY must not turn the demo model into a paid one, nor their TEMPORAL_ADDRESS redirect the run."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    return {**kept, "PYTHONUNBUFFERED": "1", **settings}


class BatonProcess:
    """One Baton process (`python -m <module>`), started, SIGKILLed and started again on the same settings.

    Ready once its log shows `ready_line` after the current start (the bot and the worker each log one line when they
    serve). `generation` counts starts and `kills` the SIGKILLs, so a report can say exactly what was done to it.
    """

    def __init__(self, name: str, module: str, env: Mapping[str, str], log_path: Path, ready_line: str,
                 ready_timeout_s: float = 60.0) -> None:
        self.name = name
        self.module = module
        self.env = dict(env)
        self.log_path = log_path
        self.ready_line = ready_line
        self.ready_timeout_s = ready_timeout_s
        self.process: asyncio.subprocess.Process | None = None
        self.generation = 0
        self.kills = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> BatonProcess:
        """Start a new incarnation and return once it logged that it serves."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.generation += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - once per start; the child inherits the descriptor
            log.write(f"\n===== {self.name} start #{self.generation} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            offset = log.tell()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log,
                start_new_session=True,
            )
        await self._wait_ready(offset)
        return self

    async def _wait_ready(self, offset: int) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            if self._log_since(offset).find(self.ready_line) >= 0:
                return
            if not self.running:
                raise RuntimeError(f"{self.name} exited with code {self.returncode} before it was ready:\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready within {self.ready_timeout_s:.0f}s:\n{self.log_tail()}")
            await asyncio.sleep(0.05)  # polling a file another process writes: there is no event to wait on

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, like a host that loses power."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1

    async def restart(self) -> BatonProcess:
        await self.kill()
        return await self.start()

    async def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (the bot and the worker drain on it), SIGKILL if it takes longer than `timeout_s`."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = self._log_since(0)
        return "\n".join(text.splitlines()[-lines:])


def worker_process(temporal_address: str, checkpointer: Path, log_path: Path, **settings: str) -> BatonProcess:
    """`python -m workers` with the demo model (no OPENAI_* set) and a SQLite checkpointer that outlives it."""
    env = clean_env(TEMPORAL_ADDRESS=temporal_address, BATON_CHECKPOINTER=str(checkpointer), **settings)
    return BatonProcess("worker", "workers", env, log_path, WORKER_READY)


class BotProcess(BatonProcess):
    """`python -m bot` on a fixed port: every incarnation serves the same request URL."""

    def __init__(self, env: Mapping[str, str], log_path: Path, port: int) -> None:
        super().__init__("bot", "bot", env, log_path, BOT_READY)
        self.port = port

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


def bot_process(temporal_address: str, slack_api_url: str, bot_token: str, signing_secret: str, port: int,
                log_path: Path, **settings: str) -> BotProcess:
    """`python -m bot` in HTTP mode on a fixed port (a restarted bot answers at the same request URL, as behind a
    load balancer), with the `/baton` grammar for mentions (no model)."""
    env = clean_env(
        TEMPORAL_ADDRESS=temporal_address, SLACK_API_URL=slack_api_url, SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=signing_secret, BATON_HTTP_HOST="127.0.0.1", BATON_HTTP_PORT=str(port),
        BATON_FRONT_AGENT="grammar", **settings,
    )
    return BotProcess(env, log_path, port)


class TemporalOnDisk:
    """The real dev server (`temporal server start-dev --db-filename`) on a fixed port and a database file: SIGKILL
    it and start it again, and clients and workers reconnect to the same address and find their workflows."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.port = port or free_port()
        self.server: DevServer | None = None
        self.generation = 0
        self.kills = 0
        self._stack: AsyncExitStack | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.process.returncode is None

    async def start(self) -> TemporalOnDisk:
        """Start (or start again on the same database) and return once a client can list workflows."""
        self.generation += 1
        stack = AsyncExitStack()
        self.server = await stack.enter_async_context(
            dev_server(port=self.port, db_filename=self.db_path, headless=True, log_path=self.log_path)
        )
        self._stack = stack
        return self

    async def kill(self) -> None:
        """SIGKILL: the server vanishes mid-write, as in a crash; its database file stays."""
        if self.server is not None and self.server.process.returncode is None:
            self.server.process.send_signal(signal.SIGKILL)
            await self.server.process.wait()
            self.kills += 1
        await self._close()

    async def restart(self) -> TemporalOnDisk:
        await self.kill()
        return await self.start()

    async def stop(self) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
        self.server = None
