"""Fixtures for the bot's tests: a fresh fake Slack per test, the bot's real Slack client on it, bot settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_client
from bot.runtime import BotRuntime
from bot.settings import BotSettings, load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI


@pytest.fixture
def bot_settings(slack: FakeSlackApi, notify_task_queue: str) -> BotSettings:
    return load_settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret=DEFAULT_SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=slack.base_url,
        baton_http_host="127.0.0.1",
        baton_http_port=0,
        baton_temporal_ui_url="http://127.0.0.1:8233",
        baton_slack_team_id=slack.team_id,
        baton_model=None,
        openai_api_key=None,  # whatever the environment holds: mentions go to the demo front model
        openai_base_url=None,
        baton_notify_task_queue=notify_task_queue,
    )


@pytest.fixture
async def slack_client(bot_settings: BotSettings) -> AsyncIterator[AsyncWebClient]:
    """The bot's own client (with the rate-limit retry handler), pointed at the fake."""
    client = build_client(bot_settings)
    yield client
    if client.session is not None:
        await client.session.close()


@pytest.fixture
async def bot(bot_settings: BotSettings, temporal_client, task_queue: str) -> AsyncIterator[BotRuntime]:
    """The whole bot in-process: the Slack app on a free port and the notify worker on this test's notify queue."""
    async with BotRuntime(bot_settings, temporal_client, agents_task_queue=task_queue) as runtime:
        yield runtime


@pytest.fixture
async def sender(slack: FakeSlackApi, bot: BotRuntime) -> AsyncIterator[SlackDelivery]:
    """Slack's side of the bot's request URL: really signed requests in Slack's wire formats."""
    async with SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as delivery:
        yield delivery


@pytest.fixture
async def fake_model() -> AsyncIterator[FakeOpenAI]:
    """The OpenAI-compatible model server on loopback, which counts every model call."""
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def model_settings(bot_settings: BotSettings, fake_model: FakeOpenAI) -> BotSettings:
    """The real ChatOpenAI front agent on the fake model server."""
    return bot_settings.model_copy(update={"baton_model": "fake-model", "openai_base_url": fake_model.base_url,
                                           "openai_api_key": SecretStr(fake_model.api_key)})
