"""A round-robin HTTP reverse proxy on loopback: the load balancer in front of several bot replicas, for the
scale-out test and `bench.intake`.

Slack sends every request to one URL; behind it, any replica may get any request (nothing is sticky). This proxy
does the same, one request at a time in turn over its upstreams, and also lets a caller choose the replica, so a
test can send each redelivery of one event to a different replica on purpose:

* `POST /replica/<i>/slack/events` goes to replica `i` as `POST /slack/events` (`url_for(path, replica=i)`); the
  signature Slack puts on a request covers its body and timestamp only, so the rewritten path still verifies;
* or the header `X-Test-Replica: <i>`, removed before the request is forwarded.

Every answer carries `X-Test-Replica: <i>` naming the replica that gave it (a benchmark sends a redelivery to
another one).

A request no replica could be reached for (connection refused: a replica that is down) goes to the next one, as a
load balancer's health checks would; a pinned request does not, and is answered 502. Nothing else is retried: a
replica that got the request answers it. Every answer is recorded in `served`, by replica.

    async with RoundRobinProxy([3001, 3002, 3003]) as proxy:
        delivery = SlackDelivery(secret, proxy.url_for("/slack/events"))

`python -m sandbox.round_robin_proxy --port 3000 3001 3002 3003` runs one as its own process (the benchmark does,
so the proxy's work does not share the load generator's event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

__all__ = ["PIN_HEADER", "ProxiedRequest", "RoundRobinProxy"]

PIN_HEADER = "X-Test-Replica"
_PIN_PATH = re.compile(r"^/replica/(\d+)(/.*)$")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                         "transfer-encoding", "upgrade", "host", "content-length"})
"""Headers that describe one connection, not the request (RFC 9110 7.6.1), plus the ones aiohttp sets itself."""


@dataclass(frozen=True)
class ProxiedRequest:
    """One request as the proxy handled it: the replica that answered (None: none could be reached)."""

    replica: int | None
    path: str
    status: int
    pinned: bool


class RoundRobinProxy:
    """Spreads requests over `upstreams` (ports on 127.0.0.1, or base URLs) in turn."""

    def __init__(self, upstreams: Sequence[int | str], *, host: str = "127.0.0.1", port: int = 0,
                 timeout_s: float = 30.0) -> None:
        if not upstreams:
            raise ValueError("a proxy needs at least one upstream")
        self.upstreams = [u.rstrip("/") if isinstance(u, str) else f"http://127.0.0.1:{u}" for u in upstreams]
        self.host = host
        self._port = port
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._next = 0
        self.log: list[ProxiedRequest] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def start(self) -> RoundRobinProxy:
        # One pooled connection set per upstream, as a real load balancer keeps; no limit, so the proxy never queues.
        self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False,
                                              connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._port).start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RoundRobinProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    def url_for(self, path: str = "/slack/events", replica: int | None = None) -> str:
        """The URL to send `path` to: spread over the replicas, or always to `replica`."""
        if replica is not None:
            self._check(replica)
            path = f"/replica/{replica}{path}"
        return f"http://{self.host}:{self._port}{path}"

    @property
    def served(self) -> Counter[int]:
        """How many requests each replica answered."""
        return Counter(r.replica for r in self.log if r.replica is not None)

    # forwarding --------------------------------------------------------------------------------------------------
    def _check(self, replica: int) -> None:
        if not 0 <= replica < len(self.upstreams):
            raise ValueError(f"no replica {replica}: the proxy has {len(self.upstreams)}")

    def _route(self, request: web.Request) -> tuple[int | None, str]:
        """(the pinned replica or None, the path to forward)."""
        path = request.rel_url.raw_path
        query = request.rel_url.raw_query_string
        pinned: int | None = None
        if (match := _PIN_PATH.match(path)) is not None:
            pinned, path = int(match.group(1)), match.group(2)
        elif (header := request.headers.get(PIN_HEADER)) is not None:
            pinned = int(header) if header.strip().isdigit() else -1
        return pinned, path + (f"?{query}" if query else "")

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        pinned, target = self._route(request)
        if pinned is not None and not 0 <= pinned < len(self.upstreams):
            return self._answer(web.Response(status=400, text=f"no replica {pinned}"), None, target, True)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in _HOP_BY_HOP and k.lower() != PIN_HEADER.lower()}
        if pinned is not None:
            order = [pinned]
        else:  # the turn advances once per request, so N requests in a row reach N replicas in order
            first, self._next = self._next, (self._next + 1) % len(self.upstreams)
            order = [(first + i) % len(self.upstreams) for i in range(len(self.upstreams))]
        assert self._session is not None
        for replica in order:
            try:
                async with self._session.request(request.method, self.upstreams[replica] + target, data=body,
                                                 headers=headers, allow_redirects=False) as upstream:
                    payload = await upstream.read()
                    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
                    kept[PIN_HEADER] = str(replica)
                    response = web.Response(status=upstream.status, body=payload, headers=kept)
                    return self._answer(response, replica, target, pinned is not None)
            except aiohttp.ClientConnectorError:
                continue  # never reached the replica: safe to offer the request to the next one
            except (aiohttp.ClientError, TimeoutError) as exc:  # reached it, then lost it: not retried
                return self._answer(web.Response(status=502, text=f"replica {replica}: {type(exc).__name__}"),
                                    replica, target, pinned is not None)
        return self._answer(web.Response(status=502, text="no replica could be reached"), None, target,
                            pinned is not None)

    def _answer(self, response: web.Response, replica: int | None, path: str, pinned: bool) -> web.Response:
        self.log.append(ProxiedRequest(replica, path, response.status, pinned))
        return response


async def _serve(port: int, upstreams: list[int], ready_line: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with RoundRobinProxy(upstreams, port=port) as proxy:
        print(f"{ready_line} {proxy.port}", flush=True)
        await stop.wait()
        print(f"served by replica: {dict(sorted(proxy.served.items()))}", flush=True)


READY_LINE = "round-robin proxy listening on port"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="the port to listen on (0: any free one)")
    parser.add_argument("upstreams", type=int, nargs="+", help="the replicas' ports on 127.0.0.1")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.upstreams, READY_LINE))


if __name__ == "__main__":
    main()
