"""Sandbox test fixtures: a fresh fake Slack, a real slack_sdk client on it, a signed-request receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from signed_receiver import SIGNING_SECRET, Received, SignedReceiver
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi
from sandbox.delivery import SlackDelivery


@pytest.fixture
async def client(slack: FakeSlackApi) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
    yield web_client
    if web_client.session is not None:
        await web_client.session.close()


@pytest.fixture
async def receiver() -> AsyncIterator[SignedReceiver]:
    verifier = SignatureVerifier(SIGNING_SECRET)
    state = SignedReceiver()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        valid = verifier.is_valid_request(body, dict(request.headers))
        state.requests.append(Received(dict(request.headers), body, valid))
        if not valid:
            return web.Response(status=401, text="invalid request")
        return web.Response(text=state.answer, content_type="application/json" if state.answer else "text/plain")

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield state
    await runner.cleanup()


@pytest.fixture
async def delivery(slack: FakeSlackApi, receiver: SignedReceiver) -> AsyncIterator[SlackDelivery]:
    async with SlackDelivery(SIGNING_SECRET, receiver.url, slack=slack) as sender:
        yield sender
