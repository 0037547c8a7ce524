"""`python -m bot` as a real process: settings fail fast in one line, HTTP mode serves signed requests, App Home
renders, SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import aiohttp

from baton.devserver import DevServer
from bot.runtime import BotRuntime
from bot.settings import SettingsError, load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    return {**keep, **extra}


async def test_missing_and_invalid_settings_fail_at_start_with_one_line_naming_them() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=_env(SLACK_BOT_TOKEN="xoxp-user-token-secret", BATON_HTTP_PORT="http"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2 and len(lines) == 1
    assert "SLACK_BOT_TOKEN" in lines[0] and "BATON_HTTP_PORT" in lines[0]
    assert "xoxp-user-token-secret" not in lines[0], "a secret is never echoed"


def test_http_mode_needs_a_signing_secret() -> None:
    try:
        load_settings(slack_bot_token="xoxb-1", slack_signing_secret=None, slack_app_token=None)
    except SettingsError as exc:
        assert "SLACK_SIGNING_SECRET" in str(exc)
    else:
        raise AssertionError("accepted HTTP mode without a signing secret")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_python_m_bot_serves_signed_requests_and_stops_on_sigterm(
        slack: FakeSlackApi, temporal_server: DevServer) -> None:
    port = _free_port()
    env = _env(SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
               SLACK_API_URL=slack.base_url, BATON_HTTP_PORT=str(port), BATON_HTTP_HOST="127.0.0.1",
               TEMPORAL_ADDRESS=temporal_server.address)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)  # the process is still starting: poll until it listens
        async with SlackDelivery(DEFAULT_SIGNING_SECRET, f"http://127.0.0.1:{port}/slack/events",
                                 slack=slack) as sender:
            assert (await sender.send_slash_command("help", "U02BOB", "C02OPS")).status == 200
            await slack.wait_for(lambda: slack.ephemerals(user="U02BOB"))
            assert (await sender.send_slash_command("help", "U02BOB", "C02OPS", forge_signature=True)).status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert slack.bot_token not in err.decode() and DEFAULT_SIGNING_SECRET not in err.decode()


async def test_app_home_shows_my_tasks_and_approvals(slack: FakeSlackApi, bot: BotRuntime,
                                                     sender: SlackDelivery) -> None:
    await sender.send_event({"type": "app_home_opened", "user": "U02BOB", "channel": "D01BOB", "tab": "home",
                             "event_ts": "1.0"})
    view = await slack.wait_for(lambda: slack.home_view("U02BOB"))
    text = str(view.payload["blocks"])
    assert "Approvals waiting for me" in text and "My running tasks" in text
