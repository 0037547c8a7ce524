"""With the Temporal server stopped, a `/baton run` and a click on a card's button each get a clear private answer
(the command's: queued, its start still trying): no 5xx, no silence, no traceback in the log. The test runs its own
dev server (not the session's), so it can stop it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from baton.devserver import DevServer, dev_server
from bot.listeners.commands import QUEUED_RUN
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from tests.bot.test_slack_flows import CHANNEL, start_ops_audit
from workers.config import WorkerSettings
from workers.worker import running_worker

USER = "U02BOB"
UNREACHABLE = "Baton cannot reach Temporal right now"


@pytest.fixture
async def own_temporal(tmp_path: Path) -> AsyncIterator[DevServer]:
    async with dev_server(headless=True, db_filename=tmp_path / "temporal.db",
                          log_path=tmp_path / "temporal.log") as server:
        yield server


async def stop(server: DevServer) -> None:
    server.process.terminate()
    await server.process.wait()


async def test_during_a_temporal_outage_a_command_and_a_click_get_a_clear_private_answer(
        own_temporal: DevServer, bot_settings: BotSettings, slack: FakeSlackApi, task_queue: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # The client gives up on an unreachable server after about a second instead of ten: the same error, sooner.
    client = await Client.connect(own_temporal.address, data_converter=pydantic_data_converter,
                                  retry_config=RetryConfig(max_elapsed_time_millis=1_000, max_retries=3))
    worker_settings = WorkerSettings(temporal_address=own_temporal.address, task_queue=task_queue,
                                     checkpointer=str(tmp_path / "checkpoints.sqlite"), drain_timeout_s=5)
    async with BotRuntime(bot_settings, client, agents_task_queue=task_queue) as bot, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:
        async with running_worker(client, worker_settings):
            status, card = await start_ops_audit(slack, sender, user=USER)
        answered = len(slack.ephemerals(user=USER))
        await stop(own_temporal)

        command = await sender.send_slash_command("run ops_audit check the db tier", USER, CHANNEL)
        assert command.status == 200, "acked within Slack's 3 s, while the start keeps trying (bot.intake)"
        assert command.json() == {"text": QUEUED_RUN, "response_type": "ephemeral"}, "privately"
        assert len(slack.ephemerals(user=USER)) == answered

        for action_id, message in (("baton.decide.accept", card), ("baton.cancel", status)):
            before = len(slack.ephemerals(user=USER))
            click = await sender.send_block_actions(user_id=USER, action_id=action_id, channel_id=CHANNEL,
                                                    message_ts=message.ts)
            assert click.status == 200
            [answer] = await slack.wait_for(lambda n=before: slack.ephemerals(user=USER)[n:], timeout=30)
            assert UNREACHABLE in answer.text, action_id
        assert "Approve" in str(slack.message(CHANNEL, card.ts).blocks), "the card keeps its buttons"
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info and r.name.split(".")[0] in ("bot", "baton")]
    assert tracebacks == []
