"""Fixtures for the serverless front door: the Lambda's environment (as the SAM template sets it) pointed at the
session's dev server, this test's queues and a fresh fake Slack; `baton notifier` in-process; and API Gateway's side,
so signed Slack requests reach `bot.serverless.handler` as events."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from baton.devserver import DevServer
from bot import serverless
from bot.notifier_main import NotifierRuntime
from bot.settings import NotifierSettings, load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from tests.serverless.gateway_stand_in import ApiGatewayStandIn

PREFIXES = ("SLACK_", "BATON_", "TEMPORAL_", "OPENAI_", "AWS_LAMBDA_")


@pytest.fixture
async def lambda_env(monkeypatch: pytest.MonkeyPatch, slack: FakeSlackApi, temporal_server: DevServer,
                     task_queue: str, notify_task_queue: str) -> AsyncIterator[dict[str, str]]:
    """The function's environment, and a cold container for this test (its state is dropped afterwards)."""
    for name in [name for name in os.environ if name.startswith(PREFIXES)]:
        monkeypatch.delenv(name)
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "BATON_SLACK_TEAM_ID": slack.team_id,
        "TEMPORAL_ADDRESS": temporal_server.address,
        "BATON_TASK_QUEUE": task_queue,
        "BATON_NOTIFY_TASK_QUEUE": notify_task_queue,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await asyncio.to_thread(serverless.reset)
    yield env
    await asyncio.to_thread(serverless.reset)


@pytest.fixture
async def notifier(lambda_env: dict[str, str], temporal_client: Client, task_queue: str) -> AsyncIterator[None]:
    """`baton notifier` in-process, from the same environment: the notify worker the Lambda leaves to it."""
    settings = load_settings(NotifierSettings, slack_signing_secret=None)
    async with NotifierRuntime(settings, temporal_client, agents_task_queue=task_queue):
        yield


@pytest.fixture
async def api_gateway(lambda_env: dict[str, str]) -> AsyncIterator[ApiGatewayStandIn]:
    async with ApiGatewayStandIn() as gateway:
        yield gateway


@pytest.fixture
async def sender(slack: FakeSlackApi, api_gateway: ApiGatewayStandIn) -> AsyncIterator[SlackDelivery]:
    """Slack's side: really signed requests, each delivered to the handler as an API Gateway event."""
    async with SlackDelivery(DEFAULT_SIGNING_SECRET, api_gateway.url, slack=slack) as delivery:
        yield delivery
