"""API Gateway's side of the Lambda front door, for the tests: an HTTP request becomes a payload format 2.0 event (as
an HTTP API route with a Lambda proxy integration builds it), the handler is invoked in-process on a worker thread
(as the Lambda runtime calls it: synchronously, with no event loop running in that thread), and its proxy result
becomes the HTTP answer.

Served on loopback, it lets `sandbox.SlackDelivery` sign and send requests exactly as Slack does (trigger ids,
response_urls and clicks filled from the fake Slack's state) while each one reaches `bot.serverless.handler` as an
event. Form posts arrive base64-encoded with `isBase64Encoded: true`, as API Gateway hands them over; JSON as text.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

from aiohttp import web

from bot import serverless

__all__ = ["ApiGatewayStandIn", "LambdaContextStandIn", "http_api_event"]

ROUTE = "/slack/events"


class LambdaContextStandIn:
    """The part of the Lambda context object the handler reads, with the template's 10 s timeout."""

    function_name = "baton-slack-front-door"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:baton-slack-front-door"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._deadline = time.monotonic() + timeout_s
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def http_api_event(body: bytes, headers: dict[str, str], *, method: str = "POST", path: str = ROUTE,
                   base64_encoded: bool | None = None, query: str = "") -> dict[str, Any]:
    """The event API Gateway's HTTP API (payload format 2.0) hands the function for one request.

    Header names are lower-cased (2.0 does); `base64_encoded` defaults to what API Gateway does: a form post is
    encoded, JSON is not."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if base64_encoded is None:
        base64_encoded = not lowered.get("content-type", "").startswith("application/json")
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"POST {ROUTE}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "baton1234",
            "domainName": "baton1234.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7",
                     "userAgent": lowered.get("user-agent", "")},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"POST {ROUTE}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode("ascii") if base64_encoded else body.decode("utf-8"),
        "isBase64Encoded": base64_encoded,
    }


async def invoke(event: dict[str, Any]) -> dict[str, Any]:
    """The handler, called as the Lambda runtime calls it: on a thread of its own, no event loop running there."""
    return await asyncio.to_thread(serverless.handler, event, LambdaContextStandIn())


class ApiGatewayStandIn:
    """`POST /slack/events` on loopback, each request answered by one in-process invocation of the handler."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{ROUTE}"

    async def __aenter__(self) -> ApiGatewayStandIn:
        app = web.Application()
        app.router.add_post(ROUTE, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        event = http_api_event(await request.read(), dict(request.headers), query=request.query_string)
        result = await invoke(event)
        self.invocations.append(result)
        return web.Response(status=result["statusCode"], body=(result.get("body") or "").encode(),
                            headers={k: v for k, v in (result.get("headers") or {}).items()
                                     if k.lower() != "content-length"})
