"""The bot process's parts, started and stopped together: the Slack app (HTTP on /slack/events, or Socket Mode)
and the Temporal worker that runs the `notify` and `answer_in_thread` activities on BATON_NOTIFY_TASK_QUEUE (default
`baton-slack`), the queue every task and conversation this bot starts names as its own.

`python -m bot` runs it until SIGTERM; tests run it in-process on a free port against the fake Slack.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from temporalio.client import Client
from temporalio.worker import Worker

from baton.codec import EncryptionCodec
from baton.gateway import TaskGateway
from baton.temporal_metrics import TemporalMetrics
from bot import faults
from bot.app import build_app
from bot.catalog import DEFAULT_AGENTS
from bot.codec_server import add_codec_routes
from bot.http_guard import guarded_web_app
from bot.notify_worker import NotifyWorker, chat_model_factory
from bot.ops import BotOps
from bot.services import BotServices
from bot.settings import BotSettings, SettingsError
from bot.socket_guard import GuardedSocketModeHandler
from contracts import AgentInfoV1, names

__all__ = ["BotRuntime", "chat_model_factory"]

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


class BotRuntime:
    def __init__(self, settings: BotSettings, temporal: Client, *, namespace: str = "default",
                 temporal_ui_url: str | None = None, agents: Sequence[AgentInfoV1] = DEFAULT_AGENTS,
                 agents_task_queue: str = names.AGENTS_TASK_QUEUE,
                 chat_model: Callable[[], Any] | None = None, tools: Callable[..., list[Any]] | None = None,
                 temporal_metrics: TemporalMetrics | None = None) -> None:
        self.settings = settings
        self.gateway = TaskGateway(temporal, task_queue=agents_task_queue)
        self.app, self.services = build_app(
            settings, self.gateway, agents=agents, namespace=namespace, temporal_ui_url=temporal_ui_url,
        )
        self.notify_worker = NotifyWorker(temporal, self.app.client, self.services, chat_model=chat_model,
                                          tools=tools)
        """Started once the Slack side is known to work (Socket Mode's token accepted)."""
        self.notifier, self.answers = self.notify_worker.notifier, self.notify_worker.answers
        # In HTTP mode the endpoints are on the HTTP server: BATON_METRICS_PORT (which the image sets for every
        # process, and `baton dev` hands the worker too) is for a Socket Mode bot, which has no HTTP server.
        self.ops = BotOps(temporal, self.app.client, host=settings.baton_http_host, temporal_metrics=temporal_metrics,
                          metrics_port=settings.baton_metrics_port if settings.socket_mode else 0)
        """/healthz, /readyz, /metrics (bot.ops); `temporal_metrics` is the SDK's, when `temporal` records them."""
        self._temporal = temporal
        self._temporal_ui_url = temporal_ui_url
        self._runner: web.AppRunner | None = None
        self._socket: GuardedSocketModeHandler | None = None
        self.port: int | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    async def start(self) -> BotRuntime:
        # Everything built so far lives as long as the process: keep it out of the collector's full passes, which
        # otherwise stop every request for 100+ ms on this heap (langchain, pydantic schemas, temporalio).
        gc.freeze()
        log.info("Front agent for mentions and DMs: %s", self.settings.front_agent)
        try:
            await self._start()
        except BaseException:
            await self.stop()  # `async with` does not call __aexit__ when __aenter__ raises
            raise
        return self

    async def _start(self) -> None:
        await self.ops.start()
        socket = await self._open_socket() if self.settings.socket_mode else None
        self.notify_worker.start()
        if socket is not None:
            self._socket = socket
            await socket.connect_async()
            log.info("Baton bot connected in Socket Mode")
        else:
            assert self.settings.slack_signing_secret is not None  # BotSettings requires it in HTTP mode
            web_app = guarded_web_app(self.app, self.settings.slack_signing_secret.get_secret_value(), EVENTS_PATH)
            self.ops.add_routes(web_app)
            faults.install(web_app)  # test-only, off unless BATON_FAULT_KILL_AFTER_ACK is set
            codec = self._temporal.data_converter.payload_codec
            if isinstance(codec, EncryptionCodec) and codec.encrypts:  # BATON_PAYLOAD_KEYS: serve the codec server
                token = self.settings.baton_codec_auth_token
                add_codec_routes(web_app, codec, token.get_secret_value() if token else None, self._temporal_ui_url)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.baton_http_host, self.settings.baton_http_port)
            await site.start()
            self.port = self._runner.addresses[0][1]
            log.info("Baton bot listening on port %s%s", self.port, EVENTS_PATH)

    async def _open_socket(self) -> GuardedSocketModeHandler:
        """The Socket Mode handler, holding its first WebSocket URL, or SettingsError if Slack refuses the app token.

        slack_sdk's connect() would log invalid_auth and retry forever, so a wrong or revoked SLACK_APP_TOKEN looks
        like a hang; asking `apps.connections.open` once here turns it into one line at start. A network error is
        left to connect()'s own retries (Slack may just be unreachable for a moment).
        """
        assert self.settings.slack_app_token is not None
        token = self.settings.slack_app_token.get_secret_value()
        url: str | None = None
        try:
            # The call slack_sdk's issue_new_wss_url() makes, on the bot's client (429s waited out), before the
            # handler exists: a refusal leaves nothing to close and no retry loop behind.
            url = (await self.app.client.apps_connections_open(app_token=token))["url"]
        except SlackApiError as exc:
            refused = f"Invalid bot settings: SLACK_APP_TOKEN (Slack refused it: {exc.response['error']})"
            raise SettingsError(refused) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("Slack is not reachable yet (%s); Socket Mode keeps retrying", type(exc).__name__)
        handler = GuardedSocketModeHandler(self.app, token)
        if url is not None:  # else connect() asks for one itself
            handler.client.wss_uri = url
        return handler

    async def stop(self) -> None:
        """Stop taking Slack requests first, then let running notify activities finish (Temporal retries the
        rest on another replica)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await _finish_listeners(timeout_s=5.0)
        await self.services.intakes.drain()  # a start or a decision still on its way to Temporal, acked already
        await self.notify_worker.stop()
        await self.services.responder.close()
        await self.ops.stop()

    async def __aenter__(self) -> BotRuntime:
        return await self.start()

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def worker(self) -> Worker | None:
        return self.notify_worker.worker

    @property
    def bolt(self) -> AsyncApp:
        return self.app

    @property
    def bot_services(self) -> BotServices:
        return self.services


async def _finish_listeners(timeout_s: float) -> None:
    """Bolt runs a listener after its ack as a bare task: let those in flight finish (and cancel what is left after
    `timeout_s`), so no work of a stopped bot carries on against the clients it is about to close."""
    running = [task for task in asyncio.all_tasks() if not task.done() and _is_bolt_listener(task)]
    if not running:
        return
    _, left = await asyncio.wait(running, timeout=timeout_s)
    for task in left:
        task.cancel()


def _is_bolt_listener(task: asyncio.Task[Any]) -> bool:
    return getattr(task.get_coro(), "__qualname__", "").endswith("run_ack_function_asynchronously")
