"""Fixtures for the scale-out tests: three `python -m bot` replicas behind a round-robin proxy, as Slack reaches a
deployment through its load balancer, with one `python -m workers`, the session's Temporal dev server and one fake
Slack.

The replicas share what a deployment's replicas share: the Temporal namespace, the agents' task queue, the notify
queue (so any live replica posts any task's thread), the signing secret and the bot token. Nothing else: each is
its own process with its own memory. The front agent is the real ChatOpenAI on the fake model server, which counts
the model calls every replica makes.

The processes cost seconds to start, so one set serves the whole module; `scaleout` (per test) starts again any
replica a test killed, so each test begins with three live replicas and a clean proxy log. When a test fails, the
end of every process's log is added to its report.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Generator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from baton.devserver import DevServer, free_port
from baton.gateway import TaskGateway
from bench.chaos_processes import BatonProcess, BotProcess, bot_process, worker_process
from sandbox import DEFAULT_SIGNING_SECRET, DEFAULT_USERS, FakeSlackApi, SlackDelivery, SlackUser
from sandbox.openai_server import FakeOpenAI
from sandbox.round_robin_proxy import RoundRobinProxy

REPLICAS = 3
CLICKERS = tuple(SlackUser(f"U1CLICK{i:02d}", f"clicker{i}", f"Clicker {i}") for i in range(20))
"""Twenty people in the workspace besides Alice, Bob and Carol: enough distinct approvers for one card."""
FRONT_AGENT_REPLY = "Hello from the model: ask me to run an agent when you need one."
FAST_WORKER = {
    "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
    "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
    "BATON_PROGRESS_INTERVAL_S": "0.05",
    "BATON_DRAIN_TIMEOUT_S": "1",
}
"""As the chaos tests' worker: a dead process's work moves on after 1 s, not the default 10 s."""
_STACK = pytest.StashKey["ScaleOut"]()


def front_agent_replies(body: dict[str, Any]) -> str | None:
    """The front agent (the model call that offers `temporal_submit`) answers in words and starts nothing."""
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    return FRONT_AGENT_REPLY if "temporal_submit" in tools else None


def front_agent_calls(model: FakeOpenAI) -> list[Any]:
    """The model calls the front agent made (a worker's agent calls offer other tools)."""
    return [c for c in model.calls if "temporal_submit" in c.tool_names]


@dataclass
class ScaleOut:
    """One deployment: `bots[i]` is replica `i` of the proxy; `slack` is the fake Slack every replica talks to."""

    client: Client
    task_queue: str
    notify_queue: str
    slack: FakeSlackApi
    model: FakeOpenAI
    proxy: RoundRobinProxy
    worker: BatonProcess
    bots: list[BotProcess]
    base_env: list[dict[str, str]] = field(default_factory=list)

    @property
    def gateway(self) -> TaskGateway:
        return TaskGateway(self.client, task_queue=self.task_queue)

    def delivery(self, replica: int | None = None) -> SlackDelivery:
        """Slack's side, through the proxy: spread over the replicas, or always to `replica`."""
        return SlackDelivery(DEFAULT_SIGNING_SECRET, self.proxy.url_for("/slack/events", replica), slack=self.slack)

    @property
    def processes(self) -> list[BatonProcess]:
        return [self.worker, *self.bots]

    async def all_replicas_up(self) -> None:
        """Each replica running, on its usual settings (a test may have restarted one with a fault armed)."""
        for bot, env in zip(self.bots, self.base_env, strict=True):
            if bot.env != env:
                await bot.kill()
                bot.env = dict(env)
        await asyncio.gather(*(bot.start() for bot in self.bots if not bot.running))


@pytest.fixture(scope="module")
async def scaleout_module(temporal_server: DevServer, temporal_client: Client,
                          tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ScaleOut]:
    tmp = tmp_path_factory.mktemp("scaleout")
    task_queue = f"agents-scaleout-{uuid.uuid4().hex[:8]}"
    notify_queue = f"{task_queue}-slack"
    async with AsyncExitStack() as stack:
        slack = await stack.enter_async_context(FakeSlackApi(users=(*DEFAULT_USERS, *CLICKERS)))
        model = await stack.enter_async_context(FakeOpenAI())
        model.respond_with(front_agent_replies)
        worker = worker_process(temporal_server.address, tmp / "checkpoints.sqlite", tmp / "worker.log",
                                BATON_TASK_QUEUE=task_queue, **FAST_WORKER)
        bots = [_replica(i, temporal_server, slack, model, task_queue, notify_queue, tmp) for i in range(REPLICAS)]
        proxy = await stack.enter_async_context(RoundRobinProxy([bot.port for bot in bots]))
        deployment = ScaleOut(temporal_client, task_queue, notify_queue, slack, model, proxy, worker, bots,
                              [dict(bot.env) for bot in bots])
        try:
            await asyncio.gather(worker.start(), *(bot.start() for bot in bots))
            yield deployment
        finally:
            for process in deployment.processes:
                await process.kill()  # nothing to drain after the tests: SIGKILL is quick and sure


def _replica(index: int, server: DevServer, slack: FakeSlackApi, model: FakeOpenAI, task_queue: str,
             notify_queue: str, tmp: Path) -> BotProcess:
    bot = bot_process(server.address, slack.base_url, slack.bot_token, DEFAULT_SIGNING_SECRET, free_port(),
                      tmp / f"bot-{index}.log", BATON_SLACK_TEAM_ID=slack.team_id, BATON_TASK_QUEUE=task_queue,
                      BATON_NOTIFY_TASK_QUEUE=notify_queue, OPENAI_BASE_URL=model.base_url,
                      OPENAI_API_KEY=model.api_key, BATON_MODEL="fake-model")
    bot.env["BATON_FRONT_AGENT"] = "model"  # bot_process's default is the grammar; these replicas ask the model
    bot.name = f"bot-{index}"
    return bot


@pytest.fixture
async def scaleout(scaleout_module: ScaleOut, request: pytest.FixtureRequest) -> ScaleOut:
    await scaleout_module.all_replicas_up()
    scaleout_module.proxy.log.clear()
    request.node.stash[_STACK] = scaleout_module
    return scaleout_module


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """On failure, show what every process said (each incarnation is marked in its log)."""
    outcome = yield
    report = outcome.get_result()
    deployment = item.stash.get(_STACK, None)
    if report.failed and deployment is not None:
        for process in deployment.processes:
            report.sections.append((f"{process.name} log (end)", process.log_tail(60)))
