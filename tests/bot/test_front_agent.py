"""Mentions and DMs: the front agent on the real ChatOpenAI (pointed at the fake model) starts the task the model
picks; with BATON_FRONT_AGENT=grammar the `/baton` grammar still works and anything else gets the help text."""

from __future__ import annotations

from pydantic import SecretStr
from temporalio.client import Client

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import CancellationV1, slack_idempotency_key, task_id_for
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.bot.test_slack_flows import CHANNEL, card
from tests.conftest import WorkerFactory


async def test_a_mention_handled_by_the_front_agent_starts_the_task_the_model_picks(
        slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client, task_queue: str,
        agent_worker: WorkerFactory, fake_model: FakeOpenAI, gateway: TaskGateway) -> None:
    settings = bot_settings.model_copy(update={"baton_model": "fake-model", "openai_base_url": fake_model.base_url,
                                               "openai_api_key": SecretStr(fake_model.api_key)})
    fake_model.script(tool_call("temporal_submit", {"agent": "ops_audit", "request": "audit the web tier"}),
                      "I started an ops audit; I'll ask here before changing anything.")
    async with agent_worker(), BotRuntime(settings, temporal_client, agents_task_queue=task_queue) as bot, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:
        _, event = await sender.say("U02BOB", CHANNEL, "<@U0BATONBOT> can you check our web servers?")
        thread = slack.message(CHANNEL, event["ts"])
        await slack.wait_for(lambda: card(slack, thread), timeout=60)
        reply = await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL, event["ts"])
                                              if "I started an ops audit" in m.text])
        assert reply
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, CHANNEL, event["ts"]))
        status = await gateway.status(task_id)
        assert status.request_text == "audit the web tier" and status.requester.user_id == "U02BOB"
        assert status.requester.thread_ts == event["ts"]
        await gateway.cancel(task_id, CancellationV1(by="test"))
    assert fake_model.call_count == 2


async def test_with_the_grammar_front_agent_a_dm_in_the_command_grammar_works_and_chat_gets_help(
        slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client, task_queue: str,
        agent_worker: WorkerFactory) -> None:
    settings = bot_settings.model_copy(update={"baton_front_agent": "grammar"})
    # A DM is answered by its conversation's workflow, which runs on the agent workers: one must be running.
    async with agent_worker(), BotRuntime(settings, temporal_client, agents_task_queue=task_queue) as bot, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:
        _, agents = await sender.say("U02BOB", "D01BOB", "agents")
        _, chat = await sender.say("U02BOB", "D01BOB", "hello there")
        await slack.wait_for(lambda: slack.messages_in("D01BOB", agents["ts"])
                             and slack.messages_in("D01BOB", chat["ts"]))
    assert "ops_audit" in slack.messages_in("D01BOB", agents["ts"])[0].text
    chat_reply = slack.messages_in("D01BOB", chat["ts"])[0].text
    assert "/baton run <agent> <request>" in chat_reply and "[demo model]" not in chat_reply
