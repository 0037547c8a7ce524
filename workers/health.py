"""The worker's `/metrics`, `/healthz` and `/readyz` on BATON_METRICS_PORT (off when it is 0).

Ready means Temporal answers and the worker is polling: not before its start, nor once it drains on SIGTERM. The
endpoints come up before the worker starts and go down after it has drained, so a liveness probe never sees a
worker that is busy finishing its activities as dead.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from temporalio.client import Client
from temporalio.worker import Worker

from baton.health import Readiness, temporal_reachable
from baton.ops_server import serving_ops
from baton.temporal_metrics import TemporalMetrics

__all__ = ["WorkerHealth", "serving_worker_ops"]


class WorkerHealth:
    """The worker's readiness; `worker` is set once it runs."""

    def __init__(self, client: Client) -> None:
        self.worker: Worker | None = None
        self.readiness = Readiness({"temporal": temporal_reachable(client), "worker": self._polling})

    async def _polling(self) -> str | None:
        if self.worker is None:
            return "not started yet"
        return None if self.worker.is_running else "stopped (draining or shut down)"


@contextlib.asynccontextmanager
async def serving_worker_ops(client: Client, port: int, temporal_metrics: TemporalMetrics | None,
                             host: str = "0.0.0.0") -> AsyncIterator[WorkerHealth]:
    """The worker's endpoints on `port` while the context lasts (nothing when `port` is 0)."""
    health = WorkerHealth(client)
    if not port:
        yield health
        return
    async with serving_ops(host, port, health.readiness, temporal_metrics):
        yield health
