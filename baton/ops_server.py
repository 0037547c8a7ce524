"""The operations endpoints, `GET /metrics` (Prometheus text) beside `/healthz` and `/readyz` (baton.health).

The bot in HTTP mode adds them to the server that takes Slack's requests; a process without an HTTP server of its
own (the worker, the notifier, the bot in Socket Mode) serves them on BATON_METRICS_PORT with `serving_ops`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import CollectorRegistry

from baton.health import Readiness, add_health_routes
from baton.temporal_metrics import TemporalMetrics

__all__ = ["add_metrics_route", "add_ops_routes", "exporting", "serving_ops"]

log = logging.getLogger(__name__)


def add_metrics_route(app: web.Application, registry: CollectorRegistry = REGISTRY) -> None:
    async def metrics(_: web.Request) -> web.Response:
        # Collecting is synchronous and quick (no I/O: counters in memory, the SDK's buffer drained in-process).
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app.router.add_get("/metrics", metrics)


def add_ops_routes(app: web.Application, readiness: Readiness, registry: CollectorRegistry = REGISTRY) -> None:
    add_health_routes(app, readiness)
    add_metrics_route(app, registry)


@contextlib.asynccontextmanager
async def exporting(temporal_metrics: TemporalMetrics | None, registry: CollectorRegistry = REGISTRY
                    ) -> AsyncIterator[None]:
    """The SDK's metrics on `registry` while the context lasts, drained in the background (nothing when None)."""
    if temporal_metrics is None:
        yield
        return
    registry.register(temporal_metrics)
    drainer = asyncio.create_task(temporal_metrics.drain_every(), name="baton-temporal-metrics")
    try:
        yield
    finally:
        drainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drainer
        registry.unregister(temporal_metrics)


@contextlib.asynccontextmanager
async def serving_ops(host: str, port: int, readiness: Readiness, temporal_metrics: TemporalMetrics | None = None,
                      registry: CollectorRegistry = REGISTRY) -> AsyncIterator[int]:
    """Serve the operations endpoints on host:port (0: a free port) while the context lasts; yields the port.

    `temporal_metrics`, when given, is exported on `registry` meanwhile (`exporting`)."""
    app = web.Application()
    add_ops_routes(app, readiness, registry)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        async with exporting(temporal_metrics, registry):
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = int(runner.addresses[0][1])
            log.info("Serving /metrics, /healthz and /readyz on port %s", bound)
            yield bound
    finally:
        await runner.cleanup()
