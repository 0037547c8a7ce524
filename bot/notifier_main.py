"""`baton notifier` (`python -m bot.notifier_main`): the bot's notify worker alone, with no Slack listener, until
SIGTERM / SIGINT.

A front door that cannot hold a long-lived Temporal worker (the AWS Lambda handler, bot.serverless) leaves the
`notify` and `answer_in_thread` activities to this process: the same bot.notify_worker part `python -m bot` runs,
built from the same settings (less SLACK_SIGNING_SECRET), on the same BATON_NOTIFY_TASK_QUEUE the front door names in
every request it makes durable. Run one or several; Temporal spreads the activities over them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from temporalio.client import Client

from baton.gateway import TaskGateway
from baton.temporal_metrics import TemporalMetrics
from bot.app import build_app
from bot.catalog import DEFAULT_AGENTS, parse_catalog
from bot.notify_worker import NotifyWorker
from bot.ops import BotOps
from bot.process_entry import connect_from_environment, run_process, stop_requested
from bot.settings import BotSettings, NotifierSettings, SettingsError, load_settings
from contracts import AgentInfoV1, names

__all__ = ["NotifierRuntime", "main", "serve"]

log = logging.getLogger("bot.notifier")


class NotifierRuntime:
    """The notify worker with the services its activities read (Slack client, gateway, members, links), and no
    Slack listener: nothing here answers an HTTP request or opens a socket."""

    def __init__(self, settings: BotSettings, temporal: Client, *, namespace: str = "default",
                 temporal_ui_url: str | None = None, agents: Sequence[AgentInfoV1] = DEFAULT_AGENTS,
                 agents_task_queue: str = names.AGENTS_TASK_QUEUE,
                 chat_model: Callable[[], Any] | None = None, tools: Callable[..., list[Any]] | None = None,
                 temporal_metrics: TemporalMetrics | None = None) -> None:
        gateway = TaskGateway(temporal, task_queue=agents_task_queue)
        # The app factory's services, so the front agent's tools offer and check exactly what the bot's would; the
        # app itself is never dispatched to.
        app, self.services = build_app(settings, gateway, agents=agents, namespace=namespace,
                                       temporal_ui_url=temporal_ui_url)
        self.notify_worker = NotifyWorker(temporal, app.client, self.services, chat_model=chat_model, tools=tools)
        self.ops = BotOps(temporal, app.client, metrics_port=settings.baton_metrics_port,
                          temporal_metrics=temporal_metrics)
        """/healthz, /readyz and /metrics on BATON_METRICS_PORT (bot.ops): up before the worker, down after it."""

    async def __aenter__(self) -> NotifierRuntime:
        await self.ops.start()
        self.notify_worker.start()
        log.info("Baton notifier polling %s", self.notify_worker.task_queue)
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.notify_worker.stop()
        await self.services.responder.close()
        await self.ops.stop()


async def serve() -> int:
    try:
        settings = load_settings(NotifierSettings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    temporal = await connect_from_environment()
    if isinstance(temporal, int):
        return temporal
    stop = stop_requested()
    async with NotifierRuntime(settings, temporal.client, namespace=temporal.settings.temporal_namespace,
                               temporal_ui_url=temporal.settings.temporal_ui_url,
                               agents=parse_catalog(settings.baton_agent_catalog),
                               agents_task_queue=temporal.settings.task_queue, temporal_metrics=temporal.metrics):
        await stop.wait()
        log.info("Shutting down")
    return 0


def main() -> None:
    run_process("notifier", "baton-notifier", serve)


if __name__ == "__main__":
    main()
