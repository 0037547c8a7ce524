"""The real bot in Socket Mode, end to end: envelopes over the fake Slack's WebSocket, the real worker and dev
server, the fake Slack Web API recording what people would see."""

from __future__ import annotations

from temporalio.client import Client

from bot.runtime import BotRuntime
from contracts import slack_idempotency_key, task_id_for
from sandbox import FakeSlackApi, Message
from sandbox.socket_mode import FakeSocketMode
from tests.conftest import WorkerFactory
from tests.support import eventually

CHANNEL = "C01GENERAL"
SLACK_ACK_DEADLINE_S = 3.0


def root_messages(slack: FakeSlackApi) -> list[Message]:
    return [m for m in slack.messages_in(CHANNEL) if m.thread_ts is None and m.user == slack.bot_user_id]


def completed(slack: FakeSlackApi, ts: str) -> bool:
    return completed_blocks(slack.message(CHANNEL, ts).blocks)


def completed_blocks(blocks: object) -> bool:
    return "Completed" in str(blocks)


def buttons(message: Message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def approval_card(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL, root.ts) if "Approve" in buttons(m)), None)


def final_message(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL, root.ts) if "tokens in" in str(m.blocks)), None)


async def tasks_on(client: Client, task_queue: str) -> list[str]:
    """Task ids started on this test's own task queue (visibility; callers wait for it to catch up)."""
    query = f"WorkflowType = 'AgentWorkflow' AND TaskQueue = '{task_queue}'"
    return [e.id async for e in client.list_workflows(query)]


async def test_the_bot_connects_with_a_fresh_url_from_apps_connections_open_using_the_app_token(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime) -> None:
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.ok and opened.response["url"].startswith(f"ws://127.0.0.1:{socket_mode.port}/link/?ticket=")
    assert "token" not in opened.args, "the app-level token travels in the Authorization header only"
    assert len(socket_mode.open_connections) == 1 and socket_bot.port is None, "no HTTP port in Socket Mode"


async def test_a_slash_command_over_the_socket_is_acked_within_3s_and_runs_one_task_to_completed(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory,
        temporal_client: Client, task_queue: str) -> None:
    async with agent_worker():
        ack = await socket_mode.send_slash_command("run diagnostic hello", "U01ALICE", CHANNEL)
        assert ack.type == "slash_commands" and ack.latency_s < SLACK_ACK_DEADLINE_S
        [started] = await slack.wait_for(lambda: slack.ephemerals(user="U01ALICE"))
        assert "Started `diagnostic-" in started.text
        [status] = await slack.wait_for(lambda: root_messages(slack), timeout=30)
        await slack.wait_for(lambda: completed(slack, status.ts), timeout=60)
    assert len(root_messages(slack)) == 1, "one status message, edited in place"
    [posted] = [c for c in slack.calls_to("chat.postMessage", ok=True) if "thread_ts" not in c.args]
    if not completed_blocks(posted.args.get("blocks")):  # a quick task can be done by the first notify: no edit then
        assert slack.calls_to("chat.update", ok=True), "the status message was edited, not reposted"
    assert await eventually(lambda: tasks_on(temporal_client, task_queue)) == [started.text.split("`")[1]]


async def test_an_app_mention_over_the_socket_reaches_the_bot_and_is_answered_in_its_thread(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory) -> None:
    async with agent_worker():  # the mention's conversation workflow runs there
        ack, event = await socket_mode.say("U02BOB", CHANNEL, "<@U0BATONBOT> help")
        assert ack.type == "events_api" and ack.payload is None and ack.latency_s < SLACK_ACK_DEADLINE_S
        [reply] = await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL, event["ts"])
                                                if not slack.methods.streams.streaming(CHANNEL, m.ts)])
    assert reply.user == slack.bot_user_id and "/baton run" in reply.text


async def test_after_a_refresh_requested_disconnect_the_bot_reconnects_with_a_fresh_url_and_keeps_working(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory) -> None:
    first = await socket_mode.disconnect("refresh_requested")
    second = await socket_mode.wait_connected(count=2)
    await socket_mode.wait_for(lambda: not first.is_open)
    opened = slack.calls_to("apps.connections.open", ok=True)
    assert len(opened) == 2 and opened[0].response["url"] != opened[1].response["url"]
    assert second.ticket != first.ticket and socket_mode.live_connection is second
    async with agent_worker():
        ack = await socket_mode.send_slash_command("run diagnostic hello", "U01ALICE", CHANNEL)
        assert ack.connection_id == second.id and ack.latency_s < SLACK_ACK_DEADLINE_S
        [status] = await slack.wait_for(lambda: root_messages(slack), timeout=30)
        await slack.wait_for(lambda: completed(slack, status.ts), timeout=60)


async def test_when_the_server_drops_the_socket_the_bot_reconnects_and_keeps_working(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory) -> None:
    first = await socket_mode.close_connection()
    second = await socket_mode.wait_connected(count=2)
    assert not first.is_open and second.is_live
    assert len(slack.calls_to("apps.connections.open", ok=True)) == 2
    async with agent_worker():
        ack, event = await socket_mode.say("U02BOB", CHANNEL, "<@U0BATONBOT> help")
        assert ack.connection_id == second.id
        await slack.wait_for(lambda: slack.messages_in(CHANNEL, event["ts"]))


async def test_an_event_envelope_delivered_twice_starts_one_task(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory,
        temporal_client: Client, task_queue: str) -> None:
    async with agent_worker():
        first, event = await socket_mode.say("U02BOB", CHANNEL, "<@U0BATONBOT> run diagnostic hello",
                                             event_id="Ev0SOCKETTWICE")
        again = await socket_mode.send_event(event, event_id="Ev0SOCKETTWICE", retry_attempt=1)
        assert socket_mode.envelopes[-1]["retry_attempt"] == 1 and socket_mode.envelopes[-1]["retry_reason"]
        assert first.envelope_id != again.envelope_id
        assert max(first.latency_s, again.latency_s) < SLACK_ACK_DEADLINE_S
        task_id = task_id_for("diagnostic", slack_idempotency_key(slack.team_id, CHANNEL, event["ts"]))
        await slack.wait_for(lambda: any(task_id in m.text for m in slack.messages_in(CHANNEL, event["ts"])))
        await eventually(lambda: _finished(temporal_client, task_id), timeout=60)
    replies = slack.messages_in(CHANNEL, event["ts"])
    assert sum("Started" in m.text for m in replies) == 1
    assert not [m for m in replies if "already running" in m.text], "the retry was dropped, not re-run"
    assert await eventually(lambda: tasks_on(temporal_client, task_queue)) == [task_id]


async def test_a_slash_command_envelope_delivered_twice_starts_one_task(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory,
        temporal_client: Client, task_queue: str) -> None:
    trigger = slack.issue_trigger("U01ALICE")
    async with agent_worker():
        for _ in range(2):
            ack = await socket_mode.send_slash_command("run diagnostic hello", "U01ALICE", CHANNEL, trigger_id=trigger)
            assert ack.latency_s < SLACK_ACK_DEADLINE_S
        replies = await slack.wait_for(lambda: len(slack.ephemerals(user="U01ALICE")) == 2
                                       and slack.ephemerals(user="U01ALICE"))
    texts = sorted(e.text for e in replies)
    assert "already running" in texts[1] and "Started" in texts[0]
    assert socket_mode.envelopes[0]["payload"] == {**socket_mode.envelopes[1]["payload"],
                                                   "response_url": socket_mode.envelopes[0]["payload"]["response_url"]}
    assert len(await eventually(lambda: tasks_on(temporal_client, task_queue))) == 1


async def _finished(client: Client, task_id: str) -> bool:
    description = await client.get_workflow_handle(task_id).describe()
    return description.status is not None and description.status.name == "COMPLETED"


async def test_a_checkpoint_is_decided_over_the_socket_and_a_modal_error_comes_back_in_the_ack(
        slack: FakeSlackApi, socket_mode: FakeSocketMode, socket_bot: BotRuntime, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        await socket_mode.send_slash_command("run ops_audit check the web tier", "U02BOB", CHANNEL)
        [root] = await slack.wait_for(lambda: root_messages(slack), timeout=30)
        checkpoint = await slack.wait_for(lambda: approval_card(slack, root), timeout=60)
        click = await socket_mode.send_block_actions(user_id="U02BOB", action_id="baton.decide.edit",
                                                     channel_id=CHANNEL, message_ts=checkpoint.ts)
        assert click.type == "interactive" and click.latency_s < SLACK_ACK_DEADLINE_S
        assert socket_mode.envelopes[-1]["payload"]["type"] == "block_actions"
        [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
        prefilled = modal.payload["blocks"][1]["element"]["initial_value"]
        bad = await socket_mode.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                     values={"baton_input": {"value": "{not json"}})
        assert socket_mode.envelopes[-1]["accepts_response_payload"] is True
        assert bad.payload is not None and bad.payload["response_action"] == "errors"
        assert slack.views(user="U02BOB", open_only=True), "the ack's errors keep the modal open"
        good = await socket_mode.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                      values={"baton_input": {"value": prefilled}})
        assert good.payload is None and not slack.views(user="U02BOB", open_only=True)
        await slack.wait_for(lambda: final_message(slack, root), timeout=60)
    assert "Edited and approved by <@U02BOB>" in str(slack.message(CHANNEL, checkpoint.ts).blocks)
    assert buttons(slack.message(CHANNEL, checkpoint.ts)) == []
