"""Each bot owns the conversations it starts: requests name the bot's notify queue, so the workflow calls back that
bot; Retry resubmits the failed request as it was, parameters included."""

from __future__ import annotations

from baton.gateway import TaskGateway
from bot.origin import SlackOrigin, default_policy, task_request
from bot.runtime import BotRuntime
from sandbox import FakeSlackApi, Message, SlackDelivery
from tests.bot.test_slack_flows import CHANNEL, labels, root_messages, thread_of
from tests.conftest import WorkerFactory


async def test_a_task_started_from_slack_names_this_bots_notify_queue_and_its_thread_stays_live(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway, notify_task_queue: str) -> None:
    async with agent_worker():
        answer = await sender.send_slash_command("run diagnostic smoke check", "U02BOB", CHANNEL)
        assert answer.status == 200
        root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
        await slack.wait_for(lambda: "Completed" in str(slack.message(CHANNEL, root.ts).blocks), timeout=60)
    [started] = [e.text for e in slack.ephemerals(user="U02BOB") if "Started" in e.text]
    task_id = started.split("`")[1]
    status = await gateway.status(task_id)
    assert notify_task_queue != "baton-slack"
    assert status.requester.notify_task_queue == notify_task_queue == bot.settings.baton_notify_task_queue


def _final_with_retry(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in thread_of(slack, root) if "Retry" in labels(m)), None)


async def test_retry_resubmits_the_failed_task_with_its_parameters(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway, notify_task_queue: str) -> None:
    origin = SlackOrigin(team_id=slack.team_id, channel_id=CHANNEL, user_id="U02BOB", identity_ts="1700000000.000200")
    parameters = {"steps": 1, "fail": "always", "fail_at_step": 1}
    request = task_request(origin, "diagnostic", "fail on purpose", default_policy(bot.settings),
                           notify_task_queue=notify_task_queue, parameters=parameters)
    async with agent_worker():
        assert (await gateway.submit(request)).started
        root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
        failed = await slack.wait_for(lambda: _final_with_retry(slack, root), timeout=60)
        clicked = await sender.send_block_actions(user_id="U02BOB", action_id="baton.retry", channel_id=CHANNEL,
                                                  message_ts=failed.ts)
        assert clicked.status == 200
        await slack.wait_for(lambda: any("Started" in e.text for e in slack.ephemerals(user="U02BOB")), timeout=30)
        [started] = [e.text for e in slack.ephemerals(user="U02BOB") if "Started" in e.text]
        retry_id = started.split("`")[1]
        retried = await gateway.status(retry_id)
    assert retry_id != request.task_id
    assert retried.parameters == parameters and retried.request_text == "fail on purpose"
    assert retried.requester.notify_task_queue == notify_task_queue
