"""Fixtures for the bot in Socket Mode: a fresh fake Slack with a fake Socket Mode server attached, and the real
BotRuntime started with SLACK_APP_TOKEN set (so it connects over the socket and opens no HTTP port).

Built here rather than imported from tests/bot/conftest.py: those fixtures pin HTTP mode (slack_app_token=None)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from bot.runtime import BotRuntime
from bot.settings import BotSettings, load_settings
from sandbox import FakeSlackApi
from sandbox.socket_mode import FakeSocketMode


@pytest.fixture
async def socket_mode(slack: FakeSlackApi) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(slack) as server:
        yield server


@pytest.fixture
def socket_bot_settings(slack: FakeSlackApi, notify_task_queue: str) -> BotSettings:
    """Socket Mode settings: the app-level token set, no signing secret (Socket Mode requests are not signed)."""
    return load_settings(
        slack_bot_token=slack.bot_token,
        slack_app_token=slack.app_token,
        slack_signing_secret=None,
        slack_api_url=slack.base_url,
        baton_temporal_ui_url="http://127.0.0.1:8233",
        baton_slack_team_id=slack.team_id,
        baton_model=None,
        openai_api_key=None,  # whatever the environment holds: mentions go to the demo front model
        openai_base_url=None,
        baton_notify_task_queue=notify_task_queue,
    )


@pytest.fixture
async def socket_bot(
    socket_bot_settings: BotSettings, socket_mode: FakeSocketMode, temporal_client: Client, task_queue: str
) -> AsyncIterator[BotRuntime]:
    """The whole bot in-process, connected over the fake socket, with its notify worker on this test's queue."""
    async with BotRuntime(socket_bot_settings, temporal_client, agents_task_queue=task_queue) as runtime:
        await socket_mode.wait_connected()
        yield runtime
