"""The processes of `bench.intake`: N bot replicas and one worker run from a chosen checkout of Baton (this one, or
an older release for the comparison), and the round-robin proxy in front of the replicas as its own process.

Running a release from another checkout needs only its working tree: `python -m bot` started with that tree as its
working directory imports that tree's packages first (the venv's editable install of this checkout comes after
the working directory on `sys.path`), with the same venv and so the same libraries.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from baton.devserver import free_port
from bench.chaos_processes import REPO_ROOT, BatonProcess, bot_process, clean_env, worker_process
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi
from sandbox.round_robin_proxy import READY_LINE as PROXY_READY

__all__ = ["Deployment", "TreeProcess", "deployment"]


class TreeProcess(BatonProcess):
    """A BatonProcess started from `tree` (its working directory), with extra command-line `args`; `port` is the
    one it serves HTTP on, if any."""

    def __init__(self, name: str, module: str, env: Mapping[str, str], log_path: Path, ready_line: str,
                 tree: Path, args: Sequence[str] = (), port: int | None = None) -> None:
        super().__init__(name, module, env, log_path, ready_line)
        self.tree = tree
        self.args = list(args)
        self.port = port

    async def start(self) -> TreeProcess:
        self.generation += 1
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - once per start; the child inherits the descriptor
            log.write(f"\n===== {self.name} start #{self.generation} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            offset = log.tell()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, *self.args, cwd=self.tree, env=self.env, stdout=log, stderr=log,
                start_new_session=True)
        await self._wait_ready(offset)
        return self


def _from_tree(process: BatonProcess, tree: Path, port: int | None = None) -> TreeProcess:
    return TreeProcess(process.name, process.module, process.env, process.log_path, process.ready_line, tree,
                       port=port)


@dataclass
class Deployment:
    """What a run measures: the bots behind the proxy, the worker, and which checkout they came from."""

    tree: Path
    bots: list[TreeProcess]
    worker: TreeProcess
    proxy: TreeProcess
    proxy_port: int

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/slack/events"

    @property
    def all(self) -> list[TreeProcess]:
        return [self.proxy, self.worker, *self.bots]


@asynccontextmanager
async def deployment(tree: Path, temporal_address: str, slack: FakeSlackApi, work_dir: Path, *, replicas: int,
                     front_agent: str = "demo") -> AsyncIterator[Deployment]:
    """Start the worker, `replicas` bots (one notify queue, as one deployment's replicas share) and the proxy; SIGKILL
    them all when the block ends (nothing is left to drain once a run is measured).

    The task queue is the default `agents`: releases before BATON_TASK_QUEUE reached the bot submit there, and each
    run has a dev server of its own."""
    task_queue = "agents"
    worker = _from_tree(worker_process(
        temporal_address, work_dir / "checkpoints.sqlite", work_dir / "worker.log", BATON_TASK_QUEUE=task_queue,
        BATON_PROGRESS_INTERVAL_S="0.2", BATON_HEARTBEAT_THROTTLE_S="1"), tree)
    bots = []
    for index in range(replicas):
        bot = bot_process(temporal_address, slack.base_url, slack.bot_token, DEFAULT_SIGNING_SECRET, free_port(),
                          work_dir / f"bot-{index}.log", BATON_SLACK_TEAM_ID=slack.team_id,
                          BATON_TASK_QUEUE=task_queue, BATON_NOTIFY_TASK_QUEUE=f"{task_queue}-slack")
        bot.env["BATON_FRONT_AGENT"] = front_agent
        bot.name = f"bot-{index}"
        bots.append(_from_tree(bot, tree, bot.port))
    proxy_port = free_port()
    proxy = TreeProcess("proxy", "sandbox.round_robin_proxy", clean_env(), work_dir / "proxy.log", PROXY_READY,
                        REPO_ROOT, ["--port", str(proxy_port), *(str(b.port) for b in bots)])
    running = Deployment(tree, bots, worker, proxy, proxy_port)
    try:
        await asyncio.gather(worker.start(), *(bot.start() for bot in bots))
        await proxy.start()
        yield running
    finally:
        for process in running.all:
            await process.kill()
