"""A wrong or revoked SLACK_APP_TOKEN fails the bot at start with one line naming the variable: slack_sdk's own
connect() would log invalid_auth and retry forever, which looks like a hang."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from baton.devserver import DevServer
from bot.runtime import BotRuntime
from bot.settings import BotSettings, SettingsError
from sandbox import DEFAULT_APP_TOKEN, FakeSlackApi, FakeSocketMode

REVOKED = "xapp-1-A0BATON-000000000000-revokedrevokedrevoked"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    """A workspace whose app-level token is no longer the one the bot was given."""
    async with FakeSlackApi(app_token="xapp-1-A0BATON-000000000001-rotatedrotatedrotated") as fake:
        yield fake


async def test_a_refused_app_token_fails_the_start_with_one_line_naming_slack_app_token(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot_settings: BotSettings,
        temporal_client: Client, task_queue: str) -> None:
    for token in (REVOKED, DEFAULT_APP_TOKEN):
        settings = socket_bot_settings.model_copy(update={"slack_app_token": SecretStr(token)})
        runtime = BotRuntime(settings, temporal_client, agents_task_queue=task_queue)
        with pytest.raises(SettingsError) as refused:
            await asyncio.wait_for(runtime.start(), timeout=10)
        message = str(refused.value)
        assert message == "Invalid bot settings: SLACK_APP_TOKEN (Slack refused it: invalid_auth)"
        assert token not in message and "\n" not in message
    assert [c.response["error"] for c in slack.calls_to("apps.connections.open")] == ["invalid_auth"] * 2
    assert socket_mode.connections == [] and socket_mode.tickets_issued == 0


async def test_python_m_bot_with_a_refused_app_token_prints_one_line_and_exits_2(
        slack: FakeSlackApi, temporal_server: DevServer) -> None:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    env = {**keep, "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": REVOKED, "SLACK_API_URL": slack.base_url,
           "TEMPORAL_ADDRESS": temporal_server.address, "BATON_NOTIFY_TASK_QUEUE": "baton-slack-refused-token"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    text = err.decode()
    assert process.returncode == 2, text[-2000:]
    # Start-up log lines may come first (bolt's own); the verdict is one line, and no traceback or retry loop.
    assert text.strip().splitlines()[-1] == "Invalid bot settings: SLACK_APP_TOKEN (Slack refused it: invalid_auth)"
    assert text.count("SLACK_APP_TOKEN") == 1 and "Traceback" not in text and REVOKED not in text
    assert slack.calls_to("apps.connections.open")
