"""The load balancer the scale-out test puts in front of the bot replicas (sandbox/round_robin_proxy.py): requests
go round the replicas in turn, a caller can pin one to a replica (by path or header, neither of which the replica
sees), and a replica that is down is skipped unless the request was pinned to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from baton.devserver import free_port
from sandbox.round_robin_proxy import PIN_HEADER, RoundRobinProxy


async def echo_replica(name: str) -> web.AppRunner:
    """A replica that answers with its name, the path and the headers it got."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"replica": name, "path": request.rel_url.raw_path_qs, "body": body.decode(),
                                  "headers": {k.lower(): v for k, v in request.headers.items()}},
                                 headers={"X-Slack-No-Retry": "1"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


@pytest.fixture
async def replicas() -> AsyncIterator[list[int]]:
    runners = [await echo_replica(f"r{i}") for i in range(3)]
    try:
        yield [int(r.addresses[0][1]) for r in runners]
    finally:
        for runner in runners:
            await runner.cleanup()


async def post(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object], str]:
    """(status, the replica's echo, its X-Slack-No-Retry header); the proxy's own header must name the replica."""
    async with aiohttp.ClientSession() as session, session.post(url, data=b"a=1", headers=headers) as answer:
        body = await answer.json() if answer.status == 200 else {}
        if body:
            assert f"r{answer.headers[PIN_HEADER]}" == body["replica"]
        return answer.status, body, answer.headers.get("X-Slack-No-Retry", "")


async def test_requests_go_round_the_replicas_in_turn_and_come_back_unchanged(replicas: list[int]) -> None:
    async with RoundRobinProxy(replicas) as proxy:
        answers = [await post(proxy.url_for("/slack/events?x=1")) for _ in range(6)]
    assert [body["replica"] for _, body, _ in answers] == ["r0", "r1", "r2"] * 2
    assert all(status == 200 and no_retry == "1" for status, _, no_retry in answers)
    assert {(body["path"], body["body"]) for _, body, _ in answers} == {("/slack/events?x=1", "a=1")}
    assert proxy.served == {0: 2, 1: 2, 2: 2}


async def test_a_request_pinned_by_path_or_header_reaches_that_replica_which_sees_neither(replicas: list[int]) -> None:
    async with RoundRobinProxy(replicas) as proxy:
        _, by_path, _ = await post(proxy.url_for("/slack/events", replica=2))
        _, by_header, _ = await post(proxy.url_for("/slack/events"), {PIN_HEADER: "1"})
        status, _, _ = await post(proxy.url_for("/slack/events"), {PIN_HEADER: "7"})
    assert (by_path["replica"], by_path["path"]) == ("r2", "/slack/events")
    assert by_header["replica"] == "r1" and PIN_HEADER.lower() not in by_header["headers"]  # type: ignore[operator]
    assert status == 400


async def test_a_replica_that_is_down_is_skipped_unless_the_request_was_pinned_to_it(replicas: list[int]) -> None:
    down = free_port()
    async with RoundRobinProxy([replicas[0], down, replicas[2]]) as proxy:
        spread = [(await post(proxy.url_for()))[1]["replica"] for _ in range(3)]
        pinned, _, _ = await post(proxy.url_for(replica=1))
    assert spread == ["r0", "r2", "r2"], "the request that was replica 1's turn went to the next one"
    assert pinned == 502
