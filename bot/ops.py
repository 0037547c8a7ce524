"""The bot's and the notifier's operations endpoints: `/healthz`, `/readyz` and `/metrics` (baton.health,
baton.ops_server), on the bot's HTTP server in HTTP mode, and on BATON_METRICS_PORT when it is set (Socket Mode, the
notifier: processes that serve no HTTP otherwise).

Ready means Temporal answers its health check now, and Slack's `auth.test` passed with the bot token: asked once at
start, in the background (a start never waits on Slack), and asked again on a readiness probe until it passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from baton.health import Readiness, temporal_reachable
from baton.ops_server import add_ops_routes, exporting, serving_ops
from baton.temporal_metrics import TemporalMetrics
from bot.metrics import count_slack_calls

__all__ = ["BotOps", "SlackAuth"]

log = logging.getLogger(__name__)


class SlackAuth:
    """Slack's verdict on the bot token (`auth.test`), kept once it passed: a token does not expire by itself, and
    a revoked one shows in every Web API call anyway."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._asking: asyncio.Task[str | None] | None = None
        self._passed = False

    def begin(self) -> None:
        """Ask Slack now, in the background."""
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask(), name="baton-slack-auth-test")

    async def check(self) -> str | None:
        """A readiness check: None once auth.test passed; else why not (and a new question is on its way)."""
        if self._passed:
            return None
        if self._asking is None:
            return "auth.test not asked yet"
        if not self._asking.done():
            return "auth.test not answered yet"
        reason = self._asking.result()
        if reason is not None:
            self.begin()  # Slack may have been unreachable at start: ask again for the next probe
        return reason

    async def close(self) -> None:
        if self._asking is not None and not self._asking.done():
            self._asking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._asking

    async def _ask(self) -> str | None:
        try:
            await self._client.auth_test()
        except SlackApiError as exc:
            reason = f"Slack refused auth.test ({exc.response.get('error')})"
            log.warning("%s: check SLACK_BOT_TOKEN", reason)
            return reason
        except Exception as exc:
            return f"Slack did not answer auth.test ({type(exc).__name__})"
        self._passed = True
        return None


class BotOps:
    """Readiness for a process that talks to Temporal and Slack, its Slack calls counted, the SDK's metrics
    exported; `start()` before the rest of the process, `stop()` after it, so probes answer while it drains."""

    def __init__(self, temporal: Client, slack: AsyncWebClient, *, metrics_port: int = 0, host: str = "0.0.0.0",
                 temporal_metrics: TemporalMetrics | None = None) -> None:
        count_slack_calls(slack)
        self.slack_auth = SlackAuth(slack)
        self.readiness = Readiness({"temporal": temporal_reachable(temporal), "slack": self.slack_auth.check})
        self._metrics_port = metrics_port
        self._host = host
        self._temporal_metrics = temporal_metrics
        self._serving = contextlib.AsyncExitStack()
        self.metrics_port: int | None = None
        """Where BATON_METRICS_PORT's server listens once started (None when it is off)."""

    def add_routes(self, app: web.Application) -> None:
        """The endpoints on a server the process has anyway (the bot's HTTP server)."""
        add_ops_routes(app, self.readiness)

    async def start(self) -> None:
        self.slack_auth.begin()
        if self._metrics_port:
            self.metrics_port = await self._serving.enter_async_context(
                serving_ops(self._host, self._metrics_port, self.readiness, self._temporal_metrics))
        else:
            await self._serving.enter_async_context(exporting(self._temporal_metrics))

    async def stop(self) -> None:
        await self._serving.aclose()
        await self.slack_auth.close()
