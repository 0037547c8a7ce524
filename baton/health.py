"""Liveness and readiness, the same for every Baton process: `GET /healthz` and `GET /readyz`.

    /healthz  200 {"ok": true} while the process's event loop answers: restart the process when it does not.
    /readyz   200 {"ready": true, "checks": {...}} when every check passes (Temporal reachable; for the bot, Slack's
              auth.test passed), else 503 {"ready": false, "reason": "...", "checks": {...}}: send it no traffic.

A readiness check is an async callable returning None when its dependency is fine, else the reason. Checks run when
`/readyz` is asked, at most once per `cache_s` (a load balancer probing every second costs Temporal one health RPC a
second at most), each bounded by `timeout_s`, so a probe never hangs on a dead dependency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from temporalio.client import Client

__all__ = ["Check", "Readiness", "Verdict", "add_health_routes", "temporal_reachable"]

Check = Callable[[], Awaitable[str | None]]
"""None when the dependency is fine, else why not (one short line, no secrets)."""
OK = "ok"


@dataclass(frozen=True)
class Verdict:
    checks: Mapping[str, str]
    """Each check's name and "ok" or its reason."""

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {result}" for name, result in self.checks.items() if result != OK)


class Readiness:
    """Named checks, evaluated together on demand and cached for `cache_s`; concurrent probes share one evaluation."""

    def __init__(self, checks: Mapping[str, Check], *, cache_s: float = 2.0, timeout_s: float = 2.0) -> None:
        self._checks = dict(checks)
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._last: tuple[float, Verdict] | None = None

    async def verdict(self) -> Verdict:
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if self._last is not None and now - self._last[0] < self._cache_s:
                return self._last[1]
            results = await asyncio.gather(*(self._run(check) for check in self._checks.values()))
            verdict = Verdict(dict(zip(self._checks, results, strict=True)))
            self._last = (asyncio.get_running_loop().time(), verdict)
            return verdict

    async def _run(self, check: Check) -> str:
        try:
            reason = await asyncio.wait_for(check(), self._timeout_s)
        except TimeoutError:
            return f"no answer within {self._timeout_s:g} s"
        except Exception as exc:  # a check that raises is a failed check, never a 500
            return f"check failed ({type(exc).__name__})"
        return OK if reason is None else reason


def temporal_reachable(client: Client, timeout_s: float = 1.5) -> Check:
    """Temporal's frontend answers its gRPC health check (the cheapest call it has), without the client's retries."""

    async def check() -> str | None:
        try:
            serving = await client.service_client.check_health(timeout=timedelta(seconds=timeout_s), retry=False)
        except Exception as exc:
            return f"Temporal at {client.service_client.config.target_host} is unreachable ({type(exc).__name__})"
        return None if serving else "Temporal answers but its workflow service is not serving"

    return check


def add_health_routes(app: web.Application, readiness: Readiness) -> None:
    """`GET /healthz` and `GET /readyz` on `app` (see the module docstring)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_: web.Request) -> web.Response:
        verdict = await readiness.verdict()
        body: dict[str, object] = {"ready": verdict.ready, "checks": dict(verdict.checks)}
        if not verdict.ready:
            body["reason"] = verdict.reason
        return web.json_response(body, status=200 if verdict.ready else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
